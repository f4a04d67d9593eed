"""What the REST and gRPC front ends share: predict, metadata and status.

A request is checked completely before TensorFlow runs: the model, version and
signature exist; the inputs are exactly the signature's, with its dtypes and
shapes; a batch is ``1 .. max_num_samples`` rows; ``num_samples`` is in
``[1, max_num_samples]``; ``labels`` (conditional models) are in
``[0, num_classes)`` with one per sample; float inputs are finite. Every failure
is a :class:`~keras_gan.serving.errors.ServingError` with TF Serving's status
code and a message that says what was wrong and what is allowed.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from google.protobuf import any_pb2, json_format, wrappers_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_pb2,
    status_pb2,
)

from keras_gan.serving.errors import ServingError, invalid

logger = logging.getLogger("keras_gan.serving")

DEFAULT_SIGNATURE = "serving_default"
SIGNATURE_DEF_FIELD = "signature_def"
#: Our extension of GetModelMetadata: the exported generator's metadata (JSON).
KERAS_GAN_FIELD = "keras_gan"
METADATA_FIELDS = (SIGNATURE_DEF_FIELD, KERAS_GAN_FIELD)

_ERROR_CODE_ENUM = status_pb2.StatusProto.DESCRIPTOR.fields_by_name["error_code"].enum_type
_STATE_ENUM = get_model_status_pb2.ModelVersionStatus.State


@dataclass(frozen=True)
class Limits:
    """Per-request limits of the server, and how requests run.

    ``batcher`` (a :class:`keras_gan.serving.batching.Batcher`) merges
    concurrent requests; ``monitor`` (a
    :class:`keras_gan.serving.monitoring.Monitor`) records their runtime.
    """

    max_num_samples: int = 1024
    batcher: object = None
    monitor: object = None


# ------------------------------------------------------------------ predict
def check_input_names(signature, names):
    """INVALID_ARGUMENT unless ``names`` are exactly the signature's inputs."""
    names = set(names)
    expected = set(signature.inputs)
    if names == expected:
        return
    parts = []
    missing = sorted(expected - names)
    extra = sorted(names - expected)
    if missing:
        parts.append(f"missing {missing}")
    if extra:
        parts.append(f"unexpected {extra}")
    wanted = ", ".join(
        f"{k!r} ({signature.inputs[k].describe()})" for k in sorted(signature.inputs)
    )
    raise invalid(f"signature {signature.name!r} takes the inputs {wanted}; {' and '.join(parts)}.")


def _scalar_int(arrays, key):
    value = arrays.get(key)
    if value is None or np.ndim(value) != 0:
        return None
    return int(value)


def check_semantics(loaded, signature, arrays, max_batch):
    """The generator-specific checks: ``num_samples`` and ``labels``."""
    n = _scalar_int(arrays, "num_samples")
    if "num_samples" in arrays and n is not None and not 1 <= n <= max_batch:
        raise invalid(
            f"num_samples must be in [1, {max_batch}] (the largest request this server "
            f"allows, --max_num_samples); got {n}."
        )
    labels = arrays.get("labels")
    if labels is None:
        return
    if n is not None:
        batch, what = n, "num_samples"
    else:
        batch = next(
            (int(a.shape[0]) for k, a in arrays.items() if k != "labels" and np.ndim(a) >= 1),
            None,
        )
        what = "rows of z"
    if batch is not None and np.ndim(labels) >= 1 and labels.shape[0] != batch:
        raise invalid(
            f"labels must hold one class per sample: {batch} ({what}); got {labels.shape[0]}."
        )
    num_classes = loaded.num_classes
    if num_classes is not None and labels.size:
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= num_classes:
            bad = lo if lo < 0 else hi
            raise invalid(
                f"labels must be in [0, {num_classes - 1}] (num_classes = "
                f"{num_classes}); got {bad}."
            )


_ASSERT_RE = re.compile(r"assertion failed: \[([^\]]*)\]")
_NOISE = ("[[", "Detected at node", "<stack traces", "Graph execution error", "Op:__")


def clean_tf_message(message):
    """The useful line of a TensorFlow runtime error."""
    m = _ASSERT_RE.search(message)
    if m:
        return m.group(1)
    lines = [ln.strip() for ln in str(message).splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith(_NOISE)]
    text = lines[0] if lines else str(message)
    return re.sub(r"\s*\[\[\{\{node [^}]*\}\}\]\].*$", "", text)


