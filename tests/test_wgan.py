"""WGAN-GP and WGAN: the penalty's closed form, n_critic, clipping, saving, convergence."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import toy_gan

from keras_gan import data, losses, models, networks, training
from keras_gan.metrics import mode_coverage


def linear_critic(w, input_shape=None):
    """``D(x) = w . flatten(x)`` (no bias) as a Keras model."""
    w = np.asarray(w, np.float32)
    input_shape = input_shape or (len(w),)
    x = keras.Input(input_shape)
    h = keras.layers.Flatten()(x) if len(input_shape) > 1 else x
    dense = keras.layers.Dense(1, use_bias=False, name="w")
    out = dense(h)
    dense.set_weights([w.reshape(-1, 1)])
    return keras.Model(x, out, name="critic")


def toy_data(batch, n=2048, seed=0):
    return data.load_dataset("gaussians_8", batch_size=batch, num_examples=n, seed=seed)


# --------------------------------------------------------------- the penalty
@pytest.mark.parametrize("w", [[3.0, 4.0], [0.6, 0.8], [0.1, -0.2]])
def test_gradient_penalty_of_a_linear_critic_is_closed_form(w):
    """grad D = w at every x_hat, so the penalty is (||w|| - 1)^2 whatever eps is."""
    rng = np.random.default_rng(0)
    real = rng.normal(size=(16, 2)).astype(np.float32)
    fake = rng.normal(size=(16, 2)).astype(np.float32)
    norm = float(np.linalg.norm(w))
    penalty, norms = losses.gradient_penalty(linear_critic(w), real, fake)
    assert float(penalty) == pytest.approx((norm - 1.0) ** 2, rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(norms.numpy(), np.full(16, norm), rtol=1e-5)
    # Per-replica reduction: the sum over the local batch divided by the global one.
    local, _ = losses.gradient_penalty(linear_critic(w), real, fake, global_batch_size=64)
    assert float(local) == pytest.approx((norm - 1.0) ** 2 * 16 / 64, rel=1e-5, abs=1e-6)


def test_gradient_penalty_on_images_uses_the_norm_over_all_pixels():
    w = np.arange(12, dtype=np.float32) / 10.0
    real = np.ones((4, 2, 2, 3), np.float32)
    penalty, norms = losses.gradient_penalty(linear_critic(w, (2, 2, 3)), real, np.zeros_like(real))
    assert float(penalty) == pytest.approx((np.linalg.norm(w) - 1) ** 2, rel=1e-5)


def test_gradient_penalty_interpolates_with_one_epsilon_per_example():
    """With D(x) = ||x||^2 / 2, grad D(x_hat) = x_hat = eps * real + (1 - eps) * fake."""
    real = np.array([[2.0, 0.0], [0.0, 4.0], [3.0, 4.0]], np.float32)
    fake = np.zeros_like(real)
    eps = np.array([0.5, 0.25, 1.0], np.float32)

    def critic(x):
        return 0.5 * tf.reduce_sum(tf.square(x), axis=1)

    penalty, norms = losses.gradient_penalty(critic, real, fake, epsilon=eps)
    expected = eps * np.linalg.norm(real, axis=1)  # [1, 1, 5]
    np.testing.assert_allclose(norms.numpy(), expected, rtol=1e-5)
    assert float(penalty) == pytest.approx(np.mean((expected - 1) ** 2), rel=1e-5)
    # Drawn epsilons: one per example, in [0, 1].
    _, norms = losses.gradient_penalty(critic, np.ones((256, 2), np.float32), np.zeros((256, 2)))
    drawn = norms.numpy() / np.sqrt(2.0)
    assert drawn.min() >= 0.0 and drawn.max() <= 1.0 and drawn.std() > 0.2


def test_gradient_penalty_gradient_reaches_the_critic_weights():
    """d/dw lambda (||w|| - 1)^2 = 2 lambda (||w|| - 1) w / ||w|| (a second derivative)."""
    w = np.array([3.0, 4.0], np.float32)
    critic = linear_critic(w)
    real = np.ones((8, 2), np.float32)
    with tf.GradientTape() as tape:
        penalty, _ = losses.gradient_penalty(critic, real, -real)
    grad = tape.gradient(penalty, critic.trainable_variables[0]).numpy()[:, 0]
    np.testing.assert_allclose(grad, 2 * (5.0 - 1.0) * w / 5.0, rtol=1e-5)


def test_wgan_gp_losses_and_metrics_are_exact_for_a_linear_critic():
    """d_loss = E[D(G(z))] - E[D(x)] + lambda (||w|| - 1)^2, and the metrics agree."""
    w = [3.0, 4.0]
    g = networks.mlp_generator(2, (8,), (2,), output_activation="linear")
    model = models.WGANGP(g, linear_critic(w), latent_dim=2, gradient_penalty_weight=7.0, seed=0)
    model.compile()
    one_batch = toy_data(64, n=64)
    real = np.concatenate(list(one_batch.as_numpy_iterator()))
    result = model.evaluate(one_batch, verbose=0, return_dict=True)
    assert result["gradient_penalty"] == pytest.approx(16.0, rel=1e-5)
    assert result["grad_norm"] == pytest.approx(5.0, rel=1e-5)
    assert result["d_loss"] + result["wasserstein"] == pytest.approx(7.0 * 16.0, rel=1e-5)
    # wasserstein = E[D(x)] - E[D(G(z))] and g_loss = -E[D(G(z))] on the same G(z).
    d_real = float(np.mean(real @ np.array(w, np.float32)))
    assert result["g_loss"] == pytest.approx(result["wasserstein"] - d_real, rel=1e-4, abs=1e-4)


# ------------------------------------------------------------------ n_critic
@pytest.mark.parametrize("model_cls", [models.WGANGP, models.WGAN])
def test_five_critic_updates_per_generator_update_by_default(model_cls):
    model = toy_gan(width=16, model_cls=model_cls, seed=0)
    model.compile()
    assert model.d_steps == 5
    steps = 3
    history = model.fit(toy_data(5 * 32).repeat(), epochs=1, steps_per_epoch=steps, verbose=0)
    assert int(model.g_optimizer.iterations) == steps
    assert int(model.d_optimizer.iterations) == 5 * steps
    assert set(history.history) == set(model_cls.metric_names)


def test_wgan_gp_defaults_follow_the_paper():
    model = toy_gan(width=16, model_cls=models.WGANGP)
    model.compile()
    assert model.gradient_penalty_weight == 10.0
    for opt in (model.d_optimizer, model.g_optimizer):
        assert isinstance(opt, keras.optimizers.Adam)
        assert float(opt.learning_rate) == pytest.approx(1e-4)
        assert (opt.beta_1, opt.beta_2) == (0.5, 0.9)
    wgan = toy_gan(width=16, model_cls=models.WGAN)
    wgan.compile()
    assert wgan.clip_value == 0.01 and isinstance(wgan.d_optimizer, keras.optimizers.RMSprop)
    assert float(wgan.d_optimizer.learning_rate) == pytest.approx(5e-5)


def test_wgan_gp_training_metrics_are_consistent():
    model = toy_gan(width=32, model_cls=models.WGANGP, seed=0)
    model.compile(d_steps=2)
    logs = model.fit(toy_data(2 * 64), epochs=1, steps_per_epoch=5, verbose=0).history
    values = {k: v[-1] for k, v in logs.items()}
    assert values["grad_norm"] > 0 and values["gradient_penalty"] >= 0
    assert all(np.isfinite(v) for v in values.values())
    # d_loss = -wasserstein + lambda * penalty (averaged over the same critic updates).
    assert values["d_loss"] == pytest.approx(
        -values["wasserstein"] + 10.0 * values["gradient_penalty"], rel=1e-4, abs=1e-5
    )


# ------------------------------------------------------------------- clipping
def test_weight_clipping_keeps_every_critic_weight_in_range():
    model = toy_gan(width=32, model_cls=models.WGAN, clip_value=0.05, seed=0)
    model.compile(d_optimizer=keras.optimizers.RMSprop(1e-2), d_steps=5)
    before = [np.abs(v.numpy()).max() for v in model.discriminator.trainable_variables]
    assert max(before) > 0.05  # the initial weights do exceed the range
    model.fit(toy_data(5 * 64), epochs=1, steps_per_epoch=4, verbose=0)
    at_bound = 0
    for v in model.discriminator.trainable_variables:
        values = v.numpy()
        assert np.abs(values).max() <= 0.05 + 1e-7, v.path
        at_bound += int((np.abs(values) == np.float32(0.05)).sum())
    assert at_bound > 0
    # The generator is not clipped.
    assert max(np.abs(v.numpy()).max() for v in model.generator.trainable_variables) > 0.05


# --------------------------------------------------------------- batch norm
def test_wgan_gp_refuses_a_critic_with_batch_norm():
    g = networks.dcgan_generator(8, (28, 28, 1), base_filters=4)
    bad = networks.dcgan_discriminator((28, 28, 1), base_filters=4, normalization="batch")
    with pytest.raises(ValueError, match=r"must not use batch normalization.*down_1_bn"):
        models.WGANGP(g, bad, latent_dim=8)
    # A nested BatchNormalization is found too.
    inner = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization(name="deep_bn")])
    nested = keras.Sequential([keras.Input((2,)), inner, keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="deep_bn"):
        models.WGANGP(toy_gan().generator, nested, latent_dim=2)
    # Layer norm is fine for WGAN-GP; batch norm is fine for weight clipping.
    ok = networks.dcgan_discriminator((28, 28, 1), base_filters=4, normalization="layer")
    models.WGANGP(g, ok, latent_dim=8)
    models.WGAN(g, bad, latent_dim=8)


def test_bad_constructor_arguments():
    gan = toy_gan()
    with pytest.raises(ValueError, match="gradient_penalty_weight must be a finite number >= 0"):
        models.WGANGP(gan.generator, gan.discriminator, 2, gradient_penalty_weight=-1)
    with pytest.raises(ValueError, match="clip_value must be a finite number > 0"):
        models.WGAN(gan.generator, gan.discriminator, 2, clip_value=0.0)
    with pytest.raises(ValueError, match="clip_value must be a number"):
        models.WGAN(gan.generator, gan.discriminator, 2, clip_value="small")


# -------------------------------------------------------------- save / load
@pytest.mark.parametrize(
    "model_cls, option",
    [(models.WGANGP, {"gradient_penalty_weight": 3.5}), (models.WGAN, {"clip_value": 0.02})],
)
def test_save_and_load_round_trip(tmp_path, model_cls, option):
    model = toy_gan(width=16, model_cls=model_cls, seed=0, **option)
    model.compile(d_steps=2)
    model.fit(toy_data(2 * 32), epochs=1, steps_per_epoch=3, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is model_cls
    for key, value in option.items():
        assert getattr(loaded, key) == value
    assert loaded.d_steps == 2 and int(loaded.d_optimizer.iterations) == 6
    assert type(loaded.d_optimizer) is type(model.d_optimizer)
    np.testing.assert_allclose(loaded.sample(5, seed=1), model.sample(5, seed=1), rtol=1e-6)
    loaded.fit(toy_data(2 * 32), epochs=1, steps_per_epoch=2, verbose=0)
    assert int(loaded.g_optimizer.iterations) == 5
    assert loaded.critic is loaded.discriminator


# ----------------------------------------------------------------- learning
def train_ring(seed, steps=1500, dtype_policy="float32"):
    """WGAN-GP on the eight-Gaussian ring within a test budget: 3 x 128 ReLU MLPs
    (the paper's toy nets, narrower), lambda = 1, Adam(1e-3, 0.5, 0.9) decayed
    (cosine) over the run, minibatches of 128, 5 critic updates per generator
    update; the networks under Keras' ``dtype_policy``."""
    keras.utils.set_random_seed(seed)
    with training.dtype_policy(dtype_policy):
        g = networks.mlp_generator(2, (128,) * 3, (2,), output_activation="linear")
        critic = networks.mlp_discriminator((2,), (128,) * 3, activation="relu")
    model = models.WGANGP(g, critic, latent_dim=2, gradient_penalty_weight=1.0, seed=seed)

    def adam(k):
        lr = keras.optimizers.schedules.CosineDecay(1e-3, k * steps, alpha=0.05)
        return keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.9)

    model.compile(d_optimizer=adam(5), g_optimizer=adam(1))
    ds = data.load_dataset("gaussians_8", batch_size=5 * 128, num_examples=200_000, seed=seed)
    model.fit(ds.repeat(), epochs=1, steps_per_epoch=steps, verbose=0)
    ring = data.toy_distribution("gaussians_8")
    return mode_coverage(model.sample(2000, seed=0), ring.centers, ring.std)


