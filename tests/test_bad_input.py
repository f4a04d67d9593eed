"""Bad input fails early with an error that names what is wrong."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import toy_gan

from keras_gan import data
from keras_gan.config import ConfigError, parse_config

BASE = {
    "generator": {"name": "mlp_generator"},
    "discriminator": {"name": "mlp_discriminator"},
    "dataset": {"name": "gaussians_8"},
}


def test_shape_mismatch_fails_before_training():
    gan = toy_gan()
    gan.compile()
    images = tf.data.Dataset.from_tensor_slices(np.zeros((8, 28, 28, 1), np.float32)).batch(4)
    with pytest.raises(ValueError, match=r"shape \(28, 28, 1\).*generator produces \(2\)"):
        gan.fit(images, epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 0
    with pytest.raises(ValueError, match=r"shape \(3\).*generator produces \(2\)"):
        gan.fit(np.zeros((8, 3), np.float32), epochs=1, verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_data_fails_before_training(bad):
    gan = toy_gan()
    gan.compile()
    x = np.zeros((16, 2), np.float32)
    x[5, 1] = bad
    with pytest.raises(ValueError, match=r"non-finite values.*index \(5, 1\)"):
        gan.fit(x, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="non-finite"):
        gan.fit(tf.data.Dataset.from_tensor_slices(x).batch(16), epochs=1, verbose=0)
    assert int(gan.d_optimizer.iterations) == 0


def test_batch_smaller_than_d_steps_fails():
    gan = toy_gan()
    gan.compile(d_steps=5)
    x = tf.data.Dataset.from_tensor_slices(np.zeros((8, 2), np.float32)).batch(4)
    with pytest.raises(ValueError, match="d_steps=5"):
        gan.fit(x, epochs=1, verbose=0)


def test_integer_data_is_rejected():
    gan = toy_gan()
    gan.compile()
    x = tf.data.Dataset.from_tensor_slices(np.zeros((8, 2), np.uint8)).batch(4)
    with pytest.raises(ValueError, match="dtype uint8"):
        gan.fit(x, epochs=1, verbose=0)


def test_unknown_dataset_lists_allowed():
    with pytest.raises(ValueError, match=r"Unknown dataset 'imagenet'.*'mnist'.*'gaussians_8'"):
        data.load_dataset("imagenet")
    with pytest.raises(ConfigError, match=r"dataset\.name.*unknown dataset 'imagenet'.*mnist"):
        parse_config({**BASE, "dataset": {"name": "imagenet"}})


def test_unknown_config_key_lists_allowed():
    with pytest.raises(ConfigError, match=r"training\.epoch: unknown key") as info:
        parse_config({**BASE, "training": {"epoch": 3}})
    assert "allowed keys in training" in str(info.value) and "'epochs'" in str(info.value)
    with pytest.raises(ConfigError, match=r"colour: unknown key"):
        parse_config({**BASE, "colour": "blue"})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['widht'\].*allowed"):
        parse_config({**BASE, "generator": {"name": "mlp_generator", "widht": 3}})


@pytest.mark.parametrize(
    "section, value, pattern",
    [
        (
            {"d_optimizer": {"name": "adam", "learning_rate": -0.1}},
            None,
            r"d_optimizer\.learning_rate: Input should be greater than 0",
        ),
        ({"training": {"d_steps": 0}}, None, r"training\.d_steps: .*greater than or equal to 1"),
        ({"training": {"epochs": "many"}}, None, r"training\.epochs: .*valid integer"),
        ({"d_optimizer": {"name": "lbfgs"}}, None, r"d_optimizer\.name: allowed: 'sgd'"),
        ({"d_optimizer": {"name": "adam", "momentum": 0.9}}, None, r"momentum.*do not apply"),
        ({"generator": {"name": "transformer"}}, None, r"unknown network 'transformer'"),
        ({"model": "vae"}, None, r"model: allowed: 'gan'"),
    ],
)
def test_invalid_config_values(section, value, pattern):
    with pytest.raises(ConfigError, match=pattern):
        parse_config({**BASE, **section})


def test_split_and_value_range_errors():
    with pytest.raises(ValueError, match="Invalid split 'valid'"):
        data.load_dataset("mnist", split="valid")
    with pytest.raises(ValueError, match="low < high"):
        data.load_dataset("mnist", value_range=(1, 0))


def test_config_base_extends_another_config(tmp_path):
    from keras_gan.config import load_config

    quick = load_config("mnist_mlp_quick")
    paper = load_config("mnist_mlp")
    assert quick.generator == paper.generator and quick.discriminator == paper.discriminator
    assert quick.training.epochs == 12 and paper.training.epochs == 300
    assert quick.training.steps_per_epoch == 500  # updates, whatever the data set size
    # Separate run directories: the paper run must not resume from the quick run's checkpoints.
    assert quick.logging.logdir == "runs/mnist_mlp_quick" != paper.logging.logdir
    # A section naming another optimizer replaces the base's (no SGD keys leak into Adam).
    assert quick.d_optimizer.name == "adam" and quick.d_optimizer.momentum is None
    child = tmp_path / "child.yaml"
    child.write_text("base: mnist_mlp\ntraining: {epochs: 2}\nd_optimizer: {learning_rate: 0.05}\n")
    config = load_config(str(child))
    assert config.d_optimizer.name == "sgd" and config.d_optimizer.learning_rate == 0.05
    assert config.d_optimizer.momentum == 0.5 and config.training.batch_size == 100


def test_config_base_errors(tmp_path):
    from keras_gan.config import load_config

    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(str(tmp_path / "a.yaml"))
    (tmp_path / "c.yaml").write_text("base: no_such_config\n")
    with pytest.raises(ConfigError, match="not found.*Shipped configs"):
        load_config(str(tmp_path / "c.yaml"))
    (tmp_path / "d.yaml").write_text("base: mnist_mlp\ntraining: {epochs: -1}\n")
    with pytest.raises(ConfigError, match=r"training\.epochs"):
        load_config(str(tmp_path / "d.yaml"))
