"""``keras-gan train`` survives faults, as real processes: SIGKILL and resume,
divergence, an incompatible checkpoint, a finished run started again."""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import yaml
from conftest import REPO, run_cli

import keras_gan.models  # noqa: F401  (registers the model classes for load_model)
from keras_gan.callbacks import Checkpoint
from keras_gan.config import load_config
from keras_gan.export import list_versions
from keras_gan.training import build_checkpoint, build_model

TINY = os.path.join(REPO, "tests", "configs", "tiny_toy.yaml")


def make_config(tmp_path, name="run.yaml", **sections):
    with open(TINY) as f:
        data = yaml.safe_load(f)
    data["logging"]["logdir"] = str(tmp_path / "run")
    for section, values in sections.items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def latest_step(directory):
    return Checkpoint(directory).latest_step


def snapshot(directory):
    """Names, sizes and mtimes of every file of the run and export directories."""
    found = {}
    for root, _, files in [w for sub in ("run", "export") for w in os.walk(directory / sub)]:
        for name in files:
            st = os.stat(os.path.join(root, name))
            found[os.path.relpath(os.path.join(root, name), directory)] = (
                st.st_size,
                st.st_mtime_ns,
            )
    return found


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_finishes_exactly_the_configured_steps(tmp_path):
    epochs, steps_per_epoch = 4, 100
    total = epochs * steps_per_epoch
    config = make_config(
        tmp_path,
        training={"epochs": epochs, "steps_per_epoch": steps_per_epoch, "d_steps": 2},
        checkpoint={"every_n_steps": 2, "keep": 3},
        export={"base_dir": str(tmp_path / "export")},
    )
    checkpoints = tmp_path / "run" / "checkpoints"
    cmd = [sys.executable, "-m", "keras_gan", "train", "--config", str(config)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    rng = random.Random(20240613)  # the kill points are random, and reproducible
    kills, killed_at = 0, []
    for attempt in range(12):
        log_path = tmp_path / f"attempt{attempt}.log"
        before = latest_step(checkpoints) or 0
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        try:
            if kills < 3:
                # Let it make progress (a checkpoint of its own), then kill it
                # at a random moment: between steps, during a save, anywhere.
                deadline = time.monotonic() + 240
                while (latest_step(checkpoints) or 0) <= before and proc.poll() is None:
                    assert time.monotonic() < deadline, log_path.read_text()[-2000:]
                    time.sleep(0.02)
                time.sleep(rng.uniform(0.0, 0.15))
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=60)
                    kills += 1
                    killed_at.append(latest_step(checkpoints))
                    continue
            assert proc.wait(timeout=300) == 0, log_path.read_text()[-3000:]
            break
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert kills >= 3, f"the run finished before it could be killed 3 times ({killed_at})"

    # Every restart after a kill resumed from the latest checkpoint on disk,
    # at least once in the middle of an epoch.
    resumed = []
    for attempt in range(1, kills + 1):
        text = (tmp_path / f"attempt{attempt}.log").read_text()
        m = re.search(
            r"Resuming from checkpoint \S+ckpt-(\d+) at step (\d+), epoch (\d+)/4 "
            r"\((\d+) of 100 steps of that epoch done; (\d+) steps to go\)",
            text,
        )
        assert m, text[-2000:]
        step, done = int(m.group(2)), int(m.group(4))
        assert int(m.group(1)) == step == killed_at[attempt - 1]
        assert int(m.group(5)) == total - step and done == step % steps_per_epoch
        resumed.append((step, done))
    assert [s for s, _ in resumed] == sorted(s for s, _ in resumed)
    assert any(done > 0 for _, done in resumed), resumed
    assert "Traceback" not in "".join(p.read_text() for p in tmp_path.glob("attempt*.log"))

    # Exactly the configured number of updates; the final checkpoint and model load.
    model = keras.models.load_model(tmp_path / "run" / "model.keras")
    assert int(model.g_optimizer.iterations) == total
    assert int(model.d_optimizer.iterations) == 2 * total  # d_steps = 2
    cfg = load_config(str(config))
    restored = build_model(cfg)
    state = build_checkpoint(cfg).restore(restored)
    assert state.step == total and state.epoch == epochs
    for net in ("generator", "discriminator"):
        saved, checkpointed = (getattr(m, net).get_weights() for m in (model, restored))
        assert len(saved) == len(checkpointed) > 0
        for a, b in zip(saved, checkpointed):
            np.testing.assert_array_equal(a, b)
    assert list_versions(tmp_path / "export") == [1]
    assert not list(checkpoints.glob("*_temp*"))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One epoch of the tiny toy run, exported; tests copy it."""
    root = tmp_path_factory.mktemp("finished")
    config = make_config(root, training={"epochs": 1}, export={"base_dir": str(root / "export")})
    proc = run_cli("train", "--config", str(config))
    assert "Resuming" not in proc.stdout
    return root


def copy_run(finished_run, tmp_path):
    shutil.copytree(finished_run / "run", tmp_path / "run")
    shutil.copytree(finished_run / "export", tmp_path / "export")


def test_divergence_exits_1_naming_step_and_metric_keeping_the_last_good_state(
    finished_run, tmp_path
):
    copy_run(finished_run, tmp_path)
    before = snapshot(tmp_path)
    # Resume for a second epoch with an absurd learning rate: it diverges at once.
    absurd = {"name": "sgd", "learning_rate": 1e30}
    config = make_config(
        tmp_path, training={"epochs": 2}, d_optimizer=absurd, g_optimizer=absurd,
        export={"base_dir": str(tmp_path / "export")},
    )  # fmt: skip
    proc = run_cli("train", "--config", str(config), check=False)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Resuming from checkpoint" in proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("keras-gan train: error:")]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert re.match(
        r"keras-gan train: error: Training diverged at step 2[1-9] \(epoch 2\): [dg]_loss is "
        r"(nan|inf|-inf)\. The last good checkpoint is \S+ckpt-20 \(step 20\)",
        lines[0],
    ), lines[0]
    assert "Traceback" not in proc.stderr
    after = snapshot(tmp_path)
    for kept in [k for k in before if not k.startswith(os.path.join("run", "train"))]:
        assert after[kept] == before[kept], kept  # checkpoints, model.keras, export untouched
    assert not [k for k in after if k not in before and "ckpt" in k]
    assert list_versions(tmp_path / "export") == [1]
    assert Checkpoint(tmp_path / "run" / "checkpoints").latest_step == 20


def test_an_incompatible_checkpoint_exits_2_naming_the_change(finished_run, tmp_path):
    copy_run(finished_run, tmp_path)
    before = snapshot(tmp_path)
    config = make_config(tmp_path, generator={"name": "mlp_generator", "hidden": [32]})
    proc = run_cli("train", "--config", str(config), check=False)
    assert proc.returncode == 2
    assert "does not fit this model" in proc.stderr
    assert "generator.hidden: [16] -> [32]" in proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("keras-gan train: error:")]
    assert len(errors) == 1 and "does not fit" in errors[0]
    assert snapshot(tmp_path) == before


def test_a_finished_run_started_again_writes_nothing(finished_run, tmp_path):
    copy_run(finished_run, tmp_path)
    before = snapshot(tmp_path)
    config = make_config(
        tmp_path, training={"epochs": 1}, export={"base_dir": str(tmp_path / "export")}
    )
    proc = run_cli("train", "--config", str(config))
    assert "Training already complete" in proc.stdout and "at step 20" in proc.stdout
    assert snapshot(tmp_path) == before
    assert list_versions(tmp_path / "export") == [1]


def test_resuming_on_other_data_is_refused_and_fresh_sets_the_checkpoints_aside(
    finished_run, tmp_path
):
    """Another data set size (as when KERAS_GAN_DATA_DIR appears after an offline run):
    one line naming both data sets and --fresh; --fresh renames the old checkpoints
    and trains from step 0, recording the data it saw."""
    copy_run(finished_run, tmp_path)
    before = snapshot(tmp_path)
    config = make_config(
        tmp_path, training={"epochs": 2}, dataset={"num_examples": 4096},
        export={"base_dir": str(tmp_path / "export")},
    )  # fmt: skip
    proc = run_cli("train", "--config", str(config), check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("keras-gan train: error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert "was trained on gaussians_8 train: 2,048 examples from generated" in errors[0]
    assert "this run loads gaussians_8 train: 4,096 examples" in errors[0]
    assert "--fresh" in errors[0] and "--logdir" in errors[0]
    assert snapshot(tmp_path) == before
    proc = run_cli("train", "--config", str(config), "--fresh")
    assert "Started afresh: the earlier checkpoints are now in" in proc.stdout
    assert "Resuming" not in proc.stdout
    assert "Trained on gaussians_8 train: 4,096 examples from generated" in proc.stdout
    aside = [p for p in (tmp_path / "run").iterdir() if ".set-aside-" in p.name]
    assert len(aside) == 1 and latest_step(aside[0]) == 20  # the old run, kept whole
    assert latest_step(tmp_path / "run" / "checkpoints") == 40
    loaded = keras.models.load_model(tmp_path / "run" / "model.keras")
    assert loaded.training_data["num_examples"] == 4096
    metadata = json.loads(
        (tmp_path / "export" / "2" / "assets" / "keras_gan_metadata.json").read_text()
    )
    assert metadata["training_data"]["num_examples"] == 4096
