"""Keras callbacks for adversarial training."""

from keras_gan.callbacks.momentum import MomentumSchedule
from keras_gan.callbacks.parzen import ParzenEvaluation
from keras_gan.callbacks.sample_grid import SampleGrid
from keras_gan.callbacks.sequence_samples import SequenceSamples
from keras_gan.callbacks.temperature import TemperatureSchedule

__all__ = [
    "MomentumSchedule",
    "ParzenEvaluation",
    "SampleGrid",
    "SequenceSamples",
    "TemperatureSchedule",
]