def run_signature(signature, arrays):
    """Run TensorFlow; its runtime errors become ServingErrors."""
    try:
        return signature(arrays)
    except tf.errors.InvalidArgumentError as e:
        raise invalid(clean_tf_message(e.message)) from None
    except tf.errors.ResourceExhaustedError as e:
        raise ServingError("RESOURCE_EXHAUSTED", clean_tf_message(e.message)) from None
    except tf.errors.OpError as e:
        logger.error("signature %s failed: %s", signature.name, e.message)
        raise ServingError("INTERNAL", clean_tf_message(e.message)) from None


def predict(registry, limits, name, version, label, signature_name, decode, output_filter=()):
    """Resolve, decode (``decode(signature, max_batch) -> {name: array}``), check,
    run. Returns ``(loaded_version, signature_name, {output: array})``."""
    loaded = registry.get(name, version, label)
    key = signature_name or DEFAULT_SIGNATURE
    signature = loaded.signatures.get(key)
    if signature is None:
        raise invalid(
            f'Serving signature name: "{key}" not found in signature def; '
            f"available: {sorted(loaded.signatures)}."
        )
    max_batch = loaded.max_num_samples(limits.max_num_samples)
    arrays = decode(signature, max_batch)
    check_input_names(signature, arrays)
    check_semantics(loaded, signature, arrays, max_batch)
    start = time.perf_counter()
    if limits.batcher is not None:
        outputs = limits.batcher.run(loaded, key, signature, arrays)
    else:
        outputs = run_signature(signature, arrays)
    if limits.monitor is not None:
        limits.monitor.observe_runtime(name, time.perf_counter() - start)
    if output_filter:
        unknown = sorted(set(output_filter) - set(outputs))
        if unknown:
            raise invalid(
                f"output_filter names unknown output(s) {unknown}; signature {key!r} has "
                f"{sorted(outputs)}."
            )
        outputs = {k: outputs[k] for k in output_filter}
    return loaded, key, outputs


# ------------------------------------------------------------------ status / metadata
def model_spec(name, version, signature_name=""):
    spec = model_pb2.ModelSpec(name=name, signature_name=signature_name)
    spec.version.value = version
    return spec


def status_response(registry, name, version=None, label=None):
    """A ``GetModelStatusResponse``."""
    response = get_model_status_pb2.GetModelStatusResponse()
    for v, state in registry.status(name, version, label):
        entry = response.model_version_status.add()
        entry.version = v
        entry.state = _STATE_ENUM.Value(state.state)
        entry.status.error_code = _ERROR_CODE_ENUM.values_by_name[state.error_code].number
        entry.status.error_message = state.error_message
    return response


def metadata_response(registry, name, version=None, label=None, fields=METADATA_FIELDS):
    """A ``GetModelMetadataResponse`` with the requested ``fields``.

    ``signature_def`` is TF Serving's (an ``Any`` holding a ``SignatureDefMap``);
    ``keras_gan`` is ours: an ``Any`` holding a ``google.protobuf.StringValue``
    with the exported metadata as JSON (clients that look up only
    ``signature_def`` ignore it).
    """
    fields = list(fields)
    if not fields:
        raise invalid("GetModelMetadataRequest must specify at least one metadata_field")
    for f in fields:
        if f not in METADATA_FIELDS:
            raise invalid(f"Metadata field {f} is not supported; allowed: {list(METADATA_FIELDS)}")
    loaded = registry.get(name, version, label)
    response = get_model_metadata_pb2.GetModelMetadataResponse(
        model_spec=model_spec(name, loaded.version)
    )
    if SIGNATURE_DEF_FIELD in fields:
        packed = any_pb2.Any()
        packed.Pack(loaded.signature_def_map)
        response.metadata[SIGNATURE_DEF_FIELD].CopyFrom(packed)
    if KERAS_GAN_FIELD in fields and loaded.metadata is not None:
        packed = any_pb2.Any()
        packed.Pack(wrappers_pb2.StringValue(value=json.dumps(loaded.metadata)))
        response.metadata[KERAS_GAN_FIELD].CopyFrom(packed)
    return response


def to_json_dict(message):
    """A proto as TF Serving's REST API prints it (all fields, proto field names)."""
    return json_format.MessageToDict(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )


def metadata_json(registry, name, version=None, label=None):
    """The REST metadata response: TF Serving's ``model_spec`` and
    ``metadata.signature_def``, plus ``metadata.keras_gan`` (ours)."""
    loaded = registry.get(name, version, label)
    body = {
        "model_spec": to_json_dict(model_spec(name, loaded.version)),
        "metadata": {SIGNATURE_DEF_FIELD: to_json_dict(loaded.signature_def_map)},
    }
    if loaded.metadata is not None:
        body["metadata"][KERAS_GAN_FIELD] = loaded.metadata
    return body
