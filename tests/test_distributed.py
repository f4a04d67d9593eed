"""GAN.fit under tf.distribute.MirroredStrategy on two logical CPU devices.

Logical devices must be configured before TensorFlow initialises, so the check
runs in a fresh subprocess.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    import keras
    from keras_gan import losses, models, networks

    keras.utils.set_random_seed(0)

    def build():
        g = networks.mlp_generator(latent_dim=2, hidden=(16,), output_shape=(2,),
                                   output_activation="linear")
        d = networks.mlp_discriminator((2,), hidden=(16,))
        return g, d

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        g, d = build()
        gan = models.GAN(g, d, latent_dim=2, seed=0, ema_decay=0.9)
        initial = [w.copy() for w in g.get_weights()]
        gan.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05), d_steps=2)
    x = np.random.default_rng(0).normal(size=(64 * 6, 2)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices(x).batch(64, drop_remainder=True)
    hist = gan.fit(ds, epochs=2, verbose=0).history

    # Loss scaling: a replica's loss with global_batch_size equals its share of the
    # global mean, so the all-reduced (summed) gradient is the global-mean gradient.
    def replica_fn(logits):
        return losses.non_saturating_generator_loss(logits, global_batch_size=8)
    logits = tf.constant(np.arange(8, dtype="float32")[:, None] - 4.0)
    dist = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(logits).batch(8))
    per_replica = strategy.run(replica_fn, args=(next(iter(dist)),))
    summed = float(strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None))
    full = float(losses.non_saturating_generator_loss(logits))
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "d_iterations": int(gan.d_optimizer.iterations.numpy()),
        "g_iterations": int(gan.g_optimizer.iterations.numpy()),
        "finite": bool(all(np.isfinite(v).all() for v in hist.values())),
        "d_loss": hist["d_loss"],
        "summed": summed, "full": full,
        "sample_shape": list(gan.sample(5, seed=1).shape),
        # The average moved off the initial weights and lags the trained ones.
        "ema_from_initial": float(np.abs(gan.ema_generator.get_weights()[0] - initial[0]).max()),
        "ema_from_weights": float(np.abs(gan.ema_generator.get_weights()[0]
                                         - g.get_weights()[0]).max()),
    }))
    """
)


@pytest.mark.slow
def test_fit_under_mirrored_strategy_on_two_cpu_devices():
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    # 6 fit steps per epoch x 2 epochs; d_steps=2 -> 2 D updates per G update.
    assert result["g_iterations"] == 12
    assert result["d_iterations"] == 24
    assert result["finite"]
    assert result["summed"] == pytest.approx(result["full"], rel=1e-6)
    assert result["sample_shape"] == [5, 2]
    assert result["ema_from_initial"] > 1e-4 and result["ema_from_weights"] > 1e-5