@pytest.mark.slow
def test_wgan_gp_covers_all_eight_modes():
    """Measured with seeds 0-5: 8/8 modes and 78-85% high-quality samples each
    (within 3 std = 0.042 of a mode), 10-13 s on 2 CPU cores."""
    result = train_ring(seed=0)
    assert result.covered == 8, str(result)
    assert result.high_quality_fraction > 0.6, str(result)


@pytest.mark.slow
def test_wgan_gp_covers_all_eight_modes_in_mixed_bfloat16():
    """The penalty's second derivative through bfloat16 networks still learns the ring."""
    result = train_ring(seed=0, dtype_policy="mixed_bfloat16")
    assert result.covered == 8, str(result)
    assert result.high_quality_fraction > 0.6, str(result)


def test_wgan_gp_step_compiles_with_xla():
    """The penalty's nested gradient and the stateless epsilon draw work under XLA."""
    model = toy_gan(width=16, model_cls=models.WGANGP, seed=0)
    model.compile(d_steps=1, jit_compile=True)
    logs = model.fit(toy_data(32), epochs=1, steps_per_epoch=2, verbose=0).history
    assert int(model.d_optimizer.iterations) == 2
    assert all(np.isfinite(v[-1]) for v in logs.values())
    assert logs["grad_norm"][-1] > 0


