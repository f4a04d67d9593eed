"""Request batching: concurrent generator requests merged into one call.

``keras-gan serve --enable_batching [--batching_parameters_file FILE]`` takes
TF Serving's flags and its ``BatchingParameters`` text format::

    max_batch_size { value: 64 }
    batch_timeout_micros { value: 0 }
    max_enqueued_batches { value: 100 }
    num_batch_threads { value: 1 }
    allowed_batch_sizes: 16
    allowed_batch_sizes: 64

Concurrent ``serving_default`` (``z`` [, ``labels``]) and ``sample``
(``num_samples``, ``seed`` [, ``labels``]) requests for the same model version
are queued together and run as one ``serving_default`` call on the stacked
latent vectors; the rows are split back to each request. A ``sample`` request's
latent vectors are drawn from its own seed with
:func:`keras_gan.noise.stateless_latent_noise`, exactly as the exported graph
draws them, so merging changes no value: **every answer is bit-identical to
the answer the request gets alone.** That is guaranteed by checks, not assumed:

* A CPU matrix product may round a row differently depending on how many rows
  it is computed with (oneDNN computes one row with a matrix-vector kernel).
  When a version is first asked for, a background probe runs its generator on
  every request size ``s <= max_batch_size`` and on every batch size a merged
  call can have, at both ends of the batch, and compares the rows bit for bit.
  Only the sizes that agree are merged; the others run alone, as do all
  requests until the probe finished.
* ``sample`` requests are merged only when ``sample(n, seed)`` equals
  ``serving_default`` on the server-side noise for probe seeds, and the two
  signatures have the same outputs (a sequence generator's ``sample`` adds
  ``token_ids``: its ``sample`` requests run alone).
* A batch that holds one request runs that request's own signature.
* If a merged call fails, each of its requests is run alone (and gets its own
  answer or error).

Requests larger than ``max_batch_size`` run alone (TF Serving would refuse
them). ``allowed_batch_sizes`` pads a merged batch with zero rows up to the
next allowed size, as TF Serving does. A queue holding more than
``max_enqueued_batches * max_batch_size`` rows refuses new requests with
``UNAVAILABLE``. ``num_batch_threads`` calls run at once; they run in the
request threads themselves (a request that finds a free slot runs the batch of
its queue: no hand-off to another thread, so a lone request costs what it costs
unbatched). ``batch_timeout_micros`` is how long the oldest request of a queue
waits for others while a slot is free; with 0 a free slot takes what is
queued at once, so requests are merged only while the slots are busy (no added
latency at low load).

Example:

```python
from keras_gan.serving.batching import Batcher, parse_batching_parameters

params = parse_batching_parameters("max_batch_size { value: 32 }")
batcher = Batcher(params)          # keras-gan serve creates it for --enable_batching
batcher.close()
```
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time

import numpy as np
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    text_format,
    wrappers_pb2,
)

from keras_gan.serving.config import read_flag_file
from keras_gan.serving.errors import ServingError

logger = logging.getLogger("keras_gan.serving")

DEFAULT_SIGNATURE = "serving_default"
SAMPLE_SIGNATURE = "sample"
_PROBE_SEEDS = (0, 2**40 + 7)


class BatchingConfigError(ValueError):
    """The batching parameters file is invalid; the message says why."""


# ------------------------------------------------------------------ parameters
def _batching_message_class():
    """TF Serving's ``tensorflow.serving.BatchingParameters`` message (the proto
    is not shipped with ``tensorflow-serving-api``: built from its field list)."""
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    f = descriptor_pb2.FileDescriptorProto(
        name="keras_gan/batching_parameters.proto",
        package="tensorflow.serving",
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"],
    )
    m = f.message_type.add(name="BatchingParameters")
    fields = [
        ("max_batch_size", 1, ".google.protobuf.Int64Value"),
        ("batch_timeout_micros", 2, ".google.protobuf.Int64Value"),
        ("max_enqueued_batches", 3, ".google.protobuf.Int64Value"),
        ("num_batch_threads", 4, ".google.protobuf.Int64Value"),
        ("thread_pool_name", 5, ".google.protobuf.StringValue"),
    ]
    for name, number, type_name in fields:
        m.field.add(
            name=name,
            number=number,
            type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
            type_name=type_name,
            label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
        )
    m.field.add(
        name="allowed_batch_sizes",
        number=6,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
    )
    m.field.add(
        name="pad_variable_length_inputs",
        number=7,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    pool.Add(f)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")
    )


_BatchingParametersProto = _batching_message_class()
SUPPORTED_FIELDS = (
    "max_batch_size",
    "batch_timeout_micros",
    "max_enqueued_batches",
    "num_batch_threads",
    "allowed_batch_sizes",
    "thread_pool_name",
    "pad_variable_length_inputs",
)


@dataclasses.dataclass(frozen=True)
class BatchingParameters:
    """The batching settings (TF Serving's ``BatchingParameters``).

    The defaults were chosen from the grid of ``benchmarks/serving.py``
    (see BENCHMARKS.md).
    """

    max_batch_size: int = 64
    batch_timeout_micros: int = 0
    max_enqueued_batches: int = 100
    num_batch_threads: int = 1
    allowed_batch_sizes: tuple = ()

    def __post_init__(self):
        checks = (
            ("max_batch_size", 1, 1 << 20),
            ("batch_timeout_micros", 0, 60_000_000),
            ("max_enqueued_batches", 1, 1 << 20),
            ("num_batch_threads", 1, 256),
        )
        for name, lo, hi in checks:
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise BatchingConfigError(f"{name} must be in [{lo}, {hi}]; got {value}.")
        sizes = tuple(int(s) for s in self.allowed_batch_sizes)
        if sizes:
            if any(s < 1 for s in sizes) or any(b <= a for a, b in zip(sizes, sizes[1:])):
                raise BatchingConfigError(
                    f"allowed_batch_sizes must be positive and increasing; got {list(sizes)}."
                )
            if sizes[-1] != self.max_batch_size:
                raise BatchingConfigError(
                    f"the last of allowed_batch_sizes ({sizes[-1]}) must equal max_batch_size "
                    f"({self.max_batch_size}), as in TF Serving."
                )
        object.__setattr__(self, "allowed_batch_sizes", sizes)

    def describe(self):
        sizes = f", allowed_batch_sizes {list(self.allowed_batch_sizes)}" * bool(
            self.allowed_batch_sizes
        )
        return (
            f"max_batch_size {self.max_batch_size}, batch_timeout_micros "
            f"{self.batch_timeout_micros}, max_enqueued_batches {self.max_enqueued_batches}, "
            f"num_batch_threads {self.num_batch_threads}{sizes}"
        )


def parse_batching_parameters(text):
    """:class:`BatchingParameters` from TF Serving's text format (unset fields
    keep their defaults). Unknown fields and impossible values raise
    :class:`BatchingConfigError`."""
    message = _BatchingParametersProto()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as e:
        raise BatchingConfigError(
            f"not a valid BatchingParameters text proto: {e} (fields: {list(SUPPORTED_FIELDS)})"
        ) from None
    if message.pad_variable_length_inputs:
        raise BatchingConfigError(
            "pad_variable_length_inputs: true is not supported (a generator's inputs have "
            "fixed shapes); remove it."
        )
    kwargs = {}
    for name in ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches"):
        if message.HasField(name):
            kwargs[name] = getattr(message, name).value
    if message.HasField("num_batch_threads"):
        kwargs["num_batch_threads"] = message.num_batch_threads.value
    if message.allowed_batch_sizes:
        kwargs["allowed_batch_sizes"] = tuple(message.allowed_batch_sizes)
    return BatchingParameters(**kwargs)


def load_batching_parameters(path):
    """Read ``--batching_parameters_file`` (``None``: the defaults)."""
    if not path:
        return BatchingParameters()
    return read_flag_file(
        path, "batching parameters file", parse_batching_parameters, BatchingConfigError
    )


# ------------------------------------------------------------------ plans
@dataclasses.dataclass
class _Task:
    signature: object  # the request's own signature
    arrays: dict  # the request's inputs
    rows: int
    z: np.ndarray | None  # serving_default's z; None: drawn from ``seed`` if merged
    labels: np.ndarray | None
    output_names: tuple
    seed: tuple | None = None  # (latent_dim, noise, seed) of a sample request
    enqueued: float = dataclasses.field(default_factory=time.monotonic)
    done: threading.Event = dataclasses.field(default_factory=threading.Event)
    wake: threading.Event = dataclasses.field(default_factory=threading.Event)
    elected: bool = False  # asked to run the next batch
    result: dict | None = None
    error: BaseException | None = None
    merged: int = 1  # requests in the call that answered this one

    def latent_vectors(self):
        """The request's ``z`` (a ``sample`` request's is drawn only when merged)."""
        if self.z is None:
            latent_dim, noise, seed = self.seed
            self.z = _noise(self.rows, latent_dim, seed, noise)
        return self.z

    def wait(self):
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.result

    def finish(self, result=None, error=None, merged=1):
        self.result, self.error, self.merged = result, error, merged
        self.done.set()
        self.wake.set()


@dataclasses.dataclass
class _Probe:
    """What the probe of one loaded version found."""

    mergeable_sizes: frozenset = frozenset()
    sample_ok: bool = False
    done: bool = False


def _run(signature, arrays):
    from keras_gan.serving.predict import run_signature

    return run_signature(signature, arrays)


def _target(loaded):
    """``serving_default`` when it takes ``z`` (and ``labels`` for conditional models)."""
    target = loaded.signatures.get(DEFAULT_SIGNATURE)
    if target is None:
        return None
    conditional = loaded.num_classes is not None
    if set(target.inputs) != ({"z", "labels"} if conditional else {"z"}):
        return None
    return target


def _latent(loaded):
    meta = loaded.metadata or {}
    latent_dim, noise = meta.get("latent_dim"), meta.get("noise", "normal")
    if not isinstance(latent_dim, int) or isinstance(latent_dim, bool) or latent_dim < 1:
        return None
    if noise not in ("normal", "uniform"):
        return None
    return latent_dim, noise


_NOISE_FUNCTIONS = {}
_NOISE_LOCK = threading.Lock()


def _noise_function(latent_dim, noise):
    """One graph that draws the latent vectors of several requests (sizes,
    seeds) with :func:`keras_gan.noise.stateless_latent_noise`, the exported
    graph's own draw: one call per batch instead of several eager ops per
    request."""
    key = (latent_dim, noise)
    with _NOISE_LOCK:
        function = _NOISE_FUNCTIONS.get(key)
        if function is None:
            import tensorflow as tf

            from keras_gan.noise import stateless_latent_noise

            @tf.function(
                input_signature=[
                    tf.TensorSpec([None], tf.int32),
                    tf.TensorSpec([None], tf.int64),
                ]
            )
            def function(sizes, seeds):
                parts = tf.TensorArray(
                    tf.float32, size=tf.size(sizes), infer_shape=False,
                    element_shape=tf.TensorShape([None, latent_dim]),
                )  # fmt: skip
                for i in tf.range(tf.size(sizes)):
                    z = stateless_latent_noise(sizes[i], latent_dim, seeds[i], noise)
                    parts = parts.write(i, tf.cast(z, tf.float32))
                return parts.concat()

            _NOISE_FUNCTIONS[key] = function
    return function


def _batch_noise(latent_dim, noise, sizes, seeds):
    """The stacked latent vectors of requests of ``sizes`` drawn from ``seeds``."""
    function = _noise_function(latent_dim, noise)
    return function(np.asarray(sizes, np.int32), np.asarray(seeds, np.int64)).numpy()


def _noise(n, latent_dim, seed, noise):
    return _batch_noise(latent_dim, noise, [n], [seed])


class Batcher:
    """Merges concurrent requests (see the module doc).

    Args:
        params: :class:`BatchingParameters`.
        on_batch: optional ``on_batch(requests, rows, seconds)`` called after
            each merged call (metrics).
    """

    def __init__(self, params=None, on_batch=None):
        self.params = params or BatchingParameters()
        self._on_batch = on_batch
        self._cond = threading.Condition()
        self._queues = collections.OrderedDict()  # key -> deque of tasks
        self._rows = collections.Counter()
        self._closed = False
        self._executing = 0  # batches being run (at most num_batch_threads)
        self._probe_lock = threading.Lock()

    @property
    def waiting_threads(self):
        """Request threads that may wait on batches at once (size the request pool)."""
        return min(512, self.params.max_batch_size * (self.params.num_batch_threads + 1))

    def close(self):
        """Refuse new requests (queued ones are still answered)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # ------------------------------------------------------------ requests
    def run(self, loaded, key, signature, arrays):
        """The outputs of ``signature`` on ``arrays``, merged with concurrent
        requests when that is known to change nothing."""
        task = self._plan(loaded, key, signature, arrays)
        if task is None:
            return _run(signature, arrays)
        queue_key = (loaded.name, loaded.version, id(loaded))
        limit = self.params.max_enqueued_batches * self.params.max_batch_size
        with self._cond:
            if self._closed:
                raise ServingError("UNAVAILABLE", "The server is shutting down.")
            if self._rows[queue_key] + task.rows > limit:
                raise ServingError(
                    "UNAVAILABLE",
                    f"The batch scheduling queue of {loaded.name} version {loaded.version} is "
                    f"full ({self._rows[queue_key]} rows queued, max_enqueued_batches * "
                    f"max_batch_size = {limit}); retry later.",
                )
            queue = self._queues.get(queue_key)
            if queue is None:
                queue = self._queues[queue_key] = (loaded, collections.deque())
            queue[1].append(task)
            self._rows[queue_key] += task.rows
        self._serve(task)
        return task.wait()

    def _plan(self, loaded, key, signature, arrays):
        """A task when this request may be merged, else ``None`` (run alone)."""
        if key not in (DEFAULT_SIGNATURE, SAMPLE_SIGNATURE):
            return None
        probe = self._probe(loaded)
        if probe is None or not probe.mergeable_sizes:
            return None
        target = _target(loaded)
        labels = arrays.get("labels")
        outputs = tuple(signature.outputs)
        if key == DEFAULT_SIGNATURE:
            z = arrays.get("z")
            if z is None or z.ndim != 2 or int(z.shape[0]) not in probe.mergeable_sizes:
                return None
            return _Task(signature, arrays, int(z.shape[0]), z, labels, outputs)
        if not probe.sample_ok or set(signature.outputs) != set(target.outputs):
            return None
        if np.ndim(arrays.get("num_samples")) != 0 or np.ndim(arrays.get("seed")) != 0:
            return None
        n = int(arrays["num_samples"])
        if n not in probe.mergeable_sizes:
            return None
        latent_dim, noise = _latent(loaded)
        seed = (latent_dim, noise, int(arrays["seed"]))
        return _Task(signature, arrays, n, None, labels, outputs, seed=seed)

    # ------------------------------------------------------------ probe
    def _probe(self, loaded):
        """The probe result of ``loaded`` (``None`` while it runs, in the background)."""
        probe = getattr(loaded, "_batching_probe", None)
        if probe is not None:
            return probe if probe.done else None
        with self._probe_lock:
            if getattr(loaded, "_batching_probe", None) is None:
                loaded._batching_probe = _Probe()
                threading.Thread(
                    target=self._run_probe, args=(loaded,), name="batch-probe", daemon=True
                ).start()
        return None

    def candidate_batch_sizes(self):
        """Every size a merged call can have."""
        if self.params.allowed_batch_sizes:
            return [s for s in self.params.allowed_batch_sizes if s >= 2]
        return list(range(2, self.params.max_batch_size + 1))

    def _run_probe(self, loaded):
        probe = loaded._batching_probe
        start = time.perf_counter()
        try:
            sizes, sample_ok = probe_version(
                loaded, self.params.max_batch_size, self.candidate_batch_sizes()
            )
        except Exception as e:  # a probe failure only disables merging for this version
            logger.warning(
                "batching disabled for %s version %d: the probe failed: %s",
                loaded.name,
                loaded.version,
                e,
            )
            sizes, sample_ok = frozenset(), False
        probe.mergeable_sizes, probe.sample_ok = sizes, sample_ok
        probe.done = True
        largest = max(self.candidate_batch_sizes(), default=0)
        possible = set(range(1, largest))  # sizes that a larger merged call can hold
        refused = sorted(possible - set(sizes))
        logger.info(
            "batching %s version %d: %d of %d request sizes merge bit-exactly%s; sample %s "
            "(probe %.2f s)",
            loaded.name,
            loaded.version,
            len(sizes),
            len(possible),
            f" (run alone: {_ranges(refused)})" if refused else "",
            "merged" if sample_ok else "runs alone",
            time.perf_counter() - start,
        )

    # ------------------------------------------------------------ running batches
    def _serve(self, task):
        """Wait until ``task`` is answered, running ready batches meanwhile
        whenever fewer than ``num_batch_threads`` run: the request threads are
        the batch threads, so a lone request runs in its own thread, and a
        batch is run by one of the requests waiting for it. A finished batch
        wakes only its requests and, when requests are queued, the oldest of
        them to run the next batch (no thundering herd)."""
        while True:
            item, wait = None, None
            with self._cond:
                task.wake.clear()
                if task.done.is_set():
                    return
                if task.elected or self._executing < self.params.num_batch_threads:
                    task.elected = False
                    item, wait = self._take_ready()
                    if item is not None:
                        self._executing += 1
            if item is None:
                task.wake.wait(wait)
                continue
            loaded, batch = item
            try:
                self._process(loaded, batch)
            except BaseException as e:  # never leave a request waiting
                logger.exception("batch failed")
                for other in batch:
                    if not other.done.is_set():
                        other.finish(error=e)
            finally:
                with self._cond:
                    self._executing -= 1
                    waiting = (t for _, ts in self._queues.values() for t in ts if not t.elected)
                    successor = next(waiting, None)
                    if successor is not None:
                        successor.elected = True
                        successor.wake.set()

    def _take_ready(self):
        """``((loaded, batch), None)`` for a ready queue (full, or its oldest
        request waited ``batch_timeout_micros``), else ``(None, seconds until
        one is)``. Called with the lock held."""
        timeout = self.params.batch_timeout_micros / 1e6
        max_rows = self.params.max_batch_size
        now = time.monotonic()
        wait = None
        for queue_key, (loaded, tasks) in self._queues.items():
            if not tasks:
                continue
            age = now - tasks[0].enqueued
            if self._rows[queue_key] >= max_rows or age >= timeout:
                batch, rows = [], 0
                while tasks and rows + tasks[0].rows <= max_rows:
                    task = tasks.popleft()
                    batch.append(task)
                    rows += task.rows
                self._rows[queue_key] -= rows
                self._queues.move_to_end(queue_key)  # round robin between models
                if not tasks:
                    del self._queues[queue_key]
                    del self._rows[queue_key]
                return (loaded, batch), None
            left = timeout - age
            wait = left if wait is None else min(wait, left)
        return None, wait

    def _process(self, loaded, batch):
        if len(batch) == 1:
            task = batch[0]
            try:
                task.finish(_run(task.signature, task.arrays))
            except ServingError as e:
                task.finish(error=e)
            return
        target = _target(loaded)
        rows = sum(t.rows for t in batch)
        size = next((s for s in self.params.allowed_batch_sizes if s >= rows), rows)
        drawn = [t for t in batch if t.z is None]
        if drawn:  # the sample requests' latent vectors, in one call
            latent_dim, noise, _ = drawn[0].seed
            z = _batch_noise(latent_dim, noise, [t.rows for t in drawn], [t.seed[2] for t in drawn])
            offsets = np.cumsum([0] + [t.rows for t in drawn])
            for t, lo, hi in zip(drawn, offsets[:-1], offsets[1:]):
                t.z = z[lo:hi]
        zs = [t.z for t in batch]
        z = np.concatenate(zs + [np.zeros((size - rows, zs[0].shape[1]), np.float32)])
        inputs = {"z": z}
        if "labels" in target.inputs:
            pad = np.zeros(size - rows, np.int32)
            inputs["labels"] = np.concatenate([t.labels for t in batch] + [pad]).astype(np.int32)
        start = time.perf_counter()
        try:
            outputs = _run(target, inputs)
        except ServingError:
            # Cannot happen for checked requests; each request then gets its own answer.
            for task in batch:
                try:
                    task.finish(_run(task.signature, task.arrays))
                except ServingError as e:
                    task.finish(error=e)
            return
        seconds = time.perf_counter() - start
        offset = 0
        for task in batch:
            part = {k: outputs[k][offset : offset + task.rows] for k in task.output_names}
            task.finish(part, merged=len(batch))
            offset += task.rows
        if self._on_batch is not None:
            self._on_batch(loaded, len(batch), size, seconds)


