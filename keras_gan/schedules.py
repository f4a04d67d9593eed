"""Learning-rate schedules."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_gan")
class ExponentialDecayToFloor(keras.optimizers.schedules.LearningRateSchedule):
    """``max(initial * decay_rate ** step, floor)``: the original GAN code's schedule
    (pylearn2 ``ExponentialDecay(decay_factor=1.000004, min_lr=1e-6)`` is
    ``decay_rate = 1 / 1.000004``, ``floor = 1e-6``).

    Example:

    ```python
    lr = ExponentialDecayToFloor(0.1, decay_rate=1 / 1.000004, floor=1e-6)
    keras.optimizers.SGD(lr, momentum=0.5)
    ```
    """

    def __init__(self, initial_learning_rate, decay_rate, floor=0.0):
        if not initial_learning_rate > 0 or not 0 < decay_rate <= 1 or floor < 0:
            raise ValueError(
                "ExponentialDecayToFloor needs initial_learning_rate > 0, 0 < decay_rate <= 1 "
                f"and floor >= 0; got {initial_learning_rate}, {decay_rate}, {floor}."
            )
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_rate = float(decay_rate)
        self.floor = float(floor)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        lr = self.initial_learning_rate * ops.power(self.decay_rate, step)
        return ops.maximum(lr, self.floor)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_rate": self.decay_rate,
            "floor": self.floor,
        }
