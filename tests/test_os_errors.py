"""Every command turns OS errors into one line naming the path and the cause, with
the documented exit status (2: cannot run as given, 1: failed while working), on
real read-only and full file systems (tmpfs mounts; skipped without the right to
mount, except where chmod can stand in)."""

import errno
import os
import shutil
import subprocess

import pytest
import yaml
from conftest import REPO, requires_mnist_idx
from tiny_models import tiny_mnist_gan

import keras_gan.training
from keras_gan.callbacks import Checkpoint
from keras_gan.cli import main

TINY = os.path.join(REPO, "tests", "configs", "tiny_toy.yaml")


def _mount(directory, size):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    cmd = ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(directory)]
    return subprocess.run(cmd, capture_output=True).returncode == 0


@pytest.fixture
def filesystem(tmp_path):
    """``filesystem(name, size="1m", read_only=False)``: a directory on its own tmpfs
    (unmounted after the test). Read-only without mount rights: a chmod 0555
    directory when not root; otherwise the test is skipped."""
    mounted = []

    def make(name, size="1m", read_only=False):
        directory = tmp_path / name
        directory.mkdir()
        if _mount(directory, size):
            mounted.append(directory)
            if read_only:
                subprocess.run(["mount", "-o", "remount,ro", str(directory)], check=True)
            return directory
        if read_only and os.geteuid() != 0:
            directory.chmod(0o555)
            return directory
        pytest.skip(
            "needs the right to mount a tmpfs (root with mount(8)) for a real "
            + ("read-only" if read_only else "full")
            + " file system"
        )

    yield make
    for directory in reversed(mounted):
        # lazily: a writer the failed run left open (TensorBoard's) keeps it busy
        subprocess.run(["umount", "-l", str(directory)], check=False)


def fill(directory):
    """Write a file into ``directory`` until its file system has no space left."""
    fd = os.open(os.path.join(directory, "filler"), os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)


