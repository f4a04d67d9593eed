"""Clients of a TF Serving endpoint serving an exported generator.

Both clients work against the real TensorFlow Serving and ``keras-gan serve``
and return NumPy arrays; failures raise
:class:`~keras_gan.serving.errors.ServingError` with the server's status code
and message (``UNAVAILABLE`` when the server cannot be reached).

* :class:`SampleClient`: REST (``http://host:8501``), with ``requests``;
  imports neither TensorFlow nor gRPC.
* :class:`GrpcSampleClient`: gRPC (``host:8500``) with the
  ``tensorflow-serving-api`` ``PredictionService``/``ModelService`` stubs.

Example:

```python
from keras_gan.serving import GrpcSampleClient, SampleClient

rest = SampleClient("http://localhost:8501", model="mnist_gan")
images = rest.sample(64, seed=0)           # float32 [64, 28, 28, 1], same seed -> same images
images = rest.generate(z)                  # z: float32 [n, latent_dim]
rest.metadata()["value_range"]             # [0.0, 1.0]

with GrpcSampleClient("localhost:8500", model="mnist_gan") as grpc_client:
    same = grpc_client.sample(64, seed=0)
```

A client object is meant for one thread at a time; give each thread its own.
"""

from __future__ import annotations

import json
import time

import numpy as np

from keras_gan.serving.errors import ServingError

__all__ = ["SampleClient", "GrpcSampleClient", "connect", "decode_pngs", "has_png"]

SAMPLE_SIGNATURE = "sample"
PNG_SIGNATURE = "sample_png"
PNG_OUTPUT_KEY = "images_bytes"
DEFAULT_SIGNATURE = "serving_default"
OUTPUT_KEY = "images"
TOKEN_IDS_KEY = "token_ids"
_MAX_SEED = 2**63 - 1


def _check_count(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"num_samples must be an int; got {n!r}.")
    return int(n)


def _seed(seed):
    if seed is None:
        return int(np.random.default_rng().integers(0, _MAX_SEED))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int (or None for a random one); got {seed!r}.")
    return int(seed)


