"""Shared test set-up: quiet TensorFlow, local data, small seeded models."""

import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")
if not os.environ.get("KERAS_GAN_DATA_DIR") and os.path.isdir(_SHARED_DATA):
    os.environ["KERAS_GAN_DATA_DIR"] = _SHARED_DATA

import keras  # noqa: E402
import pytest  # noqa: E402

from keras_gan import models, networks  # noqa: E402

# The headless-browser fixtures (browser, page) for every test module.
pytest_plugins = ["browser"]

MNIST_DIR = os.path.join(os.environ.get("KERAS_GAN_DATA_DIR", ""), "mnist")
requires_mnist_idx = pytest.mark.skipif(
    not os.path.isfile(os.path.join(MNIST_DIR, "train-images-idx3-ubyte.gz")),
    reason="set KERAS_GAN_DATA_DIR to a directory holding the MNIST IDX files "
    "(mnist/train-images-idx3-ubyte.gz and the three other standard files)",
)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield


def toy_gan(latent_dim=2, data_dim=2, width=64, depth=2, model_cls=None, **kwargs):
    """A small MLP GAN for toy data."""
    g = networks.mlp_generator(
        latent_dim=latent_dim,
        hidden=(width,) * depth,
        output_shape=(data_dim,),
        output_activation="linear",
    )
    d = networks.mlp_discriminator((data_dim,), hidden=(width,) * depth)
    return (model_cls or models.GAN)(g, d, latent_dim=latent_dim, **kwargs)


def run_cli(*args, env=None, timeout=600, check=True):
    """Run ``keras-gan`` in a subprocess; return the CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run(
        [sys.executable, "-m", "keras_gan", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=REPO,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"keras-gan {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
        )
    return proc
