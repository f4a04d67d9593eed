"""Evaluation metrics for generative models."""

from keras_gan.metrics.discrete import ngram_jsd, valid_mask, validity_rate
from keras_gan.metrics.distances import energy_distance, mmd
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

__all__ = [
    "DEFAULT_SIGMAS",
    "energy_distance",
    "mmd",
    "ngram_jsd",
    "valid_mask",
    "validity_rate",
    "ModeCoverage",
    "ParzenResult",
    "ParzenScore",
    "SigmaSelection",
    "mode_coverage",
    "parzen_evaluate",
    "parzen_log_density",
    "parzen_log_likelihood",
    "select_parzen_sigma",
]
