"""Spectral normalization measured against numpy.linalg.svd after training steps;
SNGAN/cGAN-PD networks' shapes and saving; the projection discriminator's rules;
the shipped SNGAN configs build and step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gan import models, networks
from keras_gan.config import load_config
from keras_gan.training import build_model

SHAPE = (8, 8, 1)


def spectral_layers(model):
    layers = model._flatten_layers(include_self=False, recursive=True)
    return [layer for layer in layers if isinstance(layer, keras.layers.SpectralNormalization)]


def top_singular_value(layer):
    kernel = layer.kernel.numpy()
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


def test_spectral_norm_keeps_the_top_singular_value_near_1_through_training():
    g = networks.sngan_generator(latent_dim=4, output_shape=SHAPE, channels=8, spectral_norm=True)
    d = networks.sngan_discriminator(SHAPE, channels=8)
    gan = models.GAN(g, d, latent_dim=4, loss="hinge", seed=0)
    wrapped = spectral_layers(d) + spectral_layers(g)
    assert len(spectral_layers(d)) == 11 and len(spectral_layers(g)) == 5
    before = [top_singular_value(layer) for layer in wrapped]
    assert max(abs(s - 1) for s in before) > 0.2  # not normalised at initialisation
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3),
                run_eagerly=True)  # fmt: skip
    x = np.random.default_rng(0).uniform(-1, 1, (16 * 8, *SHAPE)).astype("float32")
    gan.fit(x, batch_size=16, epochs=1, verbose=0)
    after = np.array([top_singular_value(layer) for layer in wrapped])
    np.testing.assert_allclose(after, 1.0, atol=0.05)


def test_sngan_networks_shapes_for_28_and_32():
    for side, blocks in ((28, 2), (32, 3)):
        g = networks.sngan_generator(latent_dim=4, output_shape=(side, side, 1), channels=4)
        d = networks.sngan_discriminator((side, side, 1), channels=4)
        assert g.output_shape == (None, side, side, 1)
        assert d.output_shape == (None, 1)
        assert len([layer for layer in g.layers if layer.name.endswith("_add")]) == blocks
    with pytest.raises(ValueError, match="side of 4 \\* 2\\^k or 7 \\* 2\\^k"):
        networks.sngan_generator(output_shape=(20, 20, 1))


def test_projection_discriminator_is_linear_plus_class_projection():
    d = networks.projection_discriminator(SHAPE, num_classes=3, channels=4, spectral_norm=False)
    x = np.random.default_rng(1).normal(size=(5, *SHAPE)).astype("float32")
    labels = np.array([0, 1, 2, 1, 0], np.int32)
    phi = keras.Model(d.inputs[0], d.get_layer("sum_pool").output)(x).numpy()
    dense = d.get_layer("logit")
    embed = d.get_layer("class_embedding").kernel.numpy()
    expected = (
        phi @ dense.kernel.numpy() + dense.bias.numpy() + (embed[labels] * phi).sum(1)[:, None]
    )
    np.testing.assert_allclose(d([x, labels]).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_every_weight_of_the_projection_discriminator_gets_a_gradient():
    d = networks.projection_discriminator(SHAPE, num_classes=3, channels=4)
    x = np.random.default_rng(2).normal(size=(4, *SHAPE)).astype("float32")
    with tf.GradientTape() as tape:
        out = d([x, np.array([0, 1, 2, 0], np.int32)], training=True)
    grads = tape.gradient(out, d.trainable_variables)
    assert [v.path for v, g in zip(d.trainable_variables, grads) if g is None] == []


def test_projection_discriminator_without_labels_is_refused():
    g = networks.sngan_generator(latent_dim=4, output_shape=SHAPE, channels=4)
    d = networks.projection_discriminator(SHAPE, num_classes=10, channels=4)
    with pytest.raises(ValueError, match="takes 2 inputs.*needs labels.*ConditionalGAN"):
        models.GAN(g, d, latent_dim=4)
    with pytest.raises(ValueError, match="does not fit model 'gan'"):
        load_config(
            "fashion_mnist_sngan", overrides={"discriminator.name": "projection_discriminator"}
        )


def test_conditional_sngan_with_projection_trains_saves_and_loads(tmp_path):
    g = networks.conditional_sngan_generator(latent_dim=4, num_classes=3, output_shape=SHAPE,
                                             channels=4)  # fmt: skip
    d = networks.projection_discriminator(SHAPE, num_classes=3, channels=4)
    gan = models.ConditionalGAN(g, d, latent_dim=4, num_classes=3, loss="hinge", seed=0)
    gan.compile(run_eagerly=True)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, *SHAPE)).astype("float32")
    gan.fit(x, rng.integers(0, 3, 8).astype("int32"), batch_size=8, verbose=0)
    path = str(tmp_path / "cgan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.sample(3, seed=0), gan.sample(3, seed=0), atol=1e-6)
    # Conditional batch norm: different classes, different images for the same z.
    z = gan.sample_latent(1, seed=0).repeat(3, 0)
    gamma = gan.generator.get_layer("up_0_bn_1_gamma")
    gamma.embeddings.assign(rng.normal(size=gamma.embeddings.shape).astype("float32"))
    out = gan.generate(z, labels=[0, 1, 2])
    assert not np.allclose(out[0], out[1])


@pytest.mark.parametrize(
    "name, shape", [("fashion_mnist_sngan", (28, 28, 1)), ("cifar10_sngan", (32, 32, 3))]
)
def test_sngan_configs_build_and_step(name, shape):
    # Built at full size; stepped at 16 channels (the same builders and step, a
    # fraction of the CPU time: the full cifar10_sngan step takes ~10 s on 2 cores).
    full = build_model(load_config(name, overrides={"training.jit_compile": False}))
    assert full.generator.get_layer("to_map").output.shape[-1] == (256 if "cifar" in name else 128)
    small = {"generator.channels": 16, "discriminator.channels": 16}
    config = load_config(name, overrides={"training.jit_compile": False, **small})
    model = build_model(config)
    assert model.loss_name == "hinge" and model.d_steps == 5
    assert spectral_layers(model.discriminator) and model.generator.output_shape[1:] == shape
    x = np.random.default_rng(0).uniform(-1, 1, (5 * 2, *shape)).astype("float32")
    model.compile(d_steps=5, run_eagerly=True)
    history = model.fit(x, batch_size=10, epochs=1, verbose=0).history
    assert np.isfinite(history["d_loss"][0]) and int(model.g_optimizer.iterations) == 1


def test_mnist_cgan_projection_config_builds():
    model = build_model(load_config("mnist_cgan_projection"))
    assert isinstance(model, models.ConditionalGAN) and model.num_classes == 10
    assert model.discriminator.get_layer("projection") is not None


def _acgan(weight=0.5):
    g = networks.conditional_dcgan_generator(latent_dim=4, num_classes=3, output_shape=SHAPE,
                                             base_filters=4)  # fmt: skip
    d = networks.acgan_discriminator(SHAPE, num_classes=3, base_filters=4)
    return models.ConditionalGAN(g, d, latent_dim=4, num_classes=3, seed=0,
                                 auxiliary_classifier_weight=weight)  # fmt: skip


def test_acgan_losses_match_the_closed_form():
    gan = _acgan(weight=0.5)
    rng = np.random.default_rng(0)
    r_logit, f_logit = rng.normal(size=(4, 1)), rng.normal(size=(4, 1))
    r_cls, f_cls = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    labels = np.array([0, 2, 1, 2], np.int32)

    def ce(logits):
        logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        return -logp[np.arange(4), labels].mean()

    def sp(v):
        return np.log1p(np.exp(v)).mean()

    f32 = [np.float32(a) for a in (r_logit, r_cls, f_logit, f_cls)]
    d_loss, extra = gan.discriminator_objective(None, None, f32[:2], f32[2:], labels, None)
    expected = sp(-r_logit) + sp(f_logit) + 0.5 * (ce(r_cls) + ce(f_cls))
    assert float(d_loss) == pytest.approx(expected, rel=1e-5)
    assert float(extra["classifier_loss"]) == pytest.approx(ce(r_cls) + ce(f_cls), rel=1e-5)
    g_loss = gan._generator_loss(f32[2:], None, None, labels)
    assert float(g_loss) == pytest.approx(sp(-f_logit) + 0.5 * ce(f_cls), rel=1e-5)


def test_acgan_trains_saves_and_refuses_the_wrong_discriminator(tmp_path):
    gan = _acgan()
    gan.compile(run_eagerly=True)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, *SHAPE)).astype("float32")
    history = gan.fit(x, rng.integers(0, 3, 8).astype("int32"), batch_size=8, verbose=0).history
    assert set(history) == {"d_loss", "g_loss", "d_real", "d_fake", "classifier_loss"}
    path = str(tmp_path / "acgan.keras")
    gan.save(path)
    assert keras.models.load_model(path).auxiliary_classifier_weight == 0.5
    g, d = gan.generator, networks.conditional_dcgan_discriminator(SHAPE, 3, base_filters=4)
    with pytest.raises(ValueError, match=r"discriminator\(x\) -> \[logit, class_logits\]"):
        models.ConditionalGAN(g, d, latent_dim=4, num_classes=3, auxiliary_classifier_weight=1.0)
    with pytest.raises(ValueError, match="must take two inputs"):
        models.ConditionalGAN(g, gan.discriminator, latent_dim=4, num_classes=3)
