"""The served models: versions found on disk, loaded, swapped and reported.

:class:`ModelRegistry` polls each model's base path like TF Serving's file
system source: a version is a directory with an all-digit name; the model's
version policy (``latest`` N by default, ``all``, ``specific``) picks which to
serve. New versions are loaded in the background while the current ones keep
answering; a version that is no longer wanted is unloaded only after its
successor loaded. A version that fails to load (corrupt or unreadable files, no
``serve`` MetaGraph, a failing warm-up) is reported in the model status
(``END`` with the error) and skipped: the last good version keeps serving. It is
retried whenever any file under it changes (size or modification time).

A model never loses its last loaded version because of the disk: when the
base path cannot be listed (removed, replaced by a file, unreadable), holds no
version any more, or the served version's directory disappears, the loaded copy
keeps serving from memory and its status (``AVAILABLE``, code ``OK``) carries a
message saying why, until a new version loads. (TF Serving unloads in the last
two cases.) Versions are retired (unloaded) only in favour of loaded ones.

Loading replays ``assets.extra/tf_serving_warmup_requests`` (TF Serving's
warm-up file, which :func:`keras_gan.export.export_generator` writes), so the
first real request does not pay for tracing and a version that cannot run is
refused before it serves.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, prediction_log_pb2

from keras_gan.serving.errors import invalid, not_found
from keras_gan.serving.polling import Poller
from keras_gan.serving.tensors import TensorSpec, tensor_proto_to_array

logger = logging.getLogger("keras_gan.serving")

METADATA_ASSET = os.path.join("assets", "keras_gan_metadata.json")
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_WARMUP_RECORDS = 1000  # TF Serving's limit
_VERSION_RE = re.compile(r"^[0-9]+$")


# ------------------------------------------------------------------ loading
@dataclass
class Signature:
    """A serving signature of a loaded version."""

    name: str
    inputs: dict
    outputs: dict
    function: object = field(repr=False)

    def __call__(self, arrays):
        """Run on NumPy ``arrays`` (already checked); NumPy outputs."""
        tensors = {k: tf.constant(v) for k, v in arrays.items()}
        outputs = self.function(**tensors)
        return {k: v.numpy() for k, v in outputs.items()}


@dataclass
class LoadedVersion:
    """One loaded version of a model."""

    name: str
    version: int
    path: str
    signatures: dict
    signature_def_map: object = field(repr=False)
    metadata: dict | None
    module: object = field(repr=False, default=None)
    loaded_at: float = field(default_factory=time.time)
    warmup_seconds: float | None = None  # the warm-up replay (metrics)

    @property
    def num_classes(self):
        value = (self.metadata or {}).get("num_classes")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def max_num_samples(self, server_limit):
        """The per-request limit: the server's, or the model's graph guard if lower."""
        value = (self.metadata or {}).get("max_num_samples")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return min(server_limit, value)
        return server_limit


class LoadError(Exception):
    """A version could not be loaded; ``code`` is the status reported for it."""

    def __init__(self, message, code="UNKNOWN"):
        super().__init__(message)
        self.code = code


def _read_meta_graph(path):
    pb = os.path.join(path, "saved_model.pb")
    if not os.path.isfile(pb):
        raise LoadError(f"no saved_model.pb in {path}", "NOT_FOUND")
    try:
        with open(pb, "rb") as f:
            saved_model = saved_model_pb2.SavedModel.FromString(f.read())
    except Exception as e:  # DecodeError and friends: a corrupt file
        raise LoadError(f"{pb} is not a valid SavedModel: {e}", "DATA_LOSS") from None
    for meta_graph in saved_model.meta_graphs:
        if "serve" in meta_graph.meta_info_def.tags:
            return meta_graph
    raise LoadError(f"{path} has no MetaGraph with the tag 'serve'", "NOT_FOUND")


def _read_metadata(path):
    meta_path = os.path.join(path, METADATA_ASSET)
    if not os.path.exists(meta_path):
        return None
    try:
        with open(meta_path, encoding="utf-8") as f:
            metadata = json.load(f)
    except (OSError, ValueError) as e:
        raise LoadError(f"{meta_path} is unreadable: {e}", "DATA_LOSS") from None
    if not isinstance(metadata, dict):
        raise LoadError(f"{meta_path} must hold a JSON object", "DATA_LOSS")
    return metadata


def load_version(name, version, path):
    """Load ``path`` as version ``version`` of model ``name`` (raises LoadError)."""
    meta_graph = _read_meta_graph(path)
    metadata = _read_metadata(path)
    try:
        module = tf.saved_model.load(path, tags=["serve"])
    except Exception as e:
        message = getattr(e, "message", None) or str(e)
        raise LoadError(f"TensorFlow could not load {path}: {message}", "DATA_LOSS") from None
    signatures = {}
    for key, function in module.signatures.items():
        sigdef = meta_graph.signature_def.get(key)
        if sigdef is None:
            continue
        signatures[key] = Signature(
            key,
            {k: TensorSpec.from_tensor_info(k, v) for k, v in sigdef.inputs.items()},
            {k: TensorSpec.from_tensor_info(k, v) for k, v in sigdef.outputs.items()},
            function,
        )
    if not signatures:
        raise LoadError(f"{path} has no serving signatures", "FAILED_PRECONDITION")
    signature_def_map = get_model_metadata_pb2.SignatureDefMap()
    for key, sigdef in meta_graph.signature_def.items():
        signature_def_map.signature_def[key].CopyFrom(sigdef)
    loaded = LoadedVersion(name, version, path, signatures, signature_def_map, metadata, module)
    start = time.perf_counter()
    _warm_up(loaded)
    loaded.warmup_seconds = time.perf_counter() - start
    return loaded


def _warm_up(loaded):
    path = os.path.join(loaded.path, WARMUP_FILE)
    if not os.path.exists(path):
        return
    try:
        records = list(tf.data.TFRecordDataset(path).take(MAX_WARMUP_RECORDS).as_numpy_iterator())
    except Exception as e:
        raise LoadError(f"unreadable warm-up file {path}: {e}", "DATA_LOSS") from None
    for i, record in enumerate(records):
        try:
            log = prediction_log_pb2.PredictionLog.FromString(record)
        except Exception:
            raise LoadError(
                f"warm-up record {i} of {path} is not a PredictionLog", "DATA_LOSS"
            ) from None
        if log.WhichOneof("log_type") != "predict_log":
            continue
        request = log.predict_log.request
        key = request.model_spec.signature_name or "serving_default"
        signature = loaded.signatures.get(key)
        if signature is None:
            raise LoadError(f"warm-up record {i} names unknown signature {key!r}", "DATA_LOSS")
        try:
            arrays = {
                k: tensor_proto_to_array(signature.inputs[k], v, max_batch=1 << 20)
                for k, v in request.inputs.items()
                if k in signature.inputs
            }
            signature(arrays)
        except Exception as e:
            message = getattr(e, "message", None) or str(e)
            raise LoadError(f"warm-up request {i} ({key}) failed: {message}", "UNKNOWN") from None


# ------------------------------------------------------------------ states
@dataclass
class VersionState:
    """What ``GetModelStatus`` reports for one version."""

    state: str  # START | LOADING | AVAILABLE | UNLOADING | END
    error_code: str = "OK"
    error_message: str = ""
    fingerprint: tuple | None = None


def _fingerprint(path, max_files=10_000):
    """Changes when any file under the version changes (so a failed load is
    retried): the path, size and mtime of ``path`` and of every file and
    directory under it (the first ``max_files`` in walk order), e.g. a
    variables data file completed in place."""
    try:
        st = os.stat(path)
        parts = [(".", st.st_size, st.st_mtime_ns)]
    except OSError as e:
        return ((".", e.errno),)
    for root, dirs, files in os.walk(path, onerror=lambda e: parts.append(("error", str(e)))):
        dirs.sort()
        for name in sorted(files) + dirs:
            full = os.path.join(root, name)
            try:
                st = os.stat(full)
                parts.append((os.path.relpath(full, path), st.st_size, st.st_mtime_ns))
            except OSError as e:
                parts.append((os.path.relpath(full, path), e.errno))
            if len(parts) >= max_files:
                return tuple(parts)
    return tuple(parts)


class _Model:
    def __init__(self, config):
        self.config = config
        self.available = {}  # version -> LoadedVersion; replaced, never mutated
        self.states = {}  # version -> VersionState
        self.scan_error = None


class ModelRegistry:
    """Models being served, their loaded versions and their status.

    Args:
        configs: :class:`keras_gan.serving.config.ServedModelConfig` list.
        poll_wait_seconds: seconds between scans of the base paths (TF
            Serving's ``--file_system_poll_wait_seconds``); ``<= 0`` scans once.
        loader: ``loader(name, version, path) -> LoadedVersion`` (tests).
    """

    def __init__(self, configs, poll_wait_seconds=1.0, loader=load_version):
        self._models = {c.name: _Model(c) for c in configs}
        self._poll_wait = float(poll_wait_seconds)
        self._loader = loader
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()  # one scan at a time (poller, config reload)
        self._poller = Poller(self.poll, self._poll_wait, "model-poller", "model poll")

    # ------------------------------------------------------------ polling
    @property
    def model_names(self):
        return sorted(self._models)

    def start(self):
        """Scan once now (blocking), then keep scanning in a daemon thread."""
        self.poll()
        if self._poll_wait > 0:
            self._poller.start()

    def stop(self):
        self._poller.stop()

    def poll(self):
        """Scan every model's base path once and load/unload versions."""
        with self._poll_lock:
            for model in list(self._models.values()):
                self._poll_model(model)

    def update_configs(self, configs):
        """Serve ``configs`` from now on, then scan (the config file reload):
        new models are added, removed ones are dropped (their requests get
        NOT_FOUND), kept ones take their new version policy and labels (a new
        base path starts the model afresh)."""
        with self._poll_lock:
            models = {}
            for config in configs:
                model = self._models.get(config.name)
                if model is None or model.config.base_path != config.base_path:
                    model = _Model(config)
                else:
                    model.config = config
                models[config.name] = model
            self._models = models
        self.poll()

    def _scan(self, model):
        base = model.config.base_path
        try:
            names = os.listdir(base)
        except OSError as e:
            model.scan_error = f"cannot list base path {base}: {e.strerror or e}"
            return None
        found = {}
        for entry in names:
            path = os.path.join(base, entry)
            if _VERSION_RE.match(entry) and os.path.isdir(path):
                version = int(entry)
                if version < 2**63:
                    found[version] = path
        model.scan_error = None if found else f"no version directories in {base}"
        return found

    def _set_state(self, model, version, state):
        with self._lock:
            states = dict(model.states)
            states[version] = state
            model.states = states

    def _note(self, model, versions, message):
        """Set the status message of available ``versions`` (their code stays OK)."""
        for version in versions:
            state = model.states.get(version)
            if state is not None and state.state == "AVAILABLE" and state.error_message != message:
                self._set_state(
                    model, version, VersionState("AVAILABLE", "OK", message, state.fingerprint)
                )

    def _poll_model(self, model):
        found = self._scan(model)
        if found is None:
            # The base path cannot be listed (gone, turned into a file, unreadable):
            # keep serving what is loaded, and say so in its status.
            self._note(
                model,
                list(model.available),
                f"serving the copy loaded in memory: {model.scan_error}",
            )
            return
        policy = model.config.policy
        attempted = set()
        while True:
            candidates = []
            for version, path in found.items():
                state = model.states.get(version)
                if version in attempted and version not in model.available:
                    continue  # failed in this scan
                if state and state.error_code != "OK" and state.fingerprint == _fingerprint(path):
                    continue  # failed before and unchanged since
                candidates.append(version)
            aspired = policy.select(candidates)
            to_load = [v for v in aspired if v not in model.available]
            if not to_load:
                break
            attempted.add(max(to_load))
            self._load(model, max(to_load), found[max(to_load)])
        stale = [v for v in model.available if v not in aspired]
        if stale and len(stale) == len(model.available):
            # Nothing else would serve: the last loaded version is kept (and
            # reported) rather than leaving the model without any version.
            keep = max(stale)
            stale.remove(keep)
            if model.scan_error:
                why = model.scan_error
            elif keep not in found:
                why = f"its directory is gone from {model.config.base_path}"
            else:
                why = "the version policy no longer selects it and no other version loaded"
            self._note(model, [keep], f"serving the copy loaded in memory: {why}")
        self._note(model, [v for v in model.available if v in aspired], "")
        for version in stale:
            with self._lock:
                available = dict(model.available)
                available.pop(version, None)
                model.available = available
            self._set_state(model, version, VersionState("END"))
            logger.info("unloaded %s version %d", model.config.name, version)

    def _load(self, model, version, path):
        name = model.config.name
        fingerprint = _fingerprint(path)
        self._set_state(model, version, VersionState("LOADING", fingerprint=fingerprint))
        start = time.perf_counter()
        try:
            loaded = self._loader(name, version, path)
        except LoadError as e:
            code, message = e.code, str(e)
        except Exception as e:  # anything else from a broken model directory
            code, message = "UNKNOWN", f"{type(e).__name__}: {e}"
        else:
            with self._lock:
                available = dict(model.available)
                available[version] = loaded
                model.available = available
            self._set_state(model, version, VersionState("AVAILABLE", fingerprint=fingerprint))
            logger.info(
                "loaded %s version %d from %s in %.2f s",
                name,
                version,
                path,
                time.perf_counter() - start,
            )
            return
        self._set_state(model, version, VersionState("END", code, message, fingerprint))
        logger.error("failed to load %s version %d: %s", name, version, message)

    # ------------------------------------------------------------ lookups
    def _model(self, name, request):
        model = self._models.get(name)
        if model is None:
            raise not_found(
                f"Servable not found for request: {request}: no model named {name!r} is "
                f"served (served: {self.model_names})"
            )
        return model

    def resolve_label(self, name, label):
        model = self._model(name, f"Latest({name})")
        if label not in model.config.labels:
            raise invalid(
                f"Unrecognized servable version label: {label!r} of model {name!r} "
                f"(labels: {sorted(model.config.labels)})"
            )
        return model.config.labels[label]

    def get(self, name, version=None, label=None):
        """The loaded version to use (the newest when ``version`` is ``None``)."""
        if label is not None:
            version = self.resolve_label(name, label)
        request = f"Latest({name})" if version is None else f"Specific({name}, {version})"
        model = self._model(name, request)
        available = model.available
        if version is None:
            if available:
                return available[max(available)]
            raise not_found(f"Servable not found for request: {request}: {self._why(model)}")
        loaded = available.get(version)
        if loaded is None:
            state = model.states.get(version)
            why = (
                f"version {version} failed to load: {state.error_message}"
                if state and state.error_code != "OK"
                else f"available versions: {sorted(available)}"
            )
            raise not_found(f"Servable not found for request: {request}: {why}")
        return loaded

    def _why(self, model):
        failed = [
            f"version {v}: {s.error_message}"
            for v, s in sorted(model.states.items())
            if s.error_code != "OK"
        ]
        if failed:
            return "no version loaded; " + "; ".join(failed)
        if any(s.state == "LOADING" for s in model.states.values()):
            return "the model is still loading"
        return model.scan_error or "no version loaded"

    def status(self, name, version=None, label=None):
        """``[(version, VersionState)]``, newest first (one entry for ``version``)."""
        if label is not None:
            version = self.resolve_label(name, label)
        model = self._models.get(name)
        if model is None:
            raise not_found(
                f"Could not find any versions of model {name} (served: {self.model_names})"
            )
        states = model.states
        if version is not None:
            if version not in states:
                raise not_found(f"Could not find version {version} of model {name}")
            return [(version, states[version])]
        if not states:
            raise not_found(
                f"Could not find any versions of model {name}: "
                f"{model.scan_error or 'no version loaded'}"
            )
        return sorted(states.items(), reverse=True)

    def first_error(self):
        """``None`` if every model has an available version, else why not."""
        for name, model in sorted(self._models.items()):
            if not model.available:
                return f"model {name!r}: {self._why(model)}"
        return None


__all__ = ["ModelRegistry", "LoadedVersion", "Signature", "LoadError", "load_version"]
