"""compile(updates="simultaneous"): the authors' pylearn2 step, both players from one
forward pass, against a step computed by hand; its validation, saving and config."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import toy_gan

from keras_gan import data, losses, models, networks
from keras_gan.config import load_config
from keras_gan.metrics import mode_coverage
from keras_gan.training import build_model

IMAGE = (28, 28, 1)
LR = 0.5


def tiny_image_gan(seed=3):
    keras.utils.set_random_seed(1)
    g = networks.mlp_generator(latent_dim=8, hidden=(32,), output_shape=IMAGE)
    d = networks.maxout_discriminator(IMAGE, units=(16, 16), pieces=3, dropout=(0.0, 0.0, 0.0))
    return models.GAN(g, d, latent_dim=8, noise="uniform", seed=seed)


def hand_step(gan, real):
    """Expected weights after one simultaneous SGD step: both gradients at the
    current parameters, on the noise the model is about to draw."""
    state = gan.seed_generator.state.numpy()
    z = gan.draw_noise(len(real))
    gan.seed_generator.state.assign(state)  # the step draws the same noise again
    d_vars, g_vars = gan.discriminator.trainable_variables, gan.generator.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        fake = gan.generator(z, training=True)
        real_out = gan.discriminator(real, training=True)
        fake_out = gan.discriminator(fake, training=True)
        d_loss = losses.discriminator_loss(real_out, fake_out)
        g_loss = losses.non_saturating_generator_loss(fake_out)
    d_new = [v.numpy() - LR * g.numpy() for v, g in zip(d_vars, tape.gradient(d_loss, d_vars))]
    g_new = [v.numpy() - LR * g.numpy() for v, g in zip(g_vars, tape.gradient(g_loss, g_vars))]
    return d_new, g_new, float(d_loss), float(g_loss)


@pytest.mark.parametrize("joint", [True, False])
def test_simultaneous_step_is_one_gradient_step_of_both_players_at_the_same_point(joint):
    real = tf.constant(np.random.default_rng(0).random((16,) + IMAGE), tf.float32)
    gan = tiny_image_gan()
    gan.compile(
        keras.optimizers.SGD(LR),
        keras.optimizers.SGD(LR),
        updates="simultaneous",
        joint_discriminator_pass=joint,
    )
    d_new, g_new, d_loss, g_loss = hand_step(gan, real)
    logs = gan.train_step(real)
    for v, expected in zip(gan.discriminator.trainable_variables, d_new):
        np.testing.assert_allclose(v.numpy(), expected, rtol=1e-4, atol=1e-6)
    for v, expected in zip(gan.generator.trainable_variables, g_new):
        np.testing.assert_allclose(v.numpy(), expected, rtol=1e-4, atol=1e-6)
    assert float(logs["d_loss"]) == pytest.approx(d_loss, rel=1e-5)
    assert float(logs["g_loss"]) == pytest.approx(g_loss, rel=1e-5)


def test_alternating_step_differs_from_the_simultaneous_one():
    """Algorithm 1's G step sees the updated D: the hand-computed simultaneous
    step does not describe it (so the test above can tell the two apart)."""
    real = tf.constant(np.random.default_rng(0).random((16,) + IMAGE), tf.float32)
    gan = tiny_image_gan()
    gan.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR))
    assert gan.updates == "alternating"
    _, g_new, _, _ = hand_step(gan, real)
    gan.train_step(real)
    differences = [
        np.abs(v.numpy() - expected).max()
        for v, expected in zip(gan.generator.trainable_variables, g_new)
    ]
    assert max(differences) > 1e-4, differences


@pytest.mark.slow
def test_simultaneous_gan_covers_the_modes_of_gaussians_8():
    """A real fit with simultaneous updates: test_game's gaussians_8 setting with
    Adam 3e-4 instead of 1e-3.

    Seeded and bitwise reproducible on CPU. In a sweep of seeds 0-5 it covered
    8, 3, 7, 8, 7 and 8 of the 8 modes; with test_game's 1e-3 only 1 of 6 seeds
    covered >= 7 (simultaneous steps are less stable than Algorithm 1 there,
    which covers >= 7 for 14 of 16 seeds). The test pins seed 0.
    """
    ring = data.toy_distribution("gaussians_8")
    keras.utils.set_random_seed(0)
    gan = toy_gan(latent_dim=2, width=128, depth=3, seed=0)
    gan.compile(
        keras.optimizers.Adam(3e-4, beta_1=0.5),
        keras.optimizers.Adam(3e-4, beta_1=0.5),
        updates="simultaneous",
    )
    ds = data.load_dataset("gaussians_8", batch_size=256, num_examples=256 * 4000)
    gan.fit(ds, epochs=1, verbose=0)
    assert gan.train_step_traces == 1
    result = mode_coverage(gan.sample(2000, seed=0), ring.centers, ring.std)
    assert result.covered >= 7, str(result)


def test_bad_updates_are_refused_with_what_is_allowed():
    gan = tiny_image_gan()
    allowed = r"updates must be one of \['alternating', 'simultaneous'\]; got 'parallel'"
    with pytest.raises(ValueError, match=allowed):
        gan.compile(updates="parallel")
    with pytest.raises(ValueError, match="d_steps must be 1; got d_steps=5"):
        gan.compile(updates="simultaneous", d_steps=5)
    wgan = toy_gan(model_cls=models.WGANGP)
    with pytest.raises(ValueError, match="d_steps must be 1"):
        wgan.compile(updates="simultaneous")  # WGAN-GP's default is 5 critic steps


def test_updates_survive_saving(tmp_path):
    gan = tiny_image_gan()
    gan.compile(keras.optimizers.SGD(LR), keras.optimizers.SGD(LR), updates="simultaneous")
    gan.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.updates == "simultaneous"


def test_config_sets_updates_and_checks_d_steps(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("base: mnist_mlp\ntraining:\n  updates: simultaneous\n")
    assert build_model(load_config(path)).updates == "simultaneous"
    path.write_text("base: mnist_wgan_gp\ntraining:\n  updates: simultaneous\n")
    with pytest.raises(ValueError, match="d_steps must be 1; got d_steps 5"):
        load_config(path)
    path.write_text("base: mnist_mlp\ntraining:\n  updates: together\n")
    with pytest.raises(ValueError, match="training.updates"):
        load_config(path)
