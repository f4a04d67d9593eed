"""MomentumSchedule: the paper's linear momentum ramp, effective in the compiled step."""

import keras
import numpy as np
import pytest
from conftest import toy_gan

from keras_gan import data
from keras_gan.callbacks import MomentumSchedule
from keras_gan.callbacks.momentum import momentum_at
from keras_gan.config import ConfigError, load_config
from keras_gan.training import build_callbacks, schedule_callbacks


def test_momentum_at_matches_pylearn2_adjustor():
    values = [momentum_at(e, 0.5, 0.7, 1, 250) for e in (0, 1, 125.5, 250, 400)]
    np.testing.assert_allclose(values, [0.5, 0.5, 0.6, 0.7, 0.7])


def _sgd_gan():
    gan = toy_gan(seed=0)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.01, momentum=0.5),
        g_optimizer=keras.optimizers.SGD(0.01, momentum=0.5),
    )
    return gan


def test_ramp_is_applied_and_logged():
    gan = _sgd_gan()
    ramp = MomentumSchedule(0.7, start_epoch=1, saturate_epoch=3, min_change=0.01)
    history = gan.fit(
        data.load_dataset("gaussians_8", batch_size=64, num_examples=128),
        epochs=5,
        callbacks=[ramp],
        verbose=0,
    ).history
    np.testing.assert_allclose(history["momentum"], [0.5, 0.5, 0.6, 0.7, 0.7])
    assert gan.g_optimizer.momentum == pytest.approx(0.7)
    assert ramp.retraces == 2  # only when the value changes


def test_the_new_momentum_reaches_the_compiled_step():
    """With the learning rate at 0 an SGD step only scales the momentum slot by m:
    0.5 in the step traced at compile time, 0.9 after the schedule changed it."""
    gan = _sgd_gan()
    x = data.load_dataset("gaussians_8", batch_size=64, num_examples=128)
    gan.fit(x, epochs=1, verbose=0)  # traces the step with momentum 0.5; fills the slots
    opt = gan.g_optimizer
    var = gan.generator.trainable_variables[-1]
    slot = opt.momentums[opt._get_variable_index(var)]
    opt.learning_rate.assign(0.0)

    def slot_ratio():
        before = np.asarray(slot).copy()
        gan.train_function(iter(x.take(1)))
        return np.asarray(slot) / before

    assert np.abs(np.asarray(slot)).min() > 0
    np.testing.assert_allclose(slot_ratio(), 0.5, rtol=1e-5)
    ramp = MomentumSchedule(0.9, start_epoch=0, saturate_epoch=1)
    ramp.set_model(gan)
    ramp.on_train_begin()
    ramp.on_epoch_begin(1)
    assert gan.d_optimizer.momentum == pytest.approx(0.9) and ramp.retraces == 1
    np.testing.assert_allclose(slot_ratio(), 0.9, rtol=1e-5)


def test_bad_arguments_and_optimizers():
    with pytest.raises(ValueError, match="final_momentum must be in"):
        MomentumSchedule(1.5)
    with pytest.raises(ValueError, match="start_epoch < saturate_epoch"):
        MomentumSchedule(0.7, start_epoch=5, saturate_epoch=5)
    gan = toy_gan(seed=0)
    gan.compile()  # Adam
    with pytest.raises(ValueError, match="adjusts SGD optimizers"):
        gan.fit(
            data.load_dataset("gaussians_8", batch_size=64, num_examples=128),
            epochs=1,
            callbacks=[MomentumSchedule(0.7)],
            verbose=0,
        )


def test_config_ramp():
    config = load_config(
        "mnist_mlp",
        overrides={"d_optimizer.final_momentum": 0.7, "g_optimizer.final_momentum": 0.7},
    )
    (ramp,) = schedule_callbacks(config)  # one callback for the shared ramp
    assert ramp.optimizer_names == ("d_optimizer", "g_optimizer")
    assert (ramp.final_momentum, ramp.start_epoch, ramp.saturate_epoch) == (0.7, 1, 250)
    assert isinstance(build_callbacks(config)[0], MomentumSchedule)
    with pytest.raises(ConfigError, match="final_momentum needs name: sgd"):
        load_config("mnist_mlp_quick", overrides={"d_optimizer.final_momentum": 0.7})
    with pytest.raises(ConfigError, match="momentum_saturate_epoch must be greater"):
        load_config(
            "mnist_mlp",
            overrides={"d_optimizer.final_momentum": 0.7, "d_optimizer.momentum_saturate_epoch": 1},
        )
