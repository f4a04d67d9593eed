"""Evaluation metrics for generative models."""

from keras_gan.metrics.distances import energy_distance, mmd
from keras_gan.metrics.modes import ModeCoverage, mode_coverage

__all__ = ["ModeCoverage", "mode_coverage", "energy_distance", "mmd"]
