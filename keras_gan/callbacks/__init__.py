"""Keras callbacks for adversarial training."""

from keras_gan.callbacks.checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointMismatchError,
    RestoredState,
)
from keras_gan.callbacks.divergence import DivergenceGuard, TrainingDiverged
from keras_gan.callbacks.diversity import DiversityMonitor, ModeCollapseWarning
from keras_gan.callbacks.evaluation import GeneratorEvaluation
from keras_gan.callbacks.game_scalars import GameScalars
from keras_gan.callbacks.hparams import hparams_callback
from keras_gan.callbacks.momentum import MomentumSchedule
from keras_gan.callbacks.parzen import ParzenEvaluation
from keras_gan.callbacks.sample_grid import SampleGrid
from keras_gan.callbacks.sequence_samples import SequenceSamples
from keras_gan.callbacks.temperature import TemperatureSchedule

__all__ = [
    "SampleGrid",
    "MomentumSchedule",
    "ParzenEvaluation",
    "GeneratorEvaluation",
    "GameScalars",
    "hparams_callback",
    "Checkpoint",
    "CheckpointError",
    "CheckpointMismatchError",
    "RestoredState",
    "DivergenceGuard",
    "TrainingDiverged",
    "DiversityMonitor",
    "ModeCollapseWarning",
    "SequenceSamples",
    "TemperatureSchedule",
]
