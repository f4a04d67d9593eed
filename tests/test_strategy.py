"""keras-gan train --strategy: TF_CONFIG checks, MirroredStrategy over two logical
CPU devices through the CLI, and two real MultiWorkerMirroredStrategy worker
processes on 127.0.0.1 (a killed worker, a restart, an unreachable peer).

Logical devices and the collectives must be configured before TensorFlow runs
anything, so the distributed runs are fresh subprocesses.
"""

import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import REPO

from keras_gan import distribute
from keras_gan.cli import main

TINY = os.path.join(REPO, "tests", "configs", "tiny_toy.yaml")


def _env(**extra):
    path = REPO + os.pathsep + os.environ.get("PYTHONPATH", "")
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    return dict(env, PYTHONPATH=path, TF_CPP_MIN_LOG_LEVEL="3", **extra)


# ------------------------------------------------------------- TF_CONFIG
WORKERS = {"worker": ["127.0.0.1:2001", "127.0.0.1:2002"]}


@pytest.mark.parametrize(
    "text, expected",
    [
        (None, "TF_CONFIG environment variable, which is not set"),
        ('{"cluster": {"worker": ["a:1"]}, "task": ', "TF_CONFIG is not valid JSON"),
        (json.dumps({"cluster": WORKERS}), 'has no "task"'),
        (json.dumps({"task": {"type": "worker", "index": 0}}), 'no "cluster"'),
        (json.dumps({"cluster": WORKERS, "task": {"type": "worker", "index": 2}}), "0..1"),
        (json.dumps({"cluster": WORKERS, "task": {"type": "ps", "index": 0}}), "'ps'"),
        (json.dumps({"cluster": {"worker": ["nohost"]}, "task": {"type": "worker", "index": 0}}),
         '"host:port"'),
        (json.dumps({"cluster": {**WORKERS, "ps": ["h:1"]}, "task": {"type": "worker",
                                                                  "index": 0}}), "['ps']"),
    ],
)  # fmt: skip
def test_a_wrong_tf_config_is_one_line_naming_the_problem(text, expected):
    environ = {} if text is None else {"TF_CONFIG": text}
    with pytest.raises(distribute.DistributeError) as info:
        distribute.read_tf_config(environ)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_tf_config_chief_rule_and_ids():
    cluster = distribute.read_tf_config(
        {"TF_CONFIG": json.dumps({"cluster": WORKERS, "task": {"type": "worker", "index": 1}})}
    )
    assert (cluster.num_workers, cluster.is_chief, cluster.id_in_cluster) == (2, False, 1)
    with_chief = {"chief": ["127.0.0.1:2000"], **WORKERS}
    task = {"type": "worker", "index": 0}
    cluster = distribute.read_tf_config(
        {"TF_CONFIG": json.dumps({"cluster": with_chief, "task": task})}
    )
    assert (cluster.num_workers, cluster.is_chief, cluster.id_in_cluster) == (3, False, 1)


def test_cli_bad_strategy_or_environment_is_one_line_and_status_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    logdir = str(tmp_path / "run")
    cases = [
        (["--strategy", "bogus"], "allowed: ['default', 'mirrored', 'multi_worker', 'tpu']"),
        (["--strategy", "multi_worker"], "TF_CONFIG environment variable, which is not set"),
        (["--strategy", "tpu"], "--strategy tpu needs --tpu ADDRESS"),
    ]
    for flags, expected in cases:
        status = main(["train", "--config", TINY, "--logdir", logdir, *flags])
        err = capsys.readouterr().err.strip()
        assert status == 2 and expected in err, err
        assert len(err.splitlines()) <= 2 and "Traceback" not in err  # a config error: 2 lines
    monkeypatch.setenv("TF_CONFIG", "{not json")
    assert main(["train", "--config", TINY, "--logdir", logdir, "--strategy", "multi_worker"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("keras-gan train: error: TF_CONFIG is not valid JSON"), err
    assert not os.path.exists(logdir)  # nothing written


def test_the_connect_watchdog_kills_a_task_that_waits_too_long():
    """TensorFlow waits for the cluster in native code holding the interpreter; the
    watchdog (a child process) prints one line naming the peers and kills the task."""
    script = textwrap.dedent(
        """
        import sys, time
        from keras_gan.distribute import Cluster, _connect_watchdog
        cluster = Cluster({"worker": ["127.0.0.1:2001", "127.0.0.1:2002"]}, "worker", 0)
        with _connect_watchdog(cluster, 30):
            pass
        print("joined in time", flush=True)
        with _connect_watchdog(cluster, float(sys.argv[1])):
            time.sleep(120)
        """
    )
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script, "1"], capture_output=True, text=True, timeout=60,
        env=_env(),
    )  # fmt: skip
    assert proc.returncode == -signal.SIGKILL
    assert proc.stdout.strip() == "joined in time"
    assert proc.stderr.strip().splitlines() == [
        "keras-gan train: error: worker 0 (127.0.0.1:2001) could not reach the other task(s) "
        "of TF_CONFIG within 1 s: worker 1 (127.0.0.1:2002); start the same command on each "
        "of them (with its own task index) and check the addresses"
    ]
    assert time.monotonic() - start < 30