def _ranges(values):
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"``."""
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(str(start) if start == v else f"{start}-{v}")
            start = None
    return ", ".join(parts)


def probe_version(loaded, max_batch_size, batch_sizes):
    """``(mergeable request sizes, sample merges)`` of a loaded version.

    A request size ``s`` is mergeable when the generator's rows computed in a
    call of ``s`` rows equal, bit for bit, the same rows computed inside every
    call size of ``batch_sizes`` larger than ``s``, at the start and at the end
    of the batch. ``sample`` merges when, for probe seeds, ``sample(n, seed)``
    equals ``serving_default`` on the noise drawn on the server.
    """
    target = _target(loaded)
    latent = _latent(loaded)
    if target is None or latent is None:
        return frozenset(), False
    latent_dim, noise = latent
    conditional = "labels" in target.inputs
    num_classes = loaded.num_classes or 1
    total = max([max_batch_size, *batch_sizes])
    rng = np.random.default_rng(0)
    z_all = rng.standard_normal((total, latent_dim)).astype(np.float32)
    labels_all = (np.arange(total) % num_classes).astype(np.int32)

    def gen(lo, hi):
        inputs = {"z": z_all[lo:hi]}
        if conditional:
            inputs["labels"] = labels_all[lo:hi]
        return _run(target, inputs)

    def equal(a, b):
        return all(np.array_equal(a[k], b[k]) for k in a)

    def rows(out, lo, hi):
        return {k: v[lo:hi] for k, v in out.items()}

    heads = {m: gen(0, m) for m in batch_sizes}  # rows 0..m-1
    tails = {m: gen(total - m, total) for m in batch_sizes}  # rows total-m..total-1
    sizes = set()
    for s in range(1, max_batch_size + 1):
        larger = [m for m in batch_sizes if m > s]
        if not larger:
            continue
        head, tail = gen(0, s), gen(total - s, total)
        if all(
            equal(head, rows(heads[m], 0, s)) and equal(tail, rows(tails[m], m - s, m))
            for m in larger
        ):
            sizes.add(s)
    sample = loaded.signatures.get(SAMPLE_SIGNATURE)
    sample_ok = sample is not None and set(sample.outputs) == set(target.outputs)
    if sample_ok:
        for n, seed in zip((1, 3), _PROBE_SEEDS):
            inputs = {"num_samples": np.int32(n), "seed": np.int64(seed)}
            z = {"z": _noise(n, latent_dim, seed, noise)}
            if conditional:
                inputs["labels"] = z["labels"] = labels_all[:n]
            if set(sample.inputs) != set(inputs) or not equal(
                _run(sample, inputs), _run(target, z)
            ):
                sample_ok = False
                break
    return frozenset(sizes), sample_ok


__all__ = [
    "Batcher",
    "BatchingParameters",
    "BatchingConfigError",
    "parse_batching_parameters",
    "load_batching_parameters",
    "probe_version",
]
