"""TemperatureSchedule: exponential decay to a floor, per epoch or step, logged, no retrace."""

import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gan import data, models, networks
from keras_gan.callbacks import TemperatureSchedule
from keras_gan.callbacks.temperature import gumbel_softmax_layers, temperature_at

LENGTH = 6


def tiny_gumbel_gan(output="gumbel_softmax", temperature=2.0):
    shape = (LENGTH, 5)
    g = networks.sequence_generator(
        latent_dim=4, output_shape=shape, channels=8, num_blocks=1, output=output,
        temperature=temperature,
    )  # fmt: skip
    d = networks.sequence_critic(shape, channels=8, num_blocks=1)
    gan = models.GAN(g, d, latent_dim=4, seed=0)
    gan.compile()
    return gan


def grammar_batches(batch=16):
    return data.load_dataset("grammar", batch_size=batch, num_examples=64, length=LENGTH)


def test_temperature_at():
    assert temperature_at(0, 2.0, 0.5, 0.3) == 2.0
    assert temperature_at(2, 2.0, 0.5, 0.3) == 0.5
    assert temperature_at(10, 2.0, 0.5, 0.3) == 0.3


def test_per_epoch_decay_to_the_floor_is_logged_without_retracing(tmp_path):
    gan = tiny_gumbel_gan()
    traces = []
    train_step = gan.train_step

    def counting_train_step(batch):  # Python runs only when the step is traced
        traces.append(1)
        return train_step(batch)

    gan.train_step = counting_train_step
    traced = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: traces_seen.append(len(traces))
    )
    traces_seen = []
    schedule = TemperatureSchedule(decay_rate=0.5, min_temperature=0.3)
    logdir = str(tmp_path / "tb")
    history = gan.fit(
        grammar_batches(),
        epochs=5,
        callbacks=[schedule, traced, keras.callbacks.TensorBoard(logdir)],
        verbose=0,
    )
    expected = [2.0, 1.0, 0.5, 0.3, 0.3]
    np.testing.assert_allclose(history.history["temperature"], expected, rtol=1e-6)
    (layer,) = gumbel_softmax_layers(gan)
    assert layer.temperature == pytest.approx(0.3)
    # The temperature is a variable: no epoch retraced the compiled step.
    assert traces_seen[0] >= 1 and traces_seen == [traces_seen[0]] * 5
    # ... and TensorBoard got it.
    values = {}
    for path in glob.glob(os.path.join(logdir, "train", "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                if v.tag == "epoch_temperature":
                    values[event.step] = float(tf.make_ndarray(v.tensor))
    assert [values[k] for k in sorted(values)] == pytest.approx(expected)


def test_per_step_decay_counts_updates_across_fits():
    gan = tiny_gumbel_gan(output="straight_through", temperature=1.0)
    schedule = TemperatureSchedule(decay_rate=0.9, min_temperature=0.1, per="step")
    history = gan.fit(grammar_batches(), epochs=2, callbacks=[schedule], verbose=0)
    # 4 batches of 16 per epoch: the last update of epoch 2 is update 7.
    assert schedule.step == 8
    assert history.history["temperature"] == pytest.approx([0.9**3, 0.9**7])
    gan.fit(grammar_batches(), epochs=1, callbacks=[schedule], verbose=0)
    assert schedule.temperature == pytest.approx(0.9**11)
    # A new schedule (as after resuming from a checkpoint, which restores the
    # optimizer and the decayed temperature) continues from the configured initial
    # temperature and the updates done, not from the current temperature and 0.
    resumed = TemperatureSchedule(decay_rate=0.9, min_temperature=0.1, per="step")
    gan.fit(grammar_batches(), epochs=1, callbacks=[resumed], verbose=0)
    assert resumed.initial == 1.0 and resumed.step == 16
    assert resumed.temperature == pytest.approx(0.9**15)


def test_steps_per_execution_support():
    """Per epoch, fit keeps several updates per compiled call; per step, one."""
    assert TemperatureSchedule(0.5).supports_steps_per_execution(10)
    per_step = TemperatureSchedule(0.5, per="step")
    assert per_step.supports_steps_per_execution(1)
    assert not per_step.supports_steps_per_execution(10)
    gan = tiny_gumbel_gan()
    assert gan.choose_steps_per_execution([TemperatureSchedule(0.5)]) > 1
    assert gan.choose_steps_per_execution([per_step]) == 1


def test_the_schedule_changes_what_the_compiled_step_uses():
    gan = tiny_gumbel_gan(temperature=5.0)
    z = tf.constant(np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32))
    before = gan.generator(z).numpy().max(-1).mean()
    gan.fit(
        grammar_batches(),
        epochs=3,
        callbacks=[TemperatureSchedule(decay_rate=0.01, min_temperature=0.01)],
        verbose=0,
    )
    assert gan.generator(z).numpy().max(-1).mean() > max(before, 0.9)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(decay_rate=0.0), "decay_rate must be in"),
        (dict(decay_rate=1.5), "decay_rate must be in"),
        (dict(decay_rate=0.5, min_temperature=0.0), "min_temperature must be"),
        (dict(decay_rate=0.5, initial=-1.0), "initial must be"),
        (dict(decay_rate=0.5, per="batch"), "per must be 'epoch' or 'step'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TemperatureSchedule(**kwargs)


def test_a_model_without_gumbel_softmax_layers_is_refused_before_training():
    gan = tiny_gumbel_gan(output="softmax")
    with pytest.raises(ValueError, match="no GumbelSoftmax layer"):
        gan.fit(grammar_batches(), epochs=1, callbacks=[TemperatureSchedule(0.5)], verbose=0)