# ------------------------------------------------------------- mirrored
MIRRORED = textwrap.dedent(
    """
    import json, os, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from keras_gan import distribute, models
    from keras_gan.cli import main
    from keras_gan.config import load_config
    from keras_gan.training import build_dataset

    tiny, logdir, export = sys.argv[1:4]
    out = {"cli": main(["train", "--config", tiny, "--strategy", "mirrored", "--logdir", logdir,
                        "--export-dir", export, "--epochs", "1", "--steps-per-epoch", "6",
                        "--checkpoint-every", "3"])}
    strategy = distribute.build_strategy("mirrored")
    out["replicas"] = strategy.num_replicas_in_sync
    out["global_batch"] = int(next(iter(build_dataset(load_config(tiny), strategy))).shape[0])

    # One step of a 2-replica run and of a 1-replica run on the same global batch of 16
    # with the same noise: replica r takes rows [8r, 8r + 8) of one noise table.
    table = tf.constant(np.random.default_rng(1).normal(size=(16, 2)), tf.float32)

    class SameNoise(models.GAN):
        def draw_noise(self, n):
            ctx = tf.distribute.get_replica_context()
            return tf.slice(table, [ctx.replica_id_in_sync_group * n, 0], [n, 2])

    def build(strategy, sync, weights=None):
        with strategy.scope():
            g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8),
                                  keras.layers.BatchNormalization(), keras.layers.ReLU(),
                                  keras.layers.Dense(2)])
            d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(1)])
            gan = SameNoise(g, d, latent_dim=2, seed=0)
            gan.compile(keras.optimizers.SGD(0.5), keras.optimizers.SGD(0.5),
                        steps_per_execution=1)
        if weights is not None:
            g.set_weights(weights[0])
            d.set_weights(weights[1])
        if sync:
            distribute.synchronize_batch_norm(g, d)
        return gan

    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32") * 2 + 1
    ds = tf.data.Dataset.from_tensor_slices(x).batch(16)
    one = build(tf.distribute.get_strategy(), sync=False)
    start = (one.generator.get_weights(), one.discriminator.get_weights())
    runs = {"one": one, "two": build(strategy, True, start),
            "two_local": build(strategy, False, start)}
    for name, gan in runs.items():
        out[name + "_history"] = {k: float(v[0]) for k, v in gan.fit(ds, verbose=0).history.items()}

    def flat(gan):
        return np.concatenate([w.ravel() for w in gan.generator.get_weights()
                               + gan.discriminator.get_weights()])
    out["two_vs_one"] = float(np.abs(flat(runs["two"]) - flat(one)).max())
    out["two_local_vs_one"] = float(np.abs(flat(runs["two_local"]) - flat(one)).max())
    out["moved"] = float(np.abs(flat(one) - np.concatenate(
        [w.ravel() for w in start[0] + start[1]])).max())

    # The package's GAN draws different noise on each replica in the same step.
    with strategy.scope():
        gan = models.GAN(runs["one"].generator, runs["one"].discriminator, latent_dim=2, seed=0)
    noise = strategy.experimental_local_results(
        tf.function(lambda: strategy.run(lambda: gan.draw_noise(4)))())
    out["noise_shapes"] = [list(n.shape) for n in noise]
    out["noise_gap"] = float(np.abs(noise[0].numpy() - noise[1].numpy()).min())
    print("RESULT " + json.dumps(out))
    """
)


@pytest.mark.slow
def test_mirrored_over_two_cpu_devices_through_the_cli(tmp_path):
    logdir, export = str(tmp_path / "run"), str(tmp_path / "export")
    proc = subprocess.run(
        [sys.executable, "-c", MIRRORED, TINY, logdir, export],
        capture_output=True, text=True, timeout=600, env=_env(), cwd=REPO,
    )  # fmt: skip
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT ") :])
    assert out["cli"] == 0 and out["replicas"] == 2
    # batch_size 32 per replica, d_steps 1: the pipeline yields 32 x 1 x 2.
    assert out["global_batch"] == 64
    with open(os.path.join(logdir, "checkpoints", "completed.json")) as f:
        assert json.load(f)["step"] == 6
    assert sorted(os.path.basename(p) for p in glob.glob(f"{logdir}/checkpoints/*.index")) == [
        "ckpt-3.index",
        "ckpt-6.index",
    ]
    assert os.path.isfile(os.path.join(logdir, "model.keras"))
    assert os.path.isfile(os.path.join(export, "1", "saved_model.pb"))
    # Same global batch, same noise: the same step (losses divided by the global
    # minibatch, all-reduced gradients, batch-norm statistics over both replicas).
    assert out["moved"] > 1e-2
    assert out["two_vs_one"] < 2e-5
    for key in ("d_loss", "g_loss"):
        assert out["two_history"][key] == pytest.approx(out["one_history"][key], rel=1e-5)
    # Without synchronized batch norm each replica normalizes by its own half.
    assert out["two_local_vs_one"] > 1e-3
    assert out["noise_shapes"] == [[4, 2], [4, 2]] and out["noise_gap"] > 0


