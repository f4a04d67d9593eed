"""DiffAugment: shapes, value ranges, each operation against its definition,
gradients to G, seeding from the model's stream, and its bad input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gan import models, networks
from keras_gan.augment import DiffAugment

SHAPE = (16, 16, 3)


def images(n=6, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, *SHAPE)).astype("float32")


def shifted(image, dy, dx):
    """``image`` moved by (dy, dx) pixels with zero padding."""
    out = np.zeros_like(image)
    h, w = image.shape[:2]
    src = image[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def test_translation_shifts_each_image_by_at_most_an_eighth_with_zero_padding():
    x = images()
    y = DiffAugment(["translation"])(x, seed=[1, 2]).numpy()
    r = 2  # 16 / 8
    offsets = []
    for a, b in zip(x, y):
        found = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)
                 if np.allclose(shifted(a, dy, dx), b)]  # fmt: skip
        assert len(found) == 1
        offsets.append(found[0])
    assert len(set(offsets)) > 1  # drawn per example


def test_cutout_zeroes_one_square_of_half_the_side():
    x = images() + 3.0  # no zero in the input
    y = DiffAugment(["cutout"])(x, seed=[3, 4]).numpy()
    for a, b in zip(x, y):
        zero = np.all(b == 0, axis=-1)
        rows, cols = np.nonzero(zero)
        assert 0 < zero.sum() <= 64
        # one axis-aligned rectangle (clipped by the border) of side <= 8
        assert zero.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)
        assert np.ptp(rows) < 8 and np.ptp(cols) < 8
        np.testing.assert_array_equal(b[~zero], a[~zero])


def test_color_is_brightness_saturation_contrast_per_image():
    x = images(n=4)
    y = DiffAugment(["color"])(x, seed=[5, 6]).numpy()
    for a, b in zip(x, y):
        # an affine map per image of (value, channel mean, image mean): check it is
        # not the identity and keeps shape; differences have no fixed sign
        assert b.shape == a.shape and not np.allclose(a, b)
    # brightness only shifts, saturation and contrast only scale deviations: a
    # constant image stays constant (each op maps constants to constants)
    flat = np.full((3, *SHAPE), 0.25, np.float32)
    out = DiffAugment(["color"])(flat, seed=[1, 1]).numpy()
    assert np.allclose(out, out[:, :1, :1, :1], atol=1e-6)


def test_shapes_and_value_ranges():
    x = images()
    for policy in (["translation"], ["cutout"], ["translation", "cutout"]):
        y = DiffAugment(policy)(x, seed=[0, 9]).numpy()
        assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    y = DiffAugment(value_range=(-1, 1))(x, seed=[0, 9]).numpy()
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    assert np.isfinite(DiffAugment()(x, seed=[0, 9]).numpy()).all()


def test_empty_policy_and_zero_probability_are_the_identity():
    x = images()
    np.testing.assert_array_equal(DiffAugment([])(x, seed=[1, 2]).numpy(), x)
    np.testing.assert_array_equal(DiffAugment(probability=0.0)(x, seed=[1, 2]).numpy(), x)
    half = DiffAugment(["cutout"], probability=0.5)(images(n=64), seed=[1, 2]).numpy()
    untouched = np.all(half == images(n=64), axis=(1, 2, 3)).sum()
    assert 16 < untouched < 48


def test_same_seed_same_augmentation():
    x = images()
    augment = DiffAugment()
    a = augment(x, seed=[7, 8]).numpy()
    np.testing.assert_array_equal(a, augment(x, seed=[7, 8]).numpy())
    assert not np.allclose(a, augment(x, seed=[7, 9]).numpy())


def tiny_image_gan(seed=0, augment=None):
    g = networks.dcgan_generator(latent_dim=4, output_shape=SHAPE, base_filters=4)
    d = networks.dcgan_discriminator(SHAPE, base_filters=4)
    augment = augment or {"policy": ["translation", "cutout", "color"]}
    return models.GAN(g, d, latent_dim=4, seed=seed, augment=augment)


def test_gradients_reach_the_generator_through_the_augmentation():
    gan = tiny_image_gan()
    z = gan.sample_latent(4, seed=0)
    with tf.GradientTape() as tape:
        fake = gan.generator(z, training=True)
        loss = tf.reduce_mean(gan.discriminator(gan.augment_for_discriminator(fake)))
    grads = tape.gradient(loss, gan.generator.trainable_variables)
    assert all(g is not None for g in grads)
    assert sum(float(tf.reduce_sum(tf.abs(g))) for g in grads) > 0


def test_augmentation_follows_the_model_seed_stream():
    x = images()
    a, b = tiny_image_gan(seed=5), tiny_image_gan(seed=5)
    first = a.augment_for_discriminator(x).numpy()
    second = a.augment_for_discriminator(x).numpy()
    assert not np.allclose(first, second)  # the stream advances
    np.testing.assert_array_equal(b.augment_for_discriminator(x).numpy(), first)


def test_model_with_augment_trains_saves_and_loads(tmp_path):
    gan = tiny_image_gan(augment=DiffAugment(["translation"], probability=0.5))
    gan.compile(run_eagerly=True)
    history = gan.fit(images(n=8), batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["d_loss"][0])
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.augment.get_config() == gan.augment.get_config()


def test_bad_augment_input():
    g = networks.mlp_generator(latent_dim=2, hidden=(4,), output_shape=(2,),
                               output_activation="linear")  # fmt: skip
    d = networks.mlp_discriminator((2,), hidden=(4,))
    with pytest.raises(ValueError, match=r"needs image data of shape .*got|data's shape is \(2,\)"):
        models.GAN(g, d, latent_dim=2, augment=DiffAugment())
    with pytest.raises(ValueError, match=r"Unknown augmentation\(s\) \['rotate'\].*'color'"):
        DiffAugment(["rotate"])
    with pytest.raises(ValueError, match=r"probability must be in \[0, 1\]"):
        DiffAugment(probability=1.5)
    with pytest.raises(ValueError, match=r"Unknown augment key\(s\) \['p'\]"):
        models.GAN(g, d, latent_dim=2, augment={"p": 1})
    with pytest.raises(ValueError, match="needs image data"):
        DiffAugment()(np.zeros((4, 2), np.float32), seed=[0, 0])
