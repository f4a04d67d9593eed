"""Which ``tf.distribute`` strategy a run trains under, and what each worker writes.

``keras-gan train --strategy NAME`` (config key ``training.strategy``) picks one
of :data:`STRATEGIES`:

* ``default``: TensorFlow's default strategy (one device).
* ``mirrored``: ``tf.distribute.MirroredStrategy`` over this machine's GPUs
  (without a GPU: its logical CPU devices, one unless configured otherwise).
* ``multi_worker``: ``tf.distribute.MultiWorkerMirroredStrategy`` over the
  machines that the ``TF_CONFIG`` environment variable lists, as TensorFlow
  documents it: ``{"cluster": {"worker": ["host:port", ...]}, "task": {"type":
  "worker", "index": i}}`` (a ``"chief"`` job may be listed too). Every worker
  runs the same command with its own ``task``.
* ``tpu``: ``tf.distribute.TPUStrategy`` on the TPU that ``--tpu`` (config key
  ``training.tpu``) names: a ``grpc://host:port`` address, a Cloud TPU name,
  or ``local``. It is built as TensorFlow documents but not tested here (no TPU).

What every replica does (the models' step, :mod:`keras_gan.models.base`):
``training.batch_size`` is the minibatch ``m`` of one replica; one step trains on
a global minibatch of ``m x replicas`` (the data pipeline is batched at
``m x d_steps x replicas``, see :func:`global_batch_size`), the losses are
divided by that global minibatch so the all-reduced gradients are those of its
mean, and each replica draws its own noise: its seed has the replica's global id
(``worker index x local replicas + local replica``, as TensorFlow numbers
replicas in sync) folded in. Batch normalization layers compute their
statistics over the global minibatch (``synchronized=True``,
:func:`synchronize_batch_norm`) unless ``training.sync_batch_norm`` is false.

What every worker writes (TensorFlow's documented pattern for multi-worker
Keras training): all workers run the same callbacks and saves (they may need
collective operations), but only the chief (task ``chief``, or ``worker`` 0
when there is no chief) writes to the configured paths; another worker writes
to ``<path>/workertemp_<index>`` (:func:`write_path`), removed when the run
ends (:func:`remove_worker_paths`). Checkpoints are read by every worker from
the chief's directory (a file system the workers share), so after a failure
the restarted job resumes at the chief's last checkpoint with the exact step.

Example (two processes on one machine, each with its own index)::

    TF_CONFIG='{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]},
                "task": {"type": "worker", "index": 0}}' \\
        keras-gan train --config mnist_dcgan --strategy multi_worker

In Python::

    from keras_gan.distribute import build_strategy, is_chief
    strategy = build_strategy("mirrored")
    with strategy.scope():
        model = keras_gan.training.build_model(config)
    is_chief(strategy)   # True: one machine
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys

#: The strategies of ``--strategy`` / ``training.strategy``, with what they use.
STRATEGIES = {
    "default": "TensorFlow's default strategy: one device",
    "mirrored": "MirroredStrategy: all GPUs of this machine (or its logical CPU devices)",
    "multi_worker": "MultiWorkerMirroredStrategy: the machines of TF_CONFIG",
    "tpu": "TPUStrategy: the TPU named by --tpu",
}

#: Seconds a multi-worker task waits for the other tasks of TF_CONFIG to be up.
DEFAULT_CONNECT_TIMEOUT = 300.0

#: Name of a non-chief worker's temporary directory inside a configured path.
WORKER_TEMP_PREFIX = "workertemp_"

_JOBS = ("chief", "worker")


class DistributeError(ValueError):
    """The strategy cannot be set up as given (an unknown name, a missing or
    malformed ``TF_CONFIG``, a peer that cannot be reached)."""


def check_strategy(name):
    """Validate a strategy name, raising a ``ValueError`` that lists the allowed ones."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; allowed: {sorted(STRATEGIES)}")
    return name


@dataclasses.dataclass(frozen=True)
class Cluster:
    """What ``TF_CONFIG`` says: the address lists of the ``chief`` and ``worker``
    jobs, and this process's task."""

    jobs: dict
    task_type: str
    task_index: int

    @property
    def num_workers(self):
        return sum(len(addresses) for addresses in self.jobs.values())

    @property
    def is_chief(self):
        """TensorFlow's rule: the ``chief`` task, else ``worker`` 0 when there is no chief."""
        if "chief" in self.jobs:
            return self.task_type == "chief"
        return self.task_type == "worker" and self.task_index == 0

    @property
    def id_in_cluster(self):
        """The task's index among all workers (the chief first), as TensorFlow counts."""
        if self.task_type == "chief":
            return 0
        return len(self.jobs.get("chief", ())) + self.task_index

    @property
    def address(self):
        return self.jobs[self.task_type][self.task_index]