DISTRIBUTED_SCRIPT = r"""
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
from keras_gan import data, models, networks

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
w = np.array([[3.0], [4.0]], np.float32)


def linear_wgan_gp(weight, **compile_kwargs):
    with strategy.scope():
        g = networks.mlp_generator(2, (8,), (2,), output_activation="linear")
        x = keras.Input((2,))
        dense = keras.layers.Dense(1, use_bias=False)
        model = models.WGANGP(g, keras.Model(x, dense(x)), 2, gradient_penalty_weight=weight)
        dense.set_weights([w])
        model.compile(**compile_kwargs)
    return model, dense


out = {"replicas": strategy.num_replicas_in_sync}
model, _ = linear_wgan_gp(7.0)
ds = data.load_dataset("gaussians_8", batch_size=64, num_examples=64)
out["evaluate"] = model.evaluate(ds, verbose=0, return_dict=True)
# One critic step by SGD(0.01) on real = fake = 0: only the penalty has a gradient.
model, dense = linear_wgan_gp(
    1.0, d_optimizer=keras.optimizers.SGD(0.01), g_optimizer=keras.optimizers.SGD(0.0), d_steps=1
)
for v in model.generator.trainable_variables:
    v.assign(tf.zeros_like(v))
model.fit(tf.data.Dataset.from_tensor_slices(np.zeros((64, 2), np.float32)).batch(64), verbose=0)
out["w_after"] = dense.get_weights()[0].ravel().tolist()
with strategy.scope():
    g = networks.mlp_generator(2, (8,), (2,), output_activation="linear")
    critic = networks.mlp_discriminator((2,), (16,))
    wgan = models.WGAN(g, critic, 2, clip_value=0.05, seed=0)
    wgan.compile(d_optimizer=keras.optimizers.RMSprop(1e-2), d_steps=2)
wgan.fit(data.load_dataset("gaussians_8", batch_size=128, num_examples=512), verbose=0)
out["clip_max"] = max(float(np.abs(v.numpy()).max()) for v in critic.trainable_variables)
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow
def test_penalty_and_clipping_under_a_two_replica_strategy():
    """Under MirroredStrategy (2 CPU replicas) the penalty is divided by the global
    batch (the summed replica gradients equal the global mean's), and clipping
    updates the mirrored critic weights."""
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", DISTRIBUTED_SCRIPT], capture_output=True, text=True, timeout=300
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT ") :])
    assert out["replicas"] == 2
    ev = out["evaluate"]
    assert ev["gradient_penalty"] == pytest.approx(16.0, rel=1e-5)
    assert ev["d_loss"] + ev["wasserstein"] == pytest.approx(7.0 * 16.0, rel=1e-5)
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 1.6 w; one SGD step of 0.01.
    np.testing.assert_allclose(out["w_after"], np.array([3.0, 4.0]) * (1 - 0.016), rtol=1e-5)
    assert out["clip_max"] <= 0.05 + 1e-7
