"""Training under Keras' ``mixed_bfloat16`` dtype policy (``training.dtype_policy``).

The networks compute in bfloat16 with float32 weights; losses, D's scores, the
optimizers' updates, samples and the exported outputs stay float32.
"""

import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO, requires_mnist_idx, run_cli, toy_gan

from keras_gan import losses, models, networks, training
from keras_gan.config import load_config

TINY = os.path.join(REPO, "tests", "configs", "tiny_mnist.yaml")


def bf16(values):
    return tf.cast(tf.constant(values, tf.float32), tf.bfloat16)


@pytest.mark.parametrize(
    "loss, args",
    [
        (losses.discriminator_loss, 2),
        (losses.non_saturating_generator_loss, 1),
        (losses.minimax_generator_loss, 1),
        (losses.wasserstein_critic_loss, 2),
        (losses.wasserstein_generator_loss, 1),
    ],
)
def test_losses_of_bfloat16_logits_are_computed_in_float32(loss, args):
    logits = [bf16([2.5, -1.25, 7.0, -30.0]), bf16([0.375, 3.0, -2.0, 12.0])][:args]
    as_float32 = [tf.cast(x, tf.float32) for x in logits]
    value = loss(*logits)
    assert value.dtype == tf.float32
    # bfloat16 arithmetic would round the softplus sums to 8 significant bits
    np.testing.assert_allclose(value.numpy(), loss(*as_float32).numpy(), rtol=1e-7)
    assert loss(*[tf.cast(x, tf.float64) for x in logits]).dtype == tf.float64


def test_gradient_penalty_of_a_bfloat16_critic_is_float32():
    w = tf.constant([[3.0], [4.0]])

    def critic(x):  # a bfloat16 network: its input cast down, its scores bfloat16
        return tf.matmul(tf.cast(x, tf.bfloat16), tf.cast(w, tf.bfloat16))

    real = tf.random.stateless_normal([6, 2], seed=[1, 2])
    penalty, norms = losses.gradient_penalty(critic, real, -real, seed=0)
    assert penalty.dtype == norms.dtype == tf.float32
    np.testing.assert_allclose(norms.numpy(), 5.0, rtol=1e-6)  # 3, 4 and 5 are exact in bf16
    np.testing.assert_allclose(penalty.numpy(), 16.0, rtol=1e-6)


def test_dtype_policy_is_float32_or_mixed_bfloat16():
    assert load_config("toy_wgan_gp").training.dtype_policy == "float32"
    policy = "training.dtype_policy"
    assert load_config("toy_wgan_gp", overrides={policy: "mixed_bfloat16"})
    with pytest.raises(ValueError) as e:
        load_config("toy_wgan_gp", overrides={policy: "mixed_float16"})
    message = str(e.value)
    assert "training.dtype_policy" in message and "mixed_float16" in message
    assert "'float32'" in message and "'mixed_bfloat16'" in message


def test_networks_compute_in_bfloat16_with_float32_weights_and_the_policy_is_restored():
    config = load_config(
        "toy_wgan_gp",
        overrides={"training.dtype_policy": "mixed_bfloat16", "training.steps_per_epoch": 2},
    )
    model = training.build_model(config)
    assert keras.config.dtype_policy().name == "float32"  # only the networks changed
    for net in (model.generator, model.discriminator):
        assert {layer.compute_dtype for layer in net.layers if layer.weights} == {"bfloat16"}
        assert {v.dtype for v in net.weights} == {"float32"}
    logs = model.fit(training.build_dataset(config), epochs=1, verbose=0).history
    assert all(np.isfinite(v[-1]) for v in logs.values()), logs
    samples = model.sample(5, seed=3)
    assert samples.dtype == np.float32 and samples.shape == (5, 2)
    assert {v.dtype for v in model.d_optimizer.variables} <= {"float32", "int64"}


@requires_mnist_idx
@pytest.mark.slow
def test_train_cli_mixed_bfloat16_saves_and_exports_float32_samples(tmp_path):
    logdir, export_dir = str(tmp_path / "run"), str(tmp_path / "export")
    run_cli(
        "train", "--config", TINY, "--logdir", logdir, "--export-dir", export_dir,
        "--dtype-policy", "mixed_bfloat16", "--no-checkpoint",
    )  # fmt: skip
    model = keras.models.load_model(os.path.join(logdir, "model.keras"))
    assert isinstance(model, models.GAN)
    dense = [layer for layer in model.generator.layers if layer.weights]
    assert {layer.dtype_policy.name for layer in dense} == {"mixed_bfloat16"}
    expected = model.sample(6, seed=11)
    assert expected.dtype == np.float32

    (version,) = glob.glob(os.path.join(export_dir, "*"))
    sample = tf.saved_model.load(version).signatures["sample"]
    images = sample(num_samples=tf.constant(6), seed=tf.constant(11, tf.int64))["images"]
    assert images.dtype == tf.float32
    np.testing.assert_allclose(images.numpy(), expected, atol=1e-6)