def _labels(labels, n):
    labels = np.asarray(labels)
    if labels.ndim == 0:
        labels = np.full([n], labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers; got dtype {labels.dtype}.")
    return labels.astype(np.int32)


def _json_output(value):
    """A REST output as an array: binary outputs (``{"b64": ...}``, e.g. PNG)
    as an object array of ``bytes``, numbers as float32."""
    probe = value
    while isinstance(probe, list) and probe:
        probe = probe[0]
    if isinstance(probe, dict) and "b64" in probe:
        import base64

        def decode(v):
            return [decode(x) for x in v] if isinstance(v, list) else base64.b64decode(v["b64"])

        return np.array(decode(value) if isinstance(value, list) else [decode(value)], dtype=object)
    return np.asarray(value, dtype=np.float32)


def has_png(metadata):
    """Whether a model's metadata (``client.metadata()``) lists ``sample_png``."""
    return PNG_SIGNATURE in (metadata.get("signatures") or {})


def decode_pngs(pngs):
    """uint8 ``[n, height, width, channels]`` of PNG files (``sample_png``)."""
    import io

    from PIL import Image

    arrays = []
    for data in pngs:
        with Image.open(io.BytesIO(data)) as image:
            array = np.asarray(image)
        arrays.append(array[..., None] if array.ndim == 2 else array)
    return np.stack(arrays)


def _shape_of(tensor_info):
    shape = tensor_info.get("tensor_shape", {})
    if shape.get("unknown_rank"):
        return None
    return [int(d.get("size", -1)) for d in shape.get("dim", [])]


def summarize_metadata(name, version, signature_def_map, keras_gan):
    """One dict: the exported metadata (when the server gives it) plus
    ``name``, ``version`` and the ``signatures`` (dtype and shape of each
    input/output); ``latent_dim``/``output_shape`` are derived from the
    signatures when the server gives only those (the real TF Serving)."""
    signatures = {}
    for key, sig in (signature_def_map or {}).get("signature_def", {}).items():
        if key.startswith("__"):
            continue
        signatures[key] = {
            part: {
                k: {
                    "dtype": v.get("dtype", "DT_INVALID").replace("DT_", "").lower(),
                    "shape": _shape_of(v),
                }
                for k, v in sig.get(part, {}).items()
            }
            for part in ("inputs", "outputs")
        }
    summary = dict(keras_gan or {})
    summary.update(name=name, version=version, signatures=signatures)
    default = signatures.get(DEFAULT_SIGNATURE, {})
    z = default.get("inputs", {}).get("z")
    images = default.get("outputs", {}).get(OUTPUT_KEY)
    if "latent_dim" not in summary and z and z["shape"]:
        summary["latent_dim"] = z["shape"][-1]
    if "output_shape" not in summary and images and images["shape"]:
        summary["output_shape"] = images["shape"][1:]
    summary.setdefault("value_range", None)
    return summary


def _parse_json(content):
    """orjson when installed (about twice as fast on image batches); the
    standard parser for what orjson refuses, such as TF Serving's NaN tokens."""
    try:
        import orjson

        return orjson.loads(content)
    except ImportError:
        pass
    except ValueError:
        pass
    try:
        return json.loads(content)
    except ValueError:
        return None


class _Client:
    """What both transports share: sample/generate on top of ``predict``."""

    model: str

    def predict(self, inputs, signature_name=DEFAULT_SIGNATURE, version=None):
        raise NotImplementedError

    def served_models(self):
        """The names of the served models, or ``None`` when the server cannot list
        them (TF Serving's gRPC and REST APIs have no listing)."""
        return None

    def _images(self, outputs):
        if isinstance(outputs, dict):
            if OUTPUT_KEY in outputs:
                return outputs[OUTPUT_KEY]
            if len(outputs) == 1:
                return next(iter(outputs.values()))
            raise ServingError("INTERNAL", f"no {OUTPUT_KEY!r} in the outputs {sorted(outputs)}")
        return outputs

    def sample(self, n, seed=None, version=None, labels=None):
        """``n`` samples drawn from ``seed`` on the server (the ``sample``
        signature); the same seed gives the same samples, equal to
        ``model.sample(n, seed=seed)`` in process. ``labels`` (conditional
        models): one class per sample, or one int for all."""
        n = _check_count(n)
        inputs = {"num_samples": np.int32(n), "seed": np.int64(_seed(seed))}
        if labels is not None:
            inputs["labels"] = _labels(labels, n)
        return self._images(self.predict(inputs, SAMPLE_SIGNATURE, version))

    def sample_tokens(self, n, seed=None, version=None, labels=None):
        """Token ids int32 ``[n, length]`` of ``n`` sequences drawn from ``seed`` (the
        ``sample`` signature's ``token_ids`` output of a sequence generator; the
        vocabulary is in ``metadata()["vocabulary"]``)."""
        n = _check_count(n)
        inputs = {"num_samples": np.int32(n), "seed": np.int64(_seed(seed))}
        if labels is not None:
            inputs["labels"] = _labels(labels, n)
        outputs = self.predict(inputs, SAMPLE_SIGNATURE, version)
        if not isinstance(outputs, dict) or TOKEN_IDS_KEY not in outputs:
            raise ServingError(
                "FAILED_PRECONDITION",
                f"model {self.model!r} is not a sequence generator: its sample signature has "
                f"no {TOKEN_IDS_KEY!r} output",
            )
        return np.asarray(outputs[TOKEN_IDS_KEY]).astype(np.int32)

    def sample_png(self, n, seed=None, version=None, labels=None):
        """``n`` PNG files (``bytes``) of the images of ``sample(n, seed)``,
        quantised to 8 bits inside the served graph (the ``sample_png``
        signature of image generators: a fraction of the float answer's size).
        :func:`decode_pngs` turns them into a uint8 array."""
        n = _check_count(n)
        inputs = {"num_samples": np.int32(n), "seed": np.int64(_seed(seed))}
        if labels is not None:
            inputs["labels"] = _labels(labels, n)
        outputs = self.predict(inputs, PNG_SIGNATURE, version)
        if isinstance(outputs, dict):
            outputs = outputs.get(PNG_OUTPUT_KEY, next(iter(outputs.values())))
        return [bytes(b) for b in np.asarray(outputs, dtype=object).reshape(-1)]

    def generate(self, z, version=None, labels=None):
        """The generator on given latent vectors ``z`` ``[n, latent_dim]``."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2:
            raise ValueError(f"z must have shape [n, latent_dim]; got {list(z.shape)}.")
        inputs = {"z": z}
        if labels is not None:
            inputs["labels"] = _labels(labels, len(z))
        return self._images(self.predict(inputs, DEFAULT_SIGNATURE, version))

    def wait_until_available(self, timeout=60.0, version=None, interval=0.2):
        """Poll the model status until a version is ``AVAILABLE``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if any(s["state"] == "AVAILABLE" for s in self.status(version)):
                    return self
                last = "no version AVAILABLE yet"
            except ServingError as e:
                last = e.message
            if time.monotonic() > deadline:
                raise ServingError(
                    "DEADLINE_EXCEEDED",
                    f"model {self.model!r} not available after {timeout} s: {last}",
                )
            time.sleep(interval)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        pass


# ---------------------------------------------------------------------- REST
class SampleClient(_Client):
    """REST client: ``SampleClient("http://localhost:8501", model="mnist_gan")``.

    Args:
        url: the REST endpoint (scheme, host and port).
        model: the model name.
        timeout: seconds per request.
    """

    def __init__(self, url="http://localhost:8501", model="default", timeout=60.0):
        import requests

        if not url.startswith(("http://", "https://")):
            url = "http://" + url
        self.url = url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self._requests = requests
        self._session = requests.Session()

    def _path(self, version=None, suffix=""):
        from urllib.parse import quote

        path = f"{self.url}/v1/models/{quote(self.model, safe='')}"
        if version is not None:
            path += f"/versions/{int(version)}"
        return path + suffix

    def _call(self, method, url, payload=None):
        try:
            response = self._session.request(
                method,
                url,
                data=None if payload is None else json.dumps(payload),
                headers={"Content-Type": "application/json"} if payload is not None else None,
                timeout=self.timeout,
            )
        except self._requests.RequestException as e:
            raise ServingError("UNAVAILABLE", f"cannot reach {self.url}: {e}") from None
        body = _parse_json(response.content)
        if response.status_code != 200:
            message = body.get("error") if isinstance(body, dict) else None
            raise ServingError.from_http(
                response.status_code, message or response.text[:500] or response.reason
            )
        if not isinstance(body, dict):
            raise ServingError("INTERNAL", f"{url} did not answer with a JSON object")
        return body

    def predict(self, inputs, signature_name=DEFAULT_SIGNATURE, version=None):
        """A columnar-format predict. Returns the ``outputs``: an array for a
        single output (TF Serving drops its name), else ``{name: array}``."""
        payload = {
            "signature_name": signature_name,
            "inputs": {k: np.asarray(v).tolist() for k, v in inputs.items()},
        }
        outputs = self._call("POST", self._path(version, ":predict"), payload).get("outputs")
        if isinstance(outputs, dict):
            return {k: _json_output(v) for k, v in outputs.items()}
        return _json_output(outputs)

    def metadata(self, version=None):
        """The model's metadata (see :func:`summarize_metadata`)."""
        body = self._call("GET", self._path(version, "/metadata"))
        spec = body.get("model_spec", {})
        meta = body.get("metadata", {})
        return summarize_metadata(
            spec.get("name", self.model),
            int(spec["version"]) if spec.get("version") else None,
            meta.get("signature_def"),
            meta.get("keras_gan"),
        )

    def served_models(self):
        """The names of the served models, from ``keras-gan serve``'s ``GET
        /v1/models``; ``None`` when the server cannot list them (TF Serving)."""
        try:
            body = self._call("GET", f"{self.url}/v1/models")
        except ServingError as e:
            if e.code == "UNAVAILABLE":
                raise
            return None
        models = body.get("models")
        if not isinstance(models, list):
            return None
        return [m["name"] for m in models if isinstance(m, dict) and "name" in m]

    def status(self, version=None):
        """``[{"version": int, "state": "AVAILABLE", "error_code", "error_message"}]``."""
        body = self._call("GET", self._path(version))
        return [
            {
                "version": int(s.get("version", 0)),
                "state": s.get("state"),
                "error_code": s.get("status", {}).get("error_code", "OK"),
                "error_message": s.get("status", {}).get("error_message", ""),
            }
            for s in body.get("model_version_status", [])
        ]

    def close(self):
        self._session.close()


# ---------------------------------------------------------------------- gRPC
class GrpcSampleClient(_Client):
    """gRPC client: ``GrpcSampleClient("localhost:8500", model="mnist_gan")``.

    Uses the ``PredictionService`` and ``ModelService`` stubs of
    ``tensorflow-serving-api`` (which imports TensorFlow's protos).
    """

    def __init__(self, target="localhost:8500", model="default", timeout=60.0):
        import grpc
        from tensorflow_serving.apis import (
            model_service_pb2_grpc,
            prediction_service_pb2_grpc,
        )

        for prefix in ("grpc://", "dns:///"):
            if target.startswith(prefix):
                target = target[len(prefix) :]
        self.target = target
        self.model = model
        self.timeout = timeout
        self._grpc = grpc
        self._channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", -1),
                ("grpc.max_send_message_length", -1),
            ],
        )
        self._predictions = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)

    def _spec(self, version=None, signature_name=""):
        from tensorflow_serving.apis import model_pb2

        spec = model_pb2.ModelSpec(name=self.model, signature_name=signature_name)
        if version is not None:
            spec.version.value = int(version)
        return spec

    def _call(self, method, request):
        try:
            return method(request, timeout=self.timeout)
        except self._grpc.RpcError as e:
            code = e.code()
            name = code.name if code is not None else "UNKNOWN"
            if name == "UNAVAILABLE":
                raise ServingError(name, f"cannot reach {self.target}: {e.details()}") from None
            raise ServingError(name, e.details() or name) from None

    def predict(self, inputs, signature_name=DEFAULT_SIGNATURE, version=None):
        """A ``Predict`` call; returns ``{output name: array}``."""
        from tensorflow_serving.apis import predict_pb2

        from keras_gan.serving.tensors import array_to_tensor_proto, decode_tensor_proto

        request = predict_pb2.PredictRequest(model_spec=self._spec(version, signature_name))
        for k, v in inputs.items():
            request.inputs[k].CopyFrom(array_to_tensor_proto(np.asarray(v)))
        response = self._call(self._predictions.Predict, request)
        return {k: decode_tensor_proto(v) for k, v in response.outputs.items()}

    def metadata(self, version=None):
        """The model's metadata (see :func:`summarize_metadata`). Asks for our
        ``keras_gan`` field too, and falls back to ``signature_def`` alone
        for the real TF Serving, which supports only that field."""
        from google.protobuf import json_format, wrappers_pb2
        from tensorflow_serving.apis import get_model_metadata_pb2

        def ask(fields):
            request = get_model_metadata_pb2.GetModelMetadataRequest(
                model_spec=self._spec(version), metadata_field=fields
            )
            return self._call(self._predictions.GetModelMetadata, request)

        try:
            response = ask(["signature_def", "keras_gan"])
        except ServingError as e:
            if e.code != "INVALID_ARGUMENT" or "not supported" not in e.message:
                raise
            response = ask(["signature_def"])
        signature_def_map = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signature_def_map)
        keras_gan = None
        if "keras_gan" in response.metadata:
            text = wrappers_pb2.StringValue()
            response.metadata["keras_gan"].Unpack(text)
            keras_gan = json.loads(text.value)
        return summarize_metadata(
            response.model_spec.name or self.model,
            response.model_spec.version.value if response.model_spec.HasField("version") else None,
            json_format.MessageToDict(signature_def_map, preserving_proto_field_name=True),
            keras_gan,
        )

    def status(self, version=None):
        """``[{"version": int, "state": "AVAILABLE", "error_code", "error_message"}]``."""
        from tensorflow_serving.apis import get_model_status_pb2, status_pb2

        request = get_model_status_pb2.GetModelStatusRequest(model_spec=self._spec(version))
        response = self._call(self._models.GetModelStatus, request)
        states = get_model_status_pb2.ModelVersionStatus.State
        codes = status_pb2.StatusProto.DESCRIPTOR.fields_by_name["error_code"].enum_type
        return [
            {
                "version": int(s.version),
                "state": states.Name(s.state),
                "error_code": codes.values_by_number[s.status.error_code].name,
                "error_message": s.status.error_message,
            }
            for s in response.model_version_status
        ]

    def close(self):
        self._channel.close()


def connect(server, model="default", timeout=60.0):
    """A client for ``server``: ``http(s)://...`` -> REST, ``grpc://host:port``
    or ``host:port`` -> gRPC."""
    if server.startswith(("http://", "https://")):
        return SampleClient(server, model=model, timeout=timeout)
    return GrpcSampleClient(server, model=model, timeout=timeout)
