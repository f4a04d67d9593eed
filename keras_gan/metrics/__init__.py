"""Evaluation metrics for generative models.

Feature-based metrics (float64; features from :mod:`keras_gan.metrics.features`):
:func:`frechet_distance` (FID), :func:`kernel_distance` (KID),
:func:`inception_score` (IS, the classifier score), :func:`precision_recall`
and :func:`density_coverage`. The paper's :func:`parzen_evaluate`, and
distances and mode counts for toy and discrete data.
"""

from keras_gan.metrics.checks import Estimate
from keras_gan.metrics.discrete import ngram_jsd, valid_mask, validity_rate
from keras_gan.metrics.distances import energy_distance, mmd
from keras_gan.metrics.frechet import GaussianStatistics, frechet_distance, gaussian_statistics
from keras_gan.metrics.inception_score import inception_score
from keras_gan.metrics.kernel import kernel_distance
from keras_gan.metrics.modes import ModeCoverage, mode_coverage
from keras_gan.metrics.parzen import (
    DEFAULT_SIGMAS,
    ParzenResult,
    ParzenScore,
    SigmaSelection,
    parzen_evaluate,
    parzen_log_density,
    parzen_log_likelihood,
    select_parzen_sigma,
)
from keras_gan.metrics.prdc import (
    DensityCoverage,
    PrecisionRecall,
    density_coverage,
    precision_recall,
)

__all__ = [
    "DEFAULT_SIGMAS",
    "DensityCoverage",
    "Estimate",
    "GaussianStatistics",
    "ModeCoverage",
    "ParzenResult",
    "ParzenScore",
    "PrecisionRecall",
    "SigmaSelection",
    "density_coverage",
    "energy_distance",
    "frechet_distance",
    "gaussian_statistics",
    "inception_score",
    "kernel_distance",
    "mmd",
    "mode_coverage",
    "ngram_jsd",
    "parzen_evaluate",
    "parzen_log_density",
    "parzen_log_likelihood",
    "precision_recall",
    "select_parzen_sigma",
    "valid_mask",
    "validity_rate",
]
