"""`keras-gan train` end to end, and what it leaves in TensorBoard."""

import glob
import os

import keras
import numpy as np
import pytest
from conftest import REPO, requires_mnist_idx, run_cli
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from keras_gan import models

TINY = os.path.join(REPO, "tests", "configs", "tiny_mnist.yaml")


def load_events(directory):
    acc = EventAccumulator(directory, size_guidance={"images": 0, "tensors": 0, "scalars": 0})
    acc.Reload()
    return acc


@requires_mnist_idx
@pytest.mark.slow
def test_train_writes_tensorboard_scalars_images_and_model(tmp_path):
    logdir = str(tmp_path / "run")
    proc = run_cli("train", "--config", TINY, "--logdir", logdir, "--epochs", "2")
    assert f"TensorBoard logs: {logdir}" in proc.stdout
    assert os.path.join(logdir, "model.keras") in proc.stdout

    acc = load_events(os.path.join(logdir, "train"))
    tags = acc.Tags()
    scalar_tags = set(tags["scalars"]) | set(tags["tensors"])
    assert {"epoch_d_loss", "epoch_g_loss", "epoch_d_real", "epoch_d_fake"} <= scalar_tags
    image_tags = set(tags["images"]) | set(tags["tensors"])
    assert "samples" in image_tags
    pngs = sorted(glob.glob(os.path.join(logdir, "samples", "*.png")))
    assert [os.path.basename(p) for p in pngs] == [
        "samples_epoch_0001.png",
        "samples_epoch_0002.png",
    ]

    model = keras.models.load_model(os.path.join(logdir, "model.keras"))
    assert isinstance(model, models.GAN)
    assert int(model.g_optimizer.iterations) == 6  # 2 epochs x 3 steps
    images = model.sample(4, seed=0)
    assert images.shape == (4, 28, 28, 1) and 0 <= images.min() and images.max() <= 1


def test_unknown_config_key_fails_before_any_work(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(open(TINY).read() + "optimiser: adam\n")
    proc = run_cli("train", "--config", str(bad), "--logdir", str(tmp_path / "r"), check=False)
    assert proc.returncode == 2
    assert "optimiser: unknown key" in proc.stderr and "allowed keys" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


def test_unknown_config_name_lists_shipped_configs():
    proc = run_cli("train", "--config", "mnist_mpl", check=False)
    assert proc.returncode == 2
    assert "not found" in proc.stderr and "mnist_mlp" in proc.stderr


def test_unknown_dataset_flag_lists_allowed(tmp_path):
    proc = run_cli("train", "--config", TINY, "--dataset", "imagenet", check=False)
    assert proc.returncode == 2
    assert "unknown dataset 'imagenet'" in proc.stderr and "fashion_mnist" in proc.stderr


def test_shipped_configs_are_valid():
    from keras_gan.config import available_configs, load_config

    names = available_configs()
    assert {"mnist_mlp", "mnist_mlp_quick"} <= set(names)
    for name in names:
        load_config(name)
    paper = load_config("mnist_mlp")
    assert paper.training.batch_size == 100 and paper.training.d_steps == 1
    assert paper.d_optimizer.name == "sgd" and paper.d_optimizer.momentum == 0.5
    assert paper.discriminator.kwargs() == {
        "units": [240, 240],
        "pieces": 5,
        "dropout": [0.2, 0.5, 0.5],
        "init_range": 0.005,
    }
    assert np.isclose(paper.d_optimizer.decay_rate, 1 / 1.000004)
