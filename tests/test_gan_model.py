"""GAN: Algorithm 1 (k D-steps per G-step), sampling, config and saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import toy_gan

from keras_gan import data, models


def toy_data(n=1024, batch=64):
    return data.load_dataset("gaussians_8", batch_size=batch, num_examples=n)


@pytest.mark.parametrize("k", [1, 3])
def test_d_steps_performs_k_discriminator_updates_per_generator_update(k):
    gan = toy_gan(seed=0)
    gan.compile(d_steps=k)
    steps = 5
    gan.fit(toy_data(batch=30 * k), epochs=1, steps_per_epoch=steps, verbose=0)
    assert int(gan.g_optimizer.iterations) == steps
    assert int(gan.d_optimizer.iterations) == k * steps


def test_each_d_step_uses_its_own_minibatch():
    """With k=2 the fit batch is split: D sees the two halves in order."""
    seen = []

    class Recorder(models.GAN):
        def discriminator_objective(self, real, fake, real_out, fake_out, conditions, batch):
            tf.py_function(lambda r: seen.append(r.numpy().copy()), [real], [])
            return super().discriminator_objective(
                real, fake, real_out, fake_out, conditions, batch
            )

    gan = toy_gan(model_cls=Recorder, seed=0)
    gan.compile(d_steps=2, run_eagerly=True)
    x = np.arange(16, dtype=np.float32).reshape(8, 2)
    gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(8), epochs=1, verbose=0)
    assert len(seen) == 2
    np.testing.assert_array_equal(seen[0], x[:4])
    np.testing.assert_array_equal(seen[1], x[4:])


def test_fit_reports_the_game_metrics():
    gan = toy_gan(seed=0)
    gan.compile()
    history = gan.fit(toy_data(), epochs=1, verbose=0).history
    assert set(history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    for name in ("d_real", "d_fake"):
        assert 0.0 < history[name][0] < 1.0


def test_sample_is_deterministic_per_seed():
    gan = toy_gan(seed=0)
    a, b, c = gan.sample(10, seed=7), gan.sample(10, seed=7), gan.sample(10, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert a.shape == (10, 2)
    # Latent draws are deterministic and follow the prior.
    z = gan.sample_latent(20000, seed=3)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02


def test_uniform_noise_has_unit_variance():
    gan = toy_gan(noise="uniform", seed=0)
    z = gan.sample_latent(20000, seed=1)
    assert np.abs(z).max() <= np.sqrt(3) + 1e-6
    assert abs(z.std() - 1.0) < 0.02


def test_generate_rejects_bad_z():
    gan = toy_gan(seed=0)
    with pytest.raises(ValueError, match=r"shape \[n, 2\]"):
        gan.generate(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN or Inf"):
        gan.generate(np.full((3, 2), np.nan))


def test_config_round_trip():
    gan = toy_gan(seed=3, noise="uniform")
    clone = models.GAN.from_config(gan.get_config())
    assert clone.latent_dim == 2 and clone.noise == "uniform" and clone.seed == 3
    assert clone.generator.count_params() == gan.generator.count_params()


def test_save_and_load_round_trip(tmp_path):
    gan = toy_gan(seed=0)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.01, momentum=0.5),
        g_optimizer=keras.optimizers.Adam(1e-3),
        generator_loss="minimax",
        d_steps=2,
    )
    gan.fit(toy_data(batch=64), epochs=1, steps_per_epoch=3, verbose=0)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, models.GAN)
    np.testing.assert_allclose(loaded.sample(5, seed=1), gan.sample(5, seed=1), rtol=1e-6)
    assert loaded.generator_loss == "minimax" and loaded.d_steps == 2
    assert isinstance(loaded.d_optimizer, keras.optimizers.SGD)
    assert int(loaded.d_optimizer.iterations) == 6
    for a, b in zip(loaded.g_optimizer.variables, gan.g_optimizer.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))
    loaded.fit(toy_data(batch=64), epochs=1, steps_per_epoch=2, verbose=0)
    assert int(loaded.g_optimizer.iterations) == 5


def test_compile_rejects_bad_arguments():
    gan = toy_gan()
    opt = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two different optimizer objects"):
        gan.compile(d_optimizer=opt, g_optimizer=opt)
    with pytest.raises(ValueError, match="d_steps must be an int >= 1"):
        gan.compile(d_steps=0)
    with pytest.raises(ValueError, match="Allowed"):
        gan.compile(generator_loss="wasserstein")


def test_constructor_rejects_bad_arguments():
    g = toy_gan().generator
    with pytest.raises(TypeError, match="discriminator"):
        models.GAN(g, "not a model", latent_dim=2)
    with pytest.raises(ValueError, match="Unknown noise distribution 'cauchy'"):
        toy_gan(noise="cauchy")


def test_evaluate_reports_losses_without_updating():
    gan = toy_gan(seed=0)
    gan.compile()
    before = [w.copy() for w in gan.get_weights()]
    result = gan.evaluate(toy_data(), verbose=0, return_dict=True)
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(result)
    for a, b in zip(before, gan.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_load_model_needs_only_keras_gan_models(tmp_path):
    """A fresh process that imports keras_gan.models (not layers, networks or
    schedules) can load a saved GAN whose discriminator uses the custom Maxout
    layer and whose optimizer uses the package's learning-rate schedule."""
    import subprocess
    import sys

    from conftest import REPO

    from keras_gan import networks

    g = networks.mlp_generator(latent_dim=4, hidden=(8,), output_shape=(6,))
    d = networks.maxout_discriminator((6,), units=(4,), pieces=2, dropout=(0.0, 0.0))
    path = str(tmp_path / "maxout.keras")
    from keras_gan.schedules import ExponentialDecayToFloor

    gan = models.GAN(g, d, latent_dim=4)
    gan.compile(keras.optimizers.SGD(ExponentialDecayToFloor(0.1, 0.99, 1e-3)), "adam")
    gan.save(path)
    code = (
        "import keras, keras_gan.models; "
        f"m = keras.models.load_model({path!r}); print(type(m).__name__, m.sample(2, seed=0).shape)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("GAN (2, 6)")
