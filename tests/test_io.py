"""Atomic writes: complete files or none, with the permissions the umask gives."""

import os
import stat

import numpy as np
import pytest

from keras_gan.images import save_png
from keras_gan.io import atomic_open, atomic_save_model, atomic_write_text


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_get_0666_less_the_umask_as_open_gives(tmp_path, umask):
    with open(tmp_path / "plain", "w") as f:  # what open() does, the reference
        f.write("x")
    expected = 0o666 & ~umask
    assert mode(tmp_path / "plain") == expected
    atomic_write_text(tmp_path / "a.txt", "text")
    save_png(np.zeros((4, 4), np.uint8), tmp_path / "a.png")
    with atomic_open(tmp_path / "a.bin") as f:
        f.write(b"\x00")
    for name in ("a.txt", "a.png", "a.bin"):
        assert mode(tmp_path / name) == expected, name


def test_the_saved_model_file_gets_the_umask_mode(tmp_path, umask):
    from tiny_models import tiny_mnist_gan

    atomic_save_model(tiny_mnist_gan(), str(tmp_path / "m.keras"))
    assert mode(tmp_path / "m.keras") == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    atomic_write_text(tmp_path / "keep.txt", "old")
    with pytest.raises(RuntimeError), atomic_open(tmp_path / "keep.txt", "w") as f:
        f.write("half")
        raise RuntimeError("disk full")
    assert (tmp_path / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
