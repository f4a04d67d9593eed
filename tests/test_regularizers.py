"""Regularizers against closed forms on a linear discriminator, their lazy schedule,
their bad input, and a GAN built from loss + regularizers saving and loading."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_gan import models, networks, regularizers

W = np.array([3.0, -4.0, 12.0], np.float32)  # ||w|| = 13


def linear_gan(*regs, loss="non_saturating", d=None):
    """A GAN whose D is ``D(x) = w.x``: its input gradient is ``w`` everywhere."""
    g = networks.mlp_generator(latent_dim=2, hidden=(4,), output_shape=(3,),
                               output_activation="linear")  # fmt: skip
    if d is None:
        x = keras.Input((3,))
        d = keras.Model(x, keras.layers.Dense(1, use_bias=False, name="w")(x))
        d.get_layer("w").kernel.assign(W[:, None])
    return models.GAN(g, d, latent_dim=2, loss=loss, regularizers=list(regs), seed=0)


def batches(n=5):
    rng = np.random.default_rng(0)
    return tf.constant(rng.normal(size=(n, 3)), tf.float32), tf.constant(
        rng.normal(size=(n, 3)), tf.float32
    )


@pytest.mark.parametrize("cls", [regularizers.R1, regularizers.R2])
def test_r1_and_r2_on_a_linear_discriminator_are_gamma_over_2_norm_squared(cls):
    gamma = 0.3
    gan = linear_gan(cls(gamma))
    real, fake = batches()
    term, metrics = gan.regularizers[0].discriminator_term(gan, real, fake, None, None)
    assert float(term) == pytest.approx(gamma / 2 * float(W @ W), rel=1e-5)
    assert float(metrics[f"{cls.name}_penalty"]) == pytest.approx(float(W @ W), rel=1e-5)


def test_gradient_penalty_two_and_one_sided_on_a_linear_discriminator():
    real, fake = batches()
    two = linear_gan(regularizers.GradientPenalty(2.0, target=1.0))
    term, metrics = two.regularizers[0].discriminator_term(two, real, fake, None, None)
    assert float(term) == pytest.approx(2.0 * (13.0 - 1.0) ** 2, rel=1e-5)
    assert float(metrics["grad_norm"]) == pytest.approx(13.0, rel=1e-5)
    # One-sided: norms below the target cost nothing, above it the square of the excess.
    below = linear_gan(regularizers.GradientPenalty(2.0, target=20.0, one_sided=True))
    assert float(below.regularizers[0].discriminator_term(below, real, fake, None, None)[0]) == 0
    above = linear_gan(regularizers.GradientPenalty(2.0, target=10.0, one_sided=True))
    term, _ = above.regularizers[0].discriminator_term(above, real, fake, None, None)
    assert float(term) == pytest.approx(2.0 * 9.0, rel=1e-5)


def test_lazy_r1_applies_every_n_updates_scaled_by_n():
    gamma, every = 0.5, 4
    gan = linear_gan(regularizers.R1(gamma, every=every))
    gan.compile()
    real, fake = batches()
    regularizer = gan.regularizers[0]
    step_fn = tf.function(lambda: regularizer.discriminator_term(gan, real, fake, None, None))
    full = gamma / 2 * float(W @ W)
    for step in range(9):
        gan.d_optimizer.iterations.assign(step)
        term, metrics = step_fn()
        expected = every * full if step % every == 0 else 0.0
        assert float(term) == pytest.approx(expected, rel=1e-5), step
        assert float(metrics["r1_penalty"]) == pytest.approx(expected / gamma * 2, rel=1e-5)


def test_lazy_penalty_through_fit_changes_d_only_on_its_steps():
    """G outputs 0 and the data is 0, so the Wasserstein loss has no gradient in D's
    weights: only the lazy R1 moves D, on updates 0, 3 and 6 of fit's seven."""
    gan = linear_gan(regularizers.R1(1.0, every=3), loss="wasserstein")
    for weight in gan.generator.weights:
        weight.assign(tf.zeros_like(weight))
    gan.compile(d_optimizer=keras.optimizers.SGD(1e-3), g_optimizer=keras.optimizers.SGD(0.0),
                steps_per_execution=1)  # fmt: skip
    kernel = gan.discriminator.get_layer("w").kernel
    kernels = [kernel.numpy().copy()]

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            kernels.append(kernel.numpy().copy())

    x = np.zeros((7 * 4, 3), np.float32)
    history = gan.fit(x, batch_size=4, epochs=1, verbose=0, callbacks=[Record()], shuffle=False)
    moved = [i for i in range(7) if not np.array_equal(kernels[i], kernels[i + 1])]
    assert moved == [0, 3, 6]
    # The update of gamma/2 * 3 * ||w||^2 is w <- w - lr * 3 * gamma * w.
    np.testing.assert_allclose(kernels[1], kernels[0] * (1 - 1e-3 * 3), rtol=1e-6)
    # Its metric, 3x the penalty on those steps and 0 elsewhere, averages ~||w||^2.
    assert history.history["r1_penalty"][0] == pytest.approx(3 * 169.0 * 3 / 7, rel=0.01)