# --------------------------------------------------------- multi-worker
def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _worker(ports, index, args, log):
    tf_config = json.dumps(
        {
            "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
            "task": {"type": "worker", "index": index},
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "keras_gan", "train", *args],
        stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=REPO,
        env=_env(TF_CONFIG=tf_config),
    )  # fmt: skip


def _read(path):
    with open(path) as f:
        return f.read()


def _wait(proc, timeout):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


@pytest.mark.slow
def test_two_workers_killed_worker_restart_and_an_unreachable_peer(tmp_path):
    """Two worker processes: worker 1 is SIGKILLed after the checkpoint of step 10,
    worker 0 stops with one line, both are started again with the same command and
    finish at exactly 3 x 20 generator updates with identical weights; only the
    chief's files remain. Meanwhile a worker whose peer never starts gives up."""
    import keras

    logdir, export = str(tmp_path / "run"), str(tmp_path / "export")
    ports = _free_ports(2)
    args = ["--config", TINY, "--logdir", logdir, "--export-dir", export,
            "--strategy", "multi_worker", "--epochs", "3", "--steps-per-epoch", "20",
            "--checkpoint-every", "5", "--connect-timeout", "240"]  # fmt: skip
    logs = [str(tmp_path / f"w{i}.log") for i in range(2)]
    workers = [_worker(ports, i, args, logs[i]) for i in range(2)]
    lone_args = ["--config", TINY, "--logdir", str(tmp_path / "lone"),
                 "--strategy", "multi_worker", "--connect-timeout", "8"]  # fmt: skip
    lone = _worker(_free_ports(2), 0, lone_args, str(tmp_path / "lone.log"))
    try:
        deadline = time.monotonic() + 400
        while not os.path.exists(os.path.join(logdir, "checkpoints", "ckpt-10.index")):
            assert time.monotonic() < deadline, _read(logs[0])[-3000:]
            assert workers[1].poll() is None, _read(logs[1])[-3000:]
            time.sleep(0.2)
        assert workers[1].poll() is None  # mid-run
        workers[1].send_signal(signal.SIGKILL)
        assert _wait(workers[1], 60) == -signal.SIGKILL
        status = _wait(workers[0], 180)
        last = _read(logs[0]).strip().splitlines()[-1]
        assert status == 1 and last.startswith(
            "keras-gan train: error: a worker of TF_CONFIG stopped or cannot be reached"
        ), last
        assert not os.path.exists(os.path.join(logdir, "checkpoints", "completed.json"))

        assert _wait(lone, 300) == -signal.SIGKILL
        assert "could not reach the other task(s) of TF_CONFIG within 8 s: worker 1" in _read(
            str(tmp_path / "lone.log")
        )

        workers = [_worker(ports, i, args, logs[i]) for i in range(2)]
        statuses = [_wait(w, 400) for w in workers]
    finally:
        for proc in [*workers, lone]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    outputs = [_read(log) for log in logs]
    assert statuses == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    resumed = [re.search(r"Resuming from checkpoint \S+ at step (\d+)", o) for o in outputs]
    assert all(resumed) and resumed[0].group(1) == resumed[1].group(1)
    assert int(resumed[0].group(1)) >= 10 and int(resumed[0].group(1)) % 5 == 0
    done = [re.search(r"Worker worker (\d) done at step (\d+); weights fingerprint (\w+)", o)
            for o in outputs]  # fmt: skip
    assert [m.group(1) for m in done] == ["0", "1"]
    assert [m.group(2) for m in done] == ["60", "60"]
    assert done[0].group(3) == done[1].group(3)  # identical weights on both workers
    with open(os.path.join(logdir, "checkpoints", "completed.json")) as f:
        assert json.load(f)["step"] == 60
    # Only the chief's files: its model (the same weights), export, logs; no temporaries.
    model = keras.saving.load_model(os.path.join(logdir, "model.keras"))
    assert distribute.weights_fingerprint(model) == done[0].group(3)
    assert os.listdir(export) == ["1"]
    assert glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    assert glob.glob(str(tmp_path / "**" / "workertemp_*"), recursive=True) == []
