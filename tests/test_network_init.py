"""The paper's initialisation options: `init_range` (pylearn2 irange) and data-marginal biases."""

import keras
import numpy as np
import pytest
from conftest import requires_mnist_idx

from keras_gan import networks
from keras_gan.config import ConfigError, load_config
from keras_gan.training import build_networks


def test_init_range_draws_kernels_uniformly_in_range():
    g = networks.mlp_generator(latent_dim=10, hidden=(64,), output_shape=(16,), init_range=0.05)
    d = networks.maxout_discriminator((16,), (32,), pieces=3, dropout=(0, 0), init_range=0.005)
    for net, r in ((g, 0.05), (d, 0.005)):
        kernels = [w for w in net.weights if "kernel" in w.path]
        assert len(kernels) == 2
        for k in kernels:
            values = np.asarray(k)
            assert np.abs(values).max() <= r
            assert np.abs(values).max() > 0.9 * r  # uniform over the whole range
            assert values.std() == pytest.approx(r / np.sqrt(3), rel=0.1)
    # Layers get independent draws.
    a, b = (np.asarray(w) for w in g.weights if "kernel" in w.path)
    assert not np.allclose(a[:10, :16], b[:10, :16])
    # Default: Glorot uniform, as before.
    default = networks.mlp_generator(latent_dim=10, hidden=(64,), output_shape=(16,))
    limit = np.sqrt(6 / (10 + 64))
    assert np.abs(np.asarray(default.weights[0])).max() <= limit


def test_output_bias_from_marginals_makes_the_mean_example():
    rng = np.random.default_rng(0)
    x = (rng.random((500, 4, 4, 1)) < np.linspace(0, 1, 16).reshape(1, 4, 4, 1)).astype("float32")
    bias = networks.output_bias_from_marginals(x)
    assert bias.shape == (4, 4, 1) and bias.dtype == np.float32
    mean = np.clip(x.mean(0), 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(1 / (1 + np.exp(-bias)), mean, rtol=1e-4, atol=1e-7)
    assert bias[0, 0, 0] < -15  # an always-0 pixel: logit(1e-7)
    g = networks.mlp_generator(latent_dim=3, hidden=(8,), output_shape=(4, 4, 1), output_bias=bias)
    for w in g.weights:
        if "kernel" in w.path:
            w.assign(np.zeros(w.shape, "float32"))
    out = np.asarray(g(np.ones((2, 3), "float32")))
    np.testing.assert_allclose(out[0], mean, rtol=1e-4, atol=1e-6)
    # tanh and linear outputs.
    y = rng.uniform(-0.5, 0.9, (100, 5))
    np.testing.assert_allclose(
        np.tanh(networks.output_bias_from_marginals(y, "tanh")), y.mean(0), rtol=1e-5
    )
    np.testing.assert_allclose(networks.output_bias_from_marginals(y, "linear"), y.mean(0))


def test_generator_with_marginal_bias_survives_saving(tmp_path):
    bias = np.linspace(-2, 2, 6).astype("float32")
    g = networks.mlp_generator(latent_dim=2, hidden=(4,), output_shape=(6,), output_bias=bias)
    path = str(tmp_path / "g.keras")
    g.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded.get_layer("output").bias), bias)


def test_bad_initialisation_options():
    with pytest.raises(ValueError, match="init_range must be a positive number"):
        networks.mlp_generator(latent_dim=2, hidden=(4,), output_shape=(6,), init_range=0)
    with pytest.raises(ValueError, match="init_range must be a positive number"):
        networks.maxout_discriminator((6,), units=(4,), dropout=(0, 0), init_range=-1.0)
    with pytest.raises(ValueError, match="needs the training data"):
        networks.mlp_generator(output_shape=(6,), output_bias="data_marginals")
    with pytest.raises(ValueError, match="6 finite values"):
        networks.mlp_generator(output_shape=(6,), output_bias=np.zeros(5))
    with pytest.raises(ValueError, match="outside the sigmoid output range"):
        networks.output_bias_from_marginals(np.full((3, 2), 255.0))
    with pytest.raises(ValueError, match="supports output activations"):
        networks.output_bias_from_marginals(np.zeros((3, 2)), "relu")


def test_config_accepts_data_marginals_and_rejects_other_strings():
    config = load_config("mnist_mlp")
    assert config.generator.kwargs()["output_bias"] == "data_marginals"
    assert config.generator.kwargs()["init_range"] == 0.05
    assert config.discriminator.kwargs()["init_range"] == 0.005
    with pytest.raises(ConfigError, match="generator.output_bias: 'data_marginal' is not allowed"):
        load_config("mnist_mlp", overrides={"generator.output_bias": "data_marginal"})


@requires_mnist_idx
def test_training_resolves_data_marginals_from_the_configured_split():
    config = load_config(
        "mnist_mlp",
        overrides={
            "dataset.num_examples": 300,
            "generator.hidden": [8],
            "discriminator.units": [8, 8],
            "latent_dim": 4,
        },
    )
    generator, _ = build_networks(config)
    from keras_gan.data import load_arrays

    x, _ = load_arrays("mnist", "train[:50000]", num_examples=300)
    expected = networks.output_bias_from_marginals(x).reshape(-1)
    np.testing.assert_allclose(np.asarray(generator.get_layer("output").bias), expected)
