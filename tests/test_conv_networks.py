"""DCGAN and ResNet networks; the shipped convolutional configs build and train."""

import os

import keras
import numpy as np
import pytest
from conftest import requires_mnist_idx

import keras_gan.data
from keras_gan import models, networks
from keras_gan.config import load_config
from keras_gan.models.wgan import batch_norm_layers
from keras_gan.training import train


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_dcgan_shapes(shape):
    g = networks.dcgan_generator(16, shape, base_filters=8)
    d = networks.dcgan_discriminator(shape, base_filters=8)
    assert g.output_shape == (None, *shape) and d.output_shape == (None, 1)
    x = g(np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32))
    assert tuple(x.shape) == (3, *shape) and np.abs(x.numpy()).max() <= 1.0  # tanh
    assert tuple(d(x).shape) == (3, 1)
    assert batch_norm_layers(g) and not batch_norm_layers(d)
    assert batch_norm_layers(networks.dcgan_discriminator(shape, 8, normalization="batch"))


def test_dcgan_layer_plan():
    g = networks.dcgan_generator(100, (28, 28, 1), base_filters=64)
    assert g.get_layer("to_map").output.shape[1:] == (7, 7, 128)
    g = networks.dcgan_generator(100, (32, 32, 3), base_filters=64)
    assert g.get_layer("to_map").output.shape[1:] == (4, 4, 256)


def test_resnet_matches_the_paper_architecture():
    g = networks.resnet_generator(latent_dim=128, output_shape=(32, 32, 3), channels=128)
    c = networks.resnet_critic((32, 32, 3), channels=128)
    assert g.output_shape == (None, 32, 32, 3) and c.output_shape == (None, 1)
    assert [g.get_layer(f"up_{i}_add").output.shape[1] for i in range(3)] == [8, 16, 32]
    assert [c.get_layer(f"block_{i}_add").output.shape[1] for i in range(4)] == [16, 8, 8, 8]
    convs = [layer for layer in c.layers if isinstance(layer, keras.layers.Conv2D)]
    assert all(layer.filters == 128 for layer in convs)
    assert not batch_norm_layers(c)  # valid WGAN-GP critic
    # ~1.2M generator and ~1.05M critic parameters, as in the paper's code.
    assert 1.1e6 < g.count_params() < 1.3e6 and 1.0e6 < c.count_params() < 1.1e6


def test_bad_image_shapes_are_rejected():
    with pytest.raises(ValueError, match=r"halved at least once.*\(6, 6, 1\)"):
        networks.dcgan_generator(8, (6, 6, 1))
    with pytest.raises(ValueError, match=r"\(height, width, channels\)"):
        networks.dcgan_discriminator((784,))
    with pytest.raises(ValueError, match=r"side 8 \* 2\^k.*\(28, 28, 1\)"):
        networks.resnet_generator(8, (28, 28, 1))
    with pytest.raises(ValueError, match=r"Unknown normalization 'group'.*'layer'"):
        networks.dcgan_discriminator((28, 28, 1), normalization="group")
    with pytest.raises(ValueError, match=r"Unknown argument\(s\) \['width'\]"):
        networks.build("generator", "resnet_generator", width=3)


def fake_images(shape, n=64):
    def load(name, split="train", source="auto", data_dir=None):
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
        return images, rng.integers(0, 10, n), "fake"

    return load


def run_config(name, tmp_path, **overrides):
    config = load_config(
        name,
        overrides={
            "training.epochs": 1,
            "training.steps_per_epoch": 1,
            "training.verbose": 0,
            "training.jit_compile": False,
            "logging.logdir": str(tmp_path / "run"),
            "logging.num_samples": 4,
            "export.base_dir": str(tmp_path / "export"),
            **overrides,
        },
    )
    return config, train(config)


@pytest.mark.slow
def test_cifar10_wgan_gp_resnet_config_builds_and_trains(tmp_path, monkeypatch):
    """The GPU config, on CPU with tiny fake 32x32x3 data (no CIFAR-10 here; XLA
    off to save compile time, the step compiles with XLA too)."""
    monkeypatch.setattr(keras_gan.data, "load_image_arrays", fake_images((32, 32, 3)))
    config, result = run_config("cifar10_wgan_gp_resnet", tmp_path, **{"training.batch_size": 2})
    model = result.model
    assert isinstance(model, models.WGANGP) and model.d_steps == 5
    assert model.gradient_penalty_weight == 10.0 and model.latent_dim == 128
    assert model.generator.output_shape == (None, 32, 32, 3)
    assert isinstance(model.d_optimizer, keras.optimizers.Adam)
    assert (model.d_optimizer.beta_1, model.d_optimizer.beta_2) == (0.0, 0.9)
    assert int(model.d_optimizer.iterations) == 5 and int(model.g_optimizer.iterations) == 1
    assert all(np.isfinite(v[-1]) for v in result.history.values())
    assert set(result.history) >= {"wasserstein", "gradient_penalty", "grad_norm"}
    loaded = keras.models.load_model(result.model_path)
    np.testing.assert_allclose(loaded.sample(2, seed=0), model.sample(2, seed=0), atol=1e-5)


@requires_mnist_idx
@pytest.mark.parametrize(
    "name, model_cls, d_steps",
    [("mnist_dcgan", models.GAN, 1), ("mnist_wgan_gp", models.WGANGP, 5)],
)
def test_mnist_conv_configs_build_and_train(tmp_path, name, model_cls, d_steps):
    config, result = run_config(
        name, tmp_path, **{"training.batch_size": 8, "dataset.num_examples": 200}
    )
    model = result.model
    assert type(model) is model_cls and model.d_steps == d_steps
    assert int(model.d_optimizer.iterations) == d_steps
    lo, hi = config.dataset.value_range
    samples = model.sample(4, seed=0)
    assert samples.shape == (4, 28, 28, 1) and lo <= samples.min() and samples.max() <= hi


@pytest.mark.skipif(
    not os.path.isfile(
        os.path.join(os.environ.get("KERAS_GAN_DATA_DIR", ""), "fashion-mnist",
                     "train-images-idx3-ubyte.gz")
    ),
    reason="set KERAS_GAN_DATA_DIR to a directory holding the Fashion-MNIST IDX files "
    "(fashion-mnist/train-images-idx3-ubyte.gz and the three other standard files)",
)  # fmt: skip
def test_fashion_mnist_dcgan_config_trains_scores_in_tanh_range_and_keeps_the_best(tmp_path):
    """The Fashion-MNIST config: images in [-1, 1], scored with the shipped Fashion-MNIST
    classifier (rescaled to [0, 1] for it), best model and its export kept by FID."""
    config, result = run_config(
        "fashion_mnist_dcgan", tmp_path,
        **{"training.batch_size": 8, "dataset.num_examples": 200, "evaluation.num_samples": 300},
    )  # fmt: skip
    assert config.dataset.value_range == (-1.0, 1.0)
    (record,) = result.evaluations
    assert record["extractor"] == "fashion_mnist_classifier" and record["num_fake"] == 300
    assert {"fid", "kid", "is", "precision", "recall"} <= set(record)
    assert result.best_model_path and os.path.isfile(result.best_model_path)
    assert os.path.isfile(os.path.join(result.best_export_path, "saved_model.pb"))
    assert result.data["dataset"] == "fashion_mnist" and result.data["num_examples"] == 200