def test_a_bad_dtype_policy_flag_names_the_allowed_ones(tmp_path):
    proc = run_cli(
        "train", "--config", TINY, "--logdir", str(tmp_path), "--dtype-policy", "float16",
        check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "training.dtype_policy" in proc.stderr and "mixed_bfloat16" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not os.listdir(tmp_path)


def test_toy_gan_step_matches_float32_closely_under_mixed_bfloat16():
    """Same seed, same data: the bfloat16 step's losses track float32's to bf16 precision."""
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    logs = {}
    for policy in ("float32", "mixed_bfloat16"):
        keras.utils.set_random_seed(0)
        with training.dtype_policy(policy):
            gan = toy_gan(width=32, seed=0)
        assert gan.discriminator.layers[-1].compute_dtype == policy.removeprefix("mixed_")
        gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
        logs[policy] = gan.fit(x, batch_size=32, epochs=1, verbose=0, shuffle=False).history
        assert {type(v[-1]) for v in logs[policy].values()} == {float}
    for key, value in logs["float32"].items():
        np.testing.assert_allclose(logs["mixed_bfloat16"][key], value, rtol=0.02, err_msg=key)


def test_float16_networks_are_refused_with_the_policies_that_work():
    with training.dtype_policy("mixed_float16"):
        g = networks.mlp_generator(2, (8,), (2,), output_activation="linear")
    d = toy_gan(width=8).discriminator
    with pytest.raises(
        ValueError,
        match=r"generator computes in float16 \(layers \['z', 'dense_0'.*'mixed_bfloat16'",
    ):
        models.GAN(g, d, latent_dim=2)


def test_the_weight_average_keeps_the_policy_and_samples_float32():
    with training.dtype_policy("mixed_bfloat16"):
        gan = toy_gan(width=16, seed=0, ema_decay=0.9)
    assert gan.sampling_generator is not gan.generator
    assert gan.sampling_generator.layers[-1].compute_dtype == "bfloat16"
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    gan.fit(x, batch_size=32, epochs=2, verbose=0)
    averaged = {v.dtype for v in gan.sampling_generator.weights}
    assert averaged == {"float32"}
    samples = gan.sample(8, seed=0)
    assert samples.dtype == np.float32 and np.isfinite(samples).all()


@pytest.mark.parametrize(
    "flags, expected",
    [
        ("flags\t\t: fpu sse2 avx512f avx512_bf16 amx_tile amx_bf16", True),
        ("flags\t\t: fpu sse2 avx2 avx512f", False),
        ("Features\t: fp asimd bf16 i8mm", True),
        ("processor\t: 0", None),
    ],
)
def test_cpu_bfloat16_units_from_cpuinfo(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\n{flags}\n")
    assert training.cpu_has_bfloat16_units(str(cpuinfo)) is expected
    assert training.cpu_has_bfloat16_units(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("units", [False, True, None])
def test_mixed_bfloat16_warns_on_a_cpu_without_bfloat16_units(monkeypatch, caplog, units):
    monkeypatch.setattr(training, "cpu_has_bfloat16_units", lambda: units)
    config = load_config("toy_wgan_gp", overrides={"training.dtype_policy": "mixed_bfloat16"})
    with caplog.at_level("WARNING", logger="keras_gan.training"):
        training.build_networks(config)
    warned = [r for r in caplog.records if "no bfloat16 matrix instructions" in r.message]
    assert len(warned) == (units is False)
    caplog.clear()
    with caplog.at_level("WARNING", logger="keras_gan.training"):
        with training.dtype_policy("mixed_bfloat16"):  # networks built in Python: the same
            pass
    warned = [r for r in caplog.records if "no bfloat16 matrix instructions" in r.message]
    assert len(warned) == (units is False)
    caplog.clear()
    with caplog.at_level("WARNING", logger="keras_gan.training"):
        training.build_networks(load_config("toy_wgan_gp"))  # float32: never
    assert not caplog.records
