"""Evaluation metrics for generative models."""

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