def one_error_line(capsys, command):
    """The single error line of ``keras-gan command`` (and no traceback)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"keras-gan {command}: error: "), err
    return lines[0]


def toy_config(tmp_path, **sections):
    with open(TINY) as f:
        data = yaml.safe_load(f)
    data["logging"]["logdir"] = str(tmp_path / "run")
    data["training"].update(epochs=1, steps_per_epoch=5)
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.keras"
    tiny_mnist_gan().save(path)
    return str(path)


# ------------------------------------------------------------------ read-only
def test_read_only_logdir_fails_before_training(tmp_path, filesystem, capsys):
    ro = filesystem("ro", read_only=True)
    config = toy_config(tmp_path)
    assert main(["train", "--config", config, "--logdir", str(ro / "run")]) == 2
    line = one_error_line(capsys, "train")
    assert f"{ro / 'run'}: " in line
    assert "read-only file system" in line or "permission denied" in line


def test_read_only_export_dir_of_train_fails_before_training(tmp_path, filesystem, capsys):
    ro = filesystem("ro", read_only=True)
    config = toy_config(tmp_path)
    assert main(["train", "--config", config, "--export-dir", str(ro / "gan")]) == 2
    assert f"{ro / 'gan'}: " in one_error_line(capsys, "train")
    assert not (tmp_path / "run" / "model.keras").exists()  # no training was done


def test_read_only_export_base_dir(filesystem, keras_file, capsys):
    ro = filesystem("ro", read_only=True)
    assert main(["export", "--model", keras_file, "--base-dir", str(ro / "gan")]) == 2
    line = one_error_line(capsys, "export")
    assert f"{ro / 'gan'}: " in line and "(write elsewhere)" in line or "permission" in line


@requires_mnist_idx
def test_read_only_json_out_of_evaluate(filesystem, keras_file, capsys):
    ro = filesystem("ro", read_only=True)
    args = ["evaluate", "--model", keras_file, "--dataset", "mnist", "--json-out"]
    splits = ["--test-split", "test[:50]", "--validation-split", "train[59950:]"]
    splits += ["--source", "idx", "--num-samples", "100", "--sigmas", "0.2"]
    assert main([*args, str(ro / "parzen.json"), *splits]) == 2
    assert f"{ro / 'parzen.json'}: " in one_error_line(capsys, "evaluate")


@requires_mnist_idx
def test_read_only_out_of_figures(filesystem, keras_file, capsys):
    ro = filesystem("ro", read_only=True)
    small = ["--train-split", "train[:50]", "--rows", "1", "--cols", "1"]
    small += ["--interpolation-rows", "1", "--steps", "2", "--source", "idx"]
    assert main(["figures", "--model", keras_file, "--out", str(ro / "figs"), *small]) == 2
    assert str(ro / "figs") in one_error_line(capsys, "figures")


# ------------------------------------------------------- a file in the way
def test_base_dir_that_is_a_file(tmp_path, keras_file, capsys):
    base = tmp_path / "gan"
    base.write_text("not a directory")
    assert main(["export", "--model", keras_file, "--base-dir", str(base)]) == 2
    assert one_error_line(capsys, "export").endswith(f"{base} is a file, not a directory")
    assert main(["export", "--model", keras_file, "--base-dir", str(base / "v")]) == 2
    line = one_error_line(capsys, "export")
    assert line.endswith(f"{base} is a file, not a directory (needed for {base / 'v'})")


def test_logdir_under_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    config = toy_config(tmp_path)
    assert main(["train", "--config", config, "--logdir", str(tmp_path / "file" / "run")]) == 2
    assert f"{tmp_path / 'file'} is a file, not a directory" in one_error_line(capsys, "train")


# ------------------------------------------------------------- full disk
def test_full_disk_while_model_keras_is_saved(tmp_path, filesystem, monkeypatch, capsys):
    disk = filesystem("disk", size="2m")
    real_save = keras_gan.training.atomic_save_model

    def save_on_a_full_disk(model, path):
        fill(disk)
        return real_save(model, path)

    monkeypatch.setattr(keras_gan.training, "atomic_save_model", save_on_a_full_disk)
    logdir = disk / "run"
    config = toy_config(tmp_path, checkpoint={"enabled": False})
    assert main(["train", "--config", config, "--logdir", str(logdir)]) == 1
    line = one_error_line(capsys, "train")
    assert line.endswith(f"{logdir / 'model.keras'}: no space left on device "
                         "(free some space or write elsewhere)")  # fmt: skip
    assert "memory" not in line
    assert not [n for n in os.listdir(logdir) if n.startswith(".tmp-")]  # nothing half-written


def test_full_disk_during_a_checkpoint_is_not_out_of_memory(
    tmp_path, filesystem, monkeypatch, capsys
):
    disk = filesystem("disk", size="2m")
    real_save = Checkpoint.save

    def save_on_a_full_disk(self, logs=None):
        fill(disk)
        return real_save(self, logs)

    monkeypatch.setattr(Checkpoint, "save", save_on_a_full_disk)
    logdir = disk / "run"
    assert main(["train", "--config", toy_config(tmp_path), "--logdir", str(logdir)]) == 1
    line = one_error_line(capsys, "train")
    assert line.endswith(f"{logdir / 'checkpoints'}: no space left on device "
                         "(free some space or write elsewhere)")  # fmt: skip


def test_full_disk_during_export(filesystem, keras_file, capsys):
    disk = filesystem("disk", size="1m")
    (disk / "gan").mkdir()
    fill(disk)
    assert main(["export", "--model", keras_file, "--base-dir", str(disk / "gan")]) == 1
    line = one_error_line(capsys, "export")
    assert f"{disk / 'gan'}: no space left on device" in line and "memory" not in line
    assert os.listdir(disk / "gan") == []  # no version, no .tmp-export- directory


# ------------------------------------------------------------- tracebacks
def test_traceback_only_with_debug(tmp_path, keras_file, capsys, monkeypatch):
    base = tmp_path / "gan"
    base.write_text("x")
    args = ["export", "--model", keras_file, "--base-dir", str(base)]
    assert main(["--debug", *args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().endswith("is a file, not a directory")
    monkeypatch.setenv("KERAS_GAN_DEBUG", "1")
    assert main(args) == 2
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("KERAS_GAN_DEBUG", "0")
    assert main(args) == 2
    one_error_line(capsys, "export")


def test_help_documents_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "exit status:" in out and "KERAS_GAN_DEBUG=1" in out
    for status in ("0 ", "2 ", "1 ", "130"):
        assert f"\n  {status}" in out


def test_out_of_memory_is_said_only_for_memory():
    import tensorflow as tf

    from keras_gan.cli.errors import describe

    oom = tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor [1000000]")
    assert describe(oom) == (1, "out of memory: OOM when allocating tensor [1000000]")
    disk = tf.errors.ResourceExhaustedError(
        None, None, "{{function_node x}} /d/ckpt-2_temp/part-0; No space left on device [Op:SaveV2]"
    )
    status, message = describe(disk)
    assert status == 1 and message.startswith("/d/ckpt-2_temp/part-0: no space left on device")
    assert describe(MemoryError()) == (1, "out of memory")
