"""The paper's figures: exact nearest neighbours, Figure 2/3 layouts, `keras-gan figures`."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import requires_mnist_idx, run_cli
from PIL import Image
from tiny_models import save_tiny_saved_model, tiny_mnist_gan

from keras_gan import figures
from keras_gan.cli import main
from keras_gan.images import to_uint8
from keras_gan.loading import load_generator


def test_nearest_neighbours_is_exact():
    rng = np.random.default_rng(0)
    reference = rng.random((3000, 20))
    queries = rng.random((17, 20))
    queries[3] = reference[1234]  # an exact copy: distance 0
    index, dist = figures.nearest_neighbours(queries, reference, batch_size=500)
    brute = np.sqrt(((queries[:, None, :] - reference[None]) ** 2).sum(-1))
    np.testing.assert_array_equal(index, brute.argmin(1))
    np.testing.assert_allclose(dist, brute.min(1), rtol=1e-12)
    assert index[3] == 1234 and dist[3] == 0.0
    # Chunking does not matter.
    np.testing.assert_array_equal(figures.nearest_neighbours(queries, reference, 7)[0], index)


def test_nearest_neighbours_bad_input():
    with pytest.raises(ValueError, match="20 values per example but the reference set 5"):
        figures.nearest_neighbours(np.zeros((2, 20)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="non-empty reference"):
        figures.nearest_neighbours(np.zeros((2, 20)), np.zeros((0, 20)))


def test_nearest_neighbour_figure_shows_the_neighbour_of_the_last_sample():
    rng = np.random.default_rng(1)
    train = rng.random((500, 28, 28, 1)).astype(np.float32)
    samples = rng.random((12, 28, 28, 1)).astype(np.float32)
    # Make each row's last sample a slightly perturbed copy of a known training image.
    targets = [17, 250, 499]
    for row, target in enumerate(targets):
        samples[row * 4 + 3] = np.clip(train[target] + 0.01, 0, 1)
    image, indices = figures.nearest_neighbour_figure(samples, train, cols=4, padding=2)
    assert list(indices) == targets
    # 3 rows, 4 sample columns + a gap + the framed neighbour column, RGB.
    assert image.shape == (3 * 30 + 2, (4 * 30 + 2) + 4 + (30 + 2), 3)
    right = image[:, -32:]
    for row, target in enumerate(targets):
        y = 2 + row * 30
        tile = right[y : y + 28, 2:30, 0]
        np.testing.assert_array_equal(tile, to_uint8(train[target])[..., 0])
        assert tuple(right[y - 1, 10]) == (255, 215, 0)  # the yellow frame
    with pytest.raises(ValueError, match="do not fill rows of cols=5"):
        figures.nearest_neighbour_figure(samples, train, cols=5)
    with pytest.raises(ValueError, match="need image samples"):
        figures.nearest_neighbour_figure(np.zeros((4, 2)), np.zeros((5, 2)), cols=2)


def test_interpolation_rows_go_from_z0_to_z1():
    z0 = np.array([[0.0, 0.0], [1.0, 2.0]])
    z1 = np.array([[1.0, 1.0], [3.0, 2.0]])
    z = figures.interpolation_latents(z0, z1, steps=5)
    assert z.shape == (10, 2)
    np.testing.assert_allclose(z[:5, 0], [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(z[5], z0[1])
    np.testing.assert_allclose(z[9], z1[1])
    with pytest.raises(ValueError, match="steps must be >= 2"):
        figures.interpolation_latents(z0, z1, steps=1)

    gan = tiny_mnist_gan()
    grid = figures.interpolation_figure(gan, rows=2, steps=4, seed=3)
    assert grid.shape == (2 * 30 + 2, 4 * 30 + 2, 1)
    ends = gan.sample_latent(4, seed=3)  # the end points: rows 0..1 from, 2..3 to
    first = to_uint8(gan.generate(ends[1:2]))[0]
    last = to_uint8(gan.generate(ends[3:4]))[0]
    np.testing.assert_array_equal(grid[32:60, 2:30], first)
    np.testing.assert_array_equal(grid[32:60, 92:120], last)


def test_write_figures_pngs_and_tensorboard(tmp_path):
    gan = tiny_mnist_gan()
    train = np.random.default_rng(2).random((300, 28, 28, 1)).astype(np.float32)
    paths = figures.write_figures(
        gan, train, str(tmp_path / "out"), logdir=str(tmp_path / "tb"), rows=2, cols=3, steps=4
    )
    assert paths["skipped"] == {}
    with Image.open(paths["samples_nearest"]) as img:
        assert img.size == (3 * 30 + 2 + 4 + 32, 2 * 30 + 2)
    with Image.open(paths["interpolation"]) as img:
        assert img.size == (4 * 30 + 2, 5 * 30 + 2)
    tags = set()
    for path in glob.glob(str(tmp_path / "tb" / "figures" / "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    assert tags == {"figures/samples_nearest", "figures/interpolation"}


@pytest.mark.slow
@requires_mnist_idx
def test_figures_cli_on_keras_file_and_saved_model_without_z(tmp_path, capsys):
    """The .keras file through the real console process; the SavedModel (no z signature:
    interpolation skipped) through main() in-process."""
    gan = tiny_mnist_gan()
    keras_path = str(tmp_path / "model.keras")
    gan.save(keras_path)
    saved = save_tiny_saved_model(gan, str(tmp_path / "export" / "3"))
    assert load_generator(saved).generate_fn is None
    common = ["--train-split", "train[:2000]", "--rows", "2", "--cols", "3", "--steps", "4"]
    proc = run_cli(
        "figures", "--model", keras_path, "--out", str(tmp_path / "a"), "--logdir",
        str(tmp_path / "tb"), *common,
    )  # fmt: skip
    assert "samples_nearest:" in proc.stdout and "interpolation:" in proc.stdout
    assert sorted(os.listdir(tmp_path / "a")) == ["interpolation.png", "samples_nearest.png"]
    assert glob.glob(str(tmp_path / "tb" / "figures" / "events.*"))
    args = ["figures", "--model", str(tmp_path / "export"), "--out", str(tmp_path / "b")]
    assert main(args + common) == 0
    assert "interpolation: skipped" in capsys.readouterr().out
    assert os.listdir(tmp_path / "b") == ["samples_nearest.png"]
    assert (
        main(["figures", "--model", keras_path, "--out", str(tmp_path / "c"), "--rows", "0"]) == 2
    )
    assert "--rows must be >= 1" in capsys.readouterr().err
