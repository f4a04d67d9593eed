"""SampleGrid: image summaries and PNGs of fixed-noise samples."""

import os

import numpy as np
from conftest import toy_gan
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from keras_gan import models, networks
from keras_gan.callbacks import SampleGrid
from keras_gan.images import make_grid


def test_sample_grid_writes_images_every_n_epochs(tmp_path):
    g = networks.mlp_generator(latent_dim=4, hidden=(8,), output_shape=(28, 28, 1))
    d = networks.mlp_discriminator((28, 28, 1), hidden=(8,))
    gan = models.GAN(g, d, latent_dim=4, seed=0)
    gan.compile()
    x = np.random.default_rng(0).random((32, 28, 28, 1)).astype("float32")
    cb = SampleGrid(str(tmp_path), num_samples=9, every=2, png_dir=str(tmp_path / "png"))
    gan.fit(x, batch_size=16, epochs=4, verbose=0, callbacks=[cb])
    assert sorted(os.listdir(tmp_path / "png")) == [
        "samples_epoch_0002.png",
        "samples_epoch_0004.png",
    ]
    img = np.asarray(Image.open(tmp_path / "png" / "samples_epoch_0004.png"))
    assert img.shape == (3 * 30 + 2, 3 * 30 + 2)  # 3x3 tiles of 28 px, 2 px padding
    acc = EventAccumulator(str(tmp_path / "train"), size_guidance={"tensors": 0, "images": 0})
    acc.Reload()
    events = acc.Tensors("samples") if "samples" in acc.Tags()["tensors"] else acc.Images("samples")
    assert [e.step for e in events] == [1, 3]


def test_sample_grid_uses_fixed_noise():
    gan = toy_gan(seed=0)
    gan.compile()
    cb = SampleGrid(num_samples=50)
    cb.set_model(gan)
    np.testing.assert_array_equal(cb.render(), cb.render())  # scatter plot of 2-D samples
    assert cb.render().shape == (256, 256, 3)


def test_make_grid_layout_and_errors():
    tiles = np.stack([np.full((2, 2), i / 4.0) for i in range(5)])
    grid = make_grid(tiles, ncols=3, padding=1)
    assert grid.shape == (2 * 3 + 1, 3 * 3 + 1, 1)
    assert grid[1, 1, 0] == 0 and grid[1, 4, 0] == round(0.25 * 255)
    try:
        make_grid(np.zeros((2, 3)))
    except ValueError as e:
        assert "shape" in str(e)
    else:
        raise AssertionError("make_grid accepted a 2-D array")