def read_tf_config(environ=None):
    """The :class:`Cluster` of ``TF_CONFIG`` (``environ`` defaults to ``os.environ``).

    Raises:
        DistributeError: ``TF_CONFIG`` is not set, is not JSON, or does not
            list this task in a ``chief`` or ``worker`` job of ``host:port``
            addresses (one line naming what is wrong).
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG")
    example = (
        'e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}\''
    )
    if not text or not text.strip():
        raise DistributeError(
            f"--strategy multi_worker reads the cluster from the TF_CONFIG environment "
            f"variable, which is not set; set it on every worker, {example}"
        )
    try:
        data = json.loads(text)
    except ValueError as e:
        raise DistributeError(f"TF_CONFIG is not valid JSON ({e}); {example}") from None
    if not isinstance(data, dict):
        raise DistributeError(f"TF_CONFIG must be a JSON object; {example}")
    cluster, task = data.get("cluster"), data.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise DistributeError(f'TF_CONFIG has no "cluster" object; {example}')
    others = sorted(set(cluster) - set(_JOBS))
    if others:
        raise DistributeError(
            f"TF_CONFIG's cluster has job(s) {others}; MultiWorkerMirroredStrategy takes "
            f"only {list(_JOBS)}"
        )
    jobs = {}
    for job, addresses in cluster.items():
        if (
            not isinstance(addresses, list) or not addresses
            or not all(_is_address(a) for a in addresses)
        ):  # fmt: skip
            raise DistributeError(
                f'TF_CONFIG\'s cluster.{job} must be a list of "host:port" addresses; '
                f"got {addresses!r}"
            )
        jobs[job] = list(addresses)
    if len(jobs.get("chief", ())) > 1:
        raise DistributeError("TF_CONFIG's cluster.chief must list one address")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise DistributeError(
            f'TF_CONFIG has no "task" with a "type" and an "index" (which task this '
            f"process is); {example}"
        )
    task_type, index = task["type"], task["index"]
    if task_type not in jobs:
        raise DistributeError(
            f"TF_CONFIG's task type {task_type!r} is not a job of its cluster ({sorted(jobs)})"
        )
    if (
        isinstance(index, bool)
        or not isinstance(index, int)
        or not 0 <= index < len(jobs[task_type])
    ):
        raise DistributeError(
            f"TF_CONFIG's task index {index!r} is not in 0..{len(jobs[task_type]) - 1} "
            f"(the {task_type} job lists {len(jobs[task_type])} address(es))"
        )
    return Cluster(jobs, task_type, index)


def _is_address(value):
    if not isinstance(value, str):
        return False
    host, sep, port = value.rpartition(":")
    return bool(sep and host and port.isdigit())


def check_environment(name, tpu=None, environ=None):
    """Check, before TensorFlow starts, what strategy ``name`` needs: ``TF_CONFIG``
    for ``multi_worker`` (returns its :class:`Cluster`), a ``tpu`` address for
    ``tpu``. Raises :class:`DistributeError` naming what is missing."""
    check_strategy(name)
    if name == "multi_worker":
        return read_tf_config(environ)
    if name == "tpu" and not tpu:
        raise DistributeError(
            "--strategy tpu needs --tpu ADDRESS (training.tpu): the TPU's grpc://host:port "
            "address, its Cloud TPU name, or 'local'"
        )
    return None


# ------------------------------------------------------------------ building
def build_strategy(name, tpu=None, connect_timeout=DEFAULT_CONNECT_TIMEOUT):
    """The ``tf.distribute.Strategy`` named ``name`` (see :data:`STRATEGIES`).

    Call it before TensorFlow has run any operation: a multi-worker strategy must
    configure the collective operations at program start. For ``multi_worker``,
    a task whose peers are not all up within ``connect_timeout`` seconds prints
    one line naming them and is killed (exit status 137): TensorFlow waits for
    them in native code without a time limit.

    Raises:
        DistributeError: ``TF_CONFIG`` or ``tpu`` is missing or malformed.
    """
    cluster = check_environment(name, tpu)
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy([d.name for d in gpus])
        # Several CPU devices: reduce on one of them. TensorFlow's default there
        # (RING collectives) can pair different all-reduces of the replicas when a
        # step has several independent ones, e.g. synchronized batch norm's
        # ("Shape mismatch in the collective instance").
        return tf.distribute.MirroredStrategy(
            [d.name for d in tf.config.list_logical_devices("CPU")],
            cross_device_ops=tf.distribute.ReductionToOneDevice(),
        )
    if name == "multi_worker":
        with _connect_watchdog(cluster, connect_timeout):
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
            # The first collective: returns when every task has joined.
            tf.function(lambda: strategy.reduce("SUM", strategy.run(tf.ones, ([],)), None))()
        return strategy
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


_WATCHDOG = r"""
import os, select, signal, sys
ready, _, _ = select.select([sys.stdin], [], [], float(sys.argv[2]))
if not ready:
    sys.stderr.write(sys.argv[3] + "\n")
    sys.stderr.flush()
    os.kill(int(sys.argv[1]), signal.SIGKILL)