def test_weight_clipping_clips_after_each_update():
    gan = linear_gan(regularizers.WeightClipping(0.5))
    gan.regularizers[0].after_discriminator_update(gan)
    np.testing.assert_allclose(gan.discriminator.get_layer("w").kernel.numpy()[:, 0],
                               [0.5, -0.5, 0.5])  # fmt: skip


def test_registry_names_and_configs():
    assert set(regularizers.REGULARIZERS) == {"gradient_penalty", "r1", "r2", "weight_clipping"}
    r1 = regularizers.get({"name": "r1", "gamma": 5, "every": 16})
    assert r1 == regularizers.R1(5.0, every=16)
    assert regularizers.get(r1.to_config()) == r1
    gp = regularizers.get("gradient_penalty")
    assert (gp.weight, gp.target, gp.one_sided, gp.every) == (10.0, 1.0, False, 1)
    assert regularizers.get("weight_clipping").clip_value == 0.01


def test_bad_regularizers_get_one_clear_error():
    with pytest.raises(ValueError, match=r"Unknown regularizer 'r3'.*\['gradient_penalty', 'r1'"):
        regularizers.get("r3")
    with pytest.raises(ValueError, match="R1 weight must be a finite number >= 0; got -1"):
        regularizers.R1(-1)
    with pytest.raises(ValueError, match="GradientPenalty weight must be a finite number >= 0"):
        regularizers.get({"name": "gradient_penalty", "weight": -0.5})
    with pytest.raises(ValueError, match="clip_value must be a finite number > 0"):
        regularizers.WeightClipping(0)
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        regularizers.R1(1.0, every=0)
    with pytest.raises(ValueError, match=r"Unknown argument\(s\) \['lambda'\] of regularizer 'r1'"):
        regularizers.get({"name": "r1", "lambda": 1})
    with pytest.raises(ValueError, match=r"\['r1'\] given more than once"):
        linear_gan(regularizers.R1(1.0), regularizers.R1(2.0))


def test_r1_refuses_a_discriminator_with_batch_normalization():
    d = networks.dcgan_discriminator((16, 16, 1), base_filters=4, normalization="batch")
    g = networks.dcgan_generator(latent_dim=2, output_shape=(16, 16, 1), base_filters=4)
    for reg in (regularizers.R1(1.0), regularizers.GradientPenalty()):
        with pytest.raises(
            ValueError, match=r"needs a discriminator without batch norm.*down_1_bn"
        ):
            models.GAN(g, d, latent_dim=2, regularizers=[reg])
    models.GAN(g, d, latent_dim=2, regularizers=[regularizers.WeightClipping(0.1)])  # allowed


def test_gan_with_loss_and_regularizers_saves_and_loads(tmp_path):
    gan = linear_gan(regularizers.R1(2.0, every=2), regularizers.WeightClipping(1.0), loss="hinge")
    gan.compile()
    assert gan.metric_names == ("d_loss", "g_loss", "d_real", "d_fake", "r1_penalty")
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.loss_name == "hinge"
    assert loaded.regularizers == gan.regularizers
    np.testing.assert_array_equal(loaded.sample(4, seed=1), gan.sample(4, seed=1))
