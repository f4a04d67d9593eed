"""Models and checkpoints saved by the code before the losses/regularizers refactor
still load and sample the same (fixtures: ``tests/legacy_models.py``)."""

import os
import shutil

import keras
import numpy as np
import pytest
from legacy_models import DATA_DIR, NAMES, build, samples, training_data

from keras_gan.callbacks import Checkpoint

CLASSES = {
    "gan": "GAN",
    "wgan_gp": "WGANGP",
    "wgan": "WGAN",
    "conditional_gan": "ConditionalGAN",
    "sequence": "WGANGP",
}
METRICS = {
    "gan": ["d_loss", "g_loss", "d_real", "d_fake"],
    "wgan_gp": ["d_loss", "g_loss", "wasserstein", "gradient_penalty", "grad_norm"],
    "wgan": ["d_loss", "g_loss", "wasserstein"],
    "conditional_gan": ["d_loss", "g_loss", "d_real", "d_fake"],
    "sequence": ["d_loss", "g_loss", "wasserstein", "gradient_penalty", "grad_norm"],
}


def _expected(name):
    return np.load(os.path.join(DATA_DIR, f"{name}_samples.npy"))


@pytest.mark.parametrize("name", NAMES)
def test_saved_model_loads_samples_the_same_and_trains(name):
    model = keras.models.load_model(os.path.join(DATA_DIR, f"{name}.keras"))
    assert type(model).__name__ == CLASSES[name]
    np.testing.assert_allclose(samples(model), _expected(name), rtol=1e-5, atol=1e-6)
    assert model.compiled and model.d_optimizer.iterations.numpy() > 0
    model.run_eagerly = True  # one step: tracing would cost more than it runs
    history = model.fit(
        *training_data(name, n=model.d_steps * 8), batch_size=model.d_steps * 8, epochs=1, verbose=0
    )
    assert sorted(history.history) == sorted(METRICS[name])
    assert all(np.isfinite(v[-1]) for v in history.history.values())


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_restores_and_samples_the_same(name, tmp_path):
    directory = tmp_path / "checkpoint"
    shutil.copytree(os.path.join(DATA_DIR, f"{name}_checkpoint"), directory)
    model = build(name)
    model.compile()
    assert not np.allclose(samples(model), _expected(name), atol=1e-3)  # untrained
    state = Checkpoint(directory).restore(model)
    assert state is not None and state.step == model.g_optimizer.iterations.numpy() > 0
    np.testing.assert_allclose(samples(model), _expected(name), rtol=1e-5, atol=1e-6)