"""


class _connect_watchdog:
    """Kill this process, after one line on stderr, unless the block ends within
    ``timeout`` seconds (TensorFlow holds the interpreter while it waits for the
    cluster, so the watch runs in a small child process; closing its stdin, or
    this process ending, stops it)."""

    def __init__(self, cluster, timeout):
        self.timeout = timeout
        others = [
            f"{job} {i} ({address})"
            for job, addresses in cluster.jobs.items()
            for i, address in enumerate(addresses)
            if (job, i) != (cluster.task_type, cluster.task_index)
        ]
        self.message = (
            f"keras-gan train: error: {cluster.task_type} {cluster.task_index} "
            f"({cluster.address}) could not reach the other task(s) of TF_CONFIG within "
            f"{timeout:g} s: {', '.join(others)}; start the same command on each of them "
            f"(with its own task index) and check the addresses"
        )
        self._child = None

    def __enter__(self):
        if self.timeout:
            self._child = subprocess.Popen(
                [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(self.timeout),
                 self.message],
                stdin=subprocess.PIPE,
            )  # fmt: skip
        return self

    def __exit__(self, *exc):
        if self._child is not None:
            self._child.stdin.close()
            self._child.wait()
        return False


# ------------------------------------------------------- chief and writing
def num_replicas(strategy):
    return int(strategy.num_replicas_in_sync)


def is_multi_worker(strategy):
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and (
        strategy.cluster_resolver is not None
        and bool(strategy.cluster_resolver.cluster_spec().as_dict())
    )


def task_id(strategy):
    """This worker's ``(type, index)`` (``(None, None)`` on one machine)."""
    if not is_multi_worker(strategy):
        return None, None
    resolver = strategy.cluster_resolver
    return resolver.task_type, int(resolver.task_id)


def is_chief(strategy):
    """Whether this worker writes the run's files (always, on one machine)."""
    if not is_multi_worker(strategy):
        return True
    return bool(strategy.extended.should_checkpoint)


def write_path(path, strategy):
    """Where this worker writes what belongs at ``path``: ``path`` itself for the
    chief, ``<path>/workertemp_<index>`` for another worker (TensorFlow's pattern)."""
    if path is None or is_chief(strategy):
        return path
    return os.path.join(path, f"{WORKER_TEMP_PREFIX}{task_id(strategy)[1]}")


def worker_config(config, strategy):
    """``config`` with the paths this worker writes to: unchanged for the chief; for
    another worker the run, export and checkpoint directories are its temporary
    directories (the checkpoints are still read from the chief's, see
    :func:`keras_gan.training.build_checkpoint`)."""
    if is_chief(strategy):
        return config
    updated = config.model_copy(deep=True)
    updated.logging.logdir = write_path(config.logging.logdir, strategy)
    updated.export.base_dir = write_path(config.export.base_dir, strategy)
    return updated


def remove_worker_paths(config, strategy, checkpoint_directory=None):
    """Remove this worker's temporary directories (nothing for the chief)."""
    if is_chief(strategy):
        return
    for path in (config.logging.logdir, config.export.base_dir, checkpoint_directory):
        temp = write_path(path, strategy)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


# ------------------------------------------------------------ the step
def global_batch_size(batch_size, d_steps, strategy):
    """Examples per ``fit`` step: ``batch_size x d_steps`` for each replica (the
    pipeline yields the global batch; the strategy splits it among replicas)."""
    return int(batch_size) * int(d_steps) * num_replicas(strategy)


def shard_by_data(dataset):
    """``dataset`` sharded among workers by examples (each worker keeps its share
    of every global batch): in-memory data has no files to shard by."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def synchronize_batch_norm(*networks):
    """Have the ``BatchNormalization`` layers of ``networks`` compute their statistics
    over the global minibatch (``synchronized=True``); returns how many were set.
    Call it before the first training step (the layers read it when traced)."""
    import keras

    count = 0
    for net in networks:
        for layer in net._flatten_layers(include_self=False):
            if isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized:
                layer.synchronized = True
                count += 1
    return count


def multi_worker_step_outputs(model):
    """Have ``model``'s ``train_step``/``test_step`` return their metrics with a
    leading axis of 1 under a multi-worker strategy, and return ``model``.

    Keras 3's ``fit`` reduces the step's outputs across workers with
    ``strategy.reduce("MEAN", value, axis=0)``, which refuses the scalars a step
    returns ("Invalid reduction dimension 0 for input with 0 dimensions",
    tensorflow/tensorflow#72388); with a leading axis the reduction gives the
    scalar mean over the replicas. Nothing changes on one machine.
    """
    import tensorflow as tf

    if not is_multi_worker(model.distribute_strategy):
        return model

    def with_axis(step):
        def wrapped(data):
            return tf.nest.map_structure(lambda v: tf.reshape(v, [1]), step(data))

        return wrapped

    model.train_step = with_axis(model.train_step)
    model.test_step = with_axis(model.test_step)
    return model


def weights_fingerprint(model):
    """SHA-256 (hex, first 16 digits) of the generator's and discriminator's weights,
    to check that the workers of a run hold the same model."""
    digest = hashlib.sha256()
    for net in (model.generator, model.discriminator):
        for weight in net.weights:
            digest.update(weight.numpy().tobytes())
    return digest.hexdigest()[:16]
