"""ema_decay: an exponential moving average of the generator's weights, updated in the
compiled step, used for sampling and export, saved and checkpointed."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gan import models, networks
from keras_gan.callbacks import Checkpoint
from keras_gan.config import load_config
from keras_gan.export import export_generator
from keras_gan.training import build_model

IMAGE = (28, 28, 1)
DECAY = 0.9


def ema_gan(decay=DECAY, seed=3):
    keras.utils.set_random_seed(1)
    g = networks.mlp_generator(latent_dim=8, hidden=(32,), output_shape=IMAGE)
    d = networks.maxout_discriminator(IMAGE, units=(16, 16), pieces=3, dropout=(0.2, 0.5, 0.5))
    gan = models.GAN(g, d, latent_dim=8, noise="uniform", seed=seed, ema_decay=decay)
    gan.compile(keras.optimizers.SGD(0.1, momentum=0.5), keras.optimizers.SGD(0.1, momentum=0.5))
    return gan


def images(n=64, seed=0):
    return np.random.default_rng(seed).random((n,) + IMAGE).astype("float32")


def weights(model):
    return [w.copy() for w in model.get_weights()]


def test_the_average_follows_the_formula_after_every_generator_update():
    gan = ema_gan()
    average = weights(gan.generator)  # the average starts at the initial weights
    np.testing.assert_array_equal(average[0], gan.ema_generator.get_weights()[0])
    batch = tf.constant(images(16))
    for t in range(1, 4):  # the warm-up: min(decay, (1 + t) / (10 + t)) after t updates
        gan.train_step(batch)
        d = min(DECAY, (1 + t) / (10 + t))
        average = [d * a + (1 - d) * w for a, w in zip(average, weights(gan.generator))]
    for expected, got in zip(average, gan.ema_generator.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    assert np.abs(average[0] - gan.generator.get_weights()[0]).max() > 1e-4  # not a copy


def test_without_warmup_the_decay_applies_from_the_first_update():
    gan = ema_gan()
    gan = models.GAN(
        gan.generator, gan.discriminator, latent_dim=8, seed=3, ema_decay=DECAY, ema_warmup=False
    )
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    average = weights(gan.ema_generator)
    gan.train_step(tf.constant(images(16)))
    expected = [DECAY * a + (1 - DECAY) * w for a, w in zip(average, weights(gan.generator))]
    for e, got in zip(expected, gan.ema_generator.get_weights()):
        np.testing.assert_allclose(got, e, rtol=1e-5, atol=1e-7)
    assert gan.get_config()["ema_warmup"] is False


def _distance(a, b):
    return float(np.sqrt(sum(((x - y) ** 2).sum() for x, y in zip(a, b))))


def test_after_300_updates_at_0999_the_average_is_nearer_the_trained_weights():
    """Without the warm-up 0.999**300 = 74% of the average would still be the initial
    generator; with it the average tracks the recent iterates."""
    gan = ema_gan(decay=0.999)
    initial = weights(gan.generator)
    ds = tf.data.Dataset.from_tensor_slices(images(16 * 30)).batch(16)
    gan.fit(ds, epochs=10, verbose=0)
    assert int(gan.g_optimizer.iterations) == 300
    trained, average = weights(gan.generator), weights(gan.ema_generator)
    assert _distance(average, trained) < 0.5 * _distance(average, initial)


def test_simultaneous_updates_move_the_average():
    gan = ema_gan(decay=0.99)
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), updates="simultaneous")
    initial = weights(gan.ema_generator)
    gan.fit(images(160), batch_size=16, epochs=2, verbose=0)
    trained, average = weights(gan.generator), weights(gan.ema_generator)
    assert _distance(average, initial) > 0.5 * _distance(trained, initial) > 0


def test_several_steps_per_call_average_exactly_like_one():
    results = []
    for steps in ("auto", 1):
        gan = ema_gan()
        gan.compile(
            keras.optimizers.SGD(0.1, momentum=0.5),
            keras.optimizers.SGD(0.1, momentum=0.5),
            steps_per_execution=steps,
        )
        ds = tf.data.Dataset.from_tensor_slices(images(160)).batch(16)
        gan.fit(ds, epochs=2, verbose=0)
        assert gan.train_step_traces == 1
        results.append(gan.ema_generator.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_sampling_and_export_use_the_average(tmp_path):
    gan = ema_gan()
    gan.fit(images(160), batch_size=16, epochs=1, verbose=0)
    z = gan.sample_latent(6, seed=4)
    from_average = gan.ema_generator(z, training=False).numpy()
    from_weights = gan.generator(z, training=False).numpy()
    assert np.abs(from_average - from_weights).max() > 1e-3
    np.testing.assert_allclose(gan.sample(6, seed=4), from_average, atol=1e-6)
    np.testing.assert_allclose(gan(z).numpy(), from_average, atol=1e-6)
    # average=False: the generator being trained (what DiversityMonitor watches)
    np.testing.assert_allclose(gan.sample(6, seed=4, average=False), from_weights, atol=1e-6)
    np.testing.assert_allclose(gan.generate(z, average=False), from_weights, atol=1e-6)
    np.testing.assert_allclose(gan.sample(6, seed=4), from_average, atol=1e-6)  # unchanged
    path = export_generator(gan, str(tmp_path / "export"))
    loaded = tf.saved_model.load(path)
    served = loaded.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    np.testing.assert_allclose(served, from_average, atol=1e-5)


def test_the_average_is_saved_and_checkpointed(tmp_path):
    gan = ema_gan()
    checkpoint = Checkpoint(tmp_path / "ck", every_n_steps=5)
    gan.fit(images(160), batch_size=16, epochs=1, verbose=0, callbacks=[checkpoint])
    average = gan.ema_generator.get_weights()
    gan.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.ema_decay == DECAY
    for a, b in zip(average, loaded.ema_generator.get_weights()):
        np.testing.assert_array_equal(a, b)
    fresh = ema_gan(seed=99)
    Checkpoint(tmp_path / "ck").restore(fresh)
    for a, b in zip(average, fresh.ema_generator.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_without_ema_decay_nothing_changes():
    gan = ema_gan(decay=None)
    assert gan.ema_generator is None and gan.sampling_generator is gan.generator
    assert "ema_decay" not in gan.get_config()


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 1.5, True, "0.99"])
def test_bad_decays_are_refused_naming_the_range(bad):
    with pytest.raises(ValueError, match=r"ema_decay must be"):
        ema_gan(decay=bad)


def test_config_sets_the_decay_and_checks_its_range(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("base: mnist_mlp\ntraining:\n  ema_decay: 0.995\n")
    assert build_model(load_config(path)).ema_decay == 0.995
    path.write_text("base: mnist_mlp\ntraining:\n  ema_decay: 1.0\n")
    with pytest.raises(ValueError, match="training.ema_decay"):
        load_config(path)


def test_batch_norm_statistics_are_copied_not_averaged():
    keras.utils.set_random_seed(0)
    g = networks.dcgan_generator(latent_dim=8, base_filters=8, output_activation="sigmoid")
    d = networks.dcgan_discriminator(base_filters=8)
    gan = models.GAN(g, d, latent_dim=8, seed=0, ema_decay=DECAY)
    gan.compile()
    gan.fit(images(64), batch_size=16, epochs=1, verbose=0)
    pairs = list(zip(g.weights, gan.ema_generator.weights))
    statistics = [(w, a) for w, a in pairs if not w.trainable]
    assert statistics  # the moving means and variances
    for w, a in statistics:
        np.testing.assert_array_equal(np.asarray(w), np.asarray(a))
    averaged = [(w, a) for w, a in pairs if w.trainable]
    assert max(np.abs(np.asarray(w) - np.asarray(a)).max() for w, a in averaged) > 1e-5


def test_conditional_sampling_of_the_trained_generator():
    from test_conditional_gan import cgan

    gan = cgan(ema_decay=0.5)
    gan.compile()
    gan.ema_generator.set_weights([w * 0 for w in gan.ema_generator.get_weights()])
    z, labels = gan.sample_latent(5, seed=2), np.arange(5) % 8
    from_weights = gan.generator([z, labels], training=False).numpy()
    np.testing.assert_allclose(gan.sample(5, seed=2, average=False), from_weights, atol=1e-6)
    np.testing.assert_allclose(gan.generate(z, labels, average=False), from_weights, atol=1e-6)
    assert np.abs(gan.sample(5, seed=2) - from_weights).max() > 1e-3  # the zeroed average
