"""Step-level TensorBoard curves: game/<metric> every N generator updates, with several
steps per execution, equal to the mean of the per-step values over each window."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import toy_gan
from test_evaluation import event_scalars

from keras_gan.callbacks import GameScalars


class PerStep(keras.callbacks.Callback):
    """The per-step values, from the running means of a one-step-per-call run."""

    def on_epoch_begin(self, epoch, logs=None):
        self.previous = {}

    def on_train_batch_end(self, batch, logs=None):
        for name, mean in logs.items():
            old = self.previous.get(name, 0.0)
            self.values.setdefault(name, []).append(float(mean) * (batch + 1) - old * batch)
            self.previous[name] = float(mean)

    def __init__(self):
        super().__init__()
        self.values = {}


def data(n=640):
    return tf.data.Dataset.from_tensor_slices(
        np.random.default_rng(0).normal(size=(n, 2)).astype("float32")
    ).batch(16)


def fit(callbacks, steps_per_execution):
    keras.utils.set_random_seed(3)
    gan = toy_gan(width=8, depth=1, seed=5)
    gan.compile(steps_per_execution=steps_per_execution)
    gan.fit(data(), epochs=3, verbose=0, callbacks=callbacks)
    return gan


def test_step_curves_are_window_means_at_exact_steps_with_several_steps_per_call(tmp_path):
    scalars_cb = GameScalars(tmp_path, every_n_steps=20)
    gan = fit([scalars_cb], "auto")
    assert gan.steps_per_execution == 10  # 40 steps an epoch: 10 divides 40 and 20
    per_step = PerStep()
    fit([per_step], 1)
    scalars = event_scalars(tmp_path / "train")
    assert {"game/d_loss", "game/g_loss", "game/d_real", "game/d_fake"} <= set(scalars)
    steps = [s for s, _ in scalars["game/d_loss"]]
    assert steps == list(range(20, 121, 20))
    for name in ("d_loss", "g_loss", "d_real"):
        values = np.array(per_step.values[name])
        expected = [values[s - 20 : s].mean() for s in steps]
        got = [v for _, v in scalars[f"game/{name}"]]
        np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-5)


def test_every_n_steps_is_checked_and_divides_the_steps_per_call():
    with pytest.raises(ValueError, match="every_n_steps must be an int >= 1"):
        GameScalars("x", every_n_steps=0)
    callback = GameScalars("x", every_n_steps=50)
    assert callback.supports_steps_per_execution(10)
    assert not callback.supports_steps_per_execution(4)
