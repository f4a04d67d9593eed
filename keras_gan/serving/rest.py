"""TF Serving's REST API on aiohttp.

Paths and JSON formats follow TensorFlow Serving's RESTful API:

* ``POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict`` with
  ``{"signature_name": ..., "instances": [...]}`` (row format, answered with
  ``{"predictions": ...}``) or ``{"signature_name": ..., "inputs": {...}}``
  (columnar format, answered with ``{"outputs": ...}``);
* ``GET /v1/models/{name}[/versions/{v}|/labels/{l}]``: the model status;
* ``GET /v1/models``: the names of the served models, ``{"models": [{"name": ...}]}``,
  an extension (TF Serving cannot list its models; ``keras-gan sample`` uses it
  to pick the model when the server holds one);
* ``GET /v1/models/{name}[/versions/{v}|/labels/{l}]/metadata``: the signatures
  (``metadata.signature_def``, as TF Serving) plus ``metadata.keras_gan``, the
  exported generator's metadata (an extra key that TF Serving clients ignore).

Every error is ``{"error": "<message>"}`` with TF Serving's HTTP status
(400 for bad input, 404 for an unknown model or version, 413 for a body over
``--max_request_bytes``). Parsing, checking and running a request happen in a
bounded thread pool, so the event loop keeps accepting and answering other
clients (slow ones included) meanwhile. Bodies are read by
:class:`keras_gan.serving.bodies.BodyReader`: ``gzip``/``deflate`` bodies are
decompressed with the size limit on the decompressed body (413 over it, 400
when corrupt), a POST without a length gets 411, a body that does not arrive
in time 408, and only a few large bodies are held at once (the memory bound).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from urllib.parse import unquote

import numpy as np
import orjson
from aiohttp import web

from keras_gan.serving import predict as core
from keras_gan.serving.bodies import BodyReader
from keras_gan.serving.errors import ServingError, invalid, release
from keras_gan.serving.tensors import array_to_json, json_to_array, strings_to_json

logger = logging.getLogger("keras_gan.serving")

_VERSION_OR_LABEL = r"(?:(?:/versions/([^/:]+))|(?:/labels/([^/:]+)))?"
PREDICT_RE = re.compile(
    r"/v1/models/([^/:]+)" + _VERSION_OR_LABEL + r":(classify|regress|predict)", re.IGNORECASE
)
STATUS_RE = re.compile(r"/v1/models(?:/([^/:]+))?" + _VERSION_OR_LABEL + r"(?:/(metadata))?", re.I)
_MAX_INT64 = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,30}")


def json_response(body, status=200):
    text = json.dumps(body, allow_nan=True)  # NaN/Infinity tokens, as TF Serving writes
    return web.Response(text=text, status=status, content_type="application/json")


def error_response(status, message):
    return json_response({"error": message}, status=status)


def _version(text):
    if text is None:
        return None
    if not _DIGITS.fullmatch(text) or int(text) > _MAX_INT64:
        raise invalid(f"Failed to convert version: {text} to numeric.")
    return int(text)


# ------------------------------------------------------------------ decoding
def parse_body(body):
    """The request JSON object (NaN/Infinity tokens allowed, as TF Serving)."""
    if not body:
        raise invalid("The request body is empty; send a JSON object with 'instances' or 'inputs'.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("The request body is not UTF-8 text; send a JSON object.") from None
    try:
        request = json.loads(text)
    except RecursionError:
        raise invalid("Malformed JSON in the request body: nested too deeply.") from None
    except ValueError as e:  # JSONDecodeError, or an integer with too many digits
        raise invalid(f"Malformed JSON in the request body: {e}.") from None
    if not isinstance(request, dict):
        raise invalid(
            "The request body must be a JSON object such as "
            '{"instances": [...]} or {"signature_name": "sample", "inputs": {...}}; '
            f"got a JSON {type(request).__name__}."
        )
    return request


def decode_rows(signature, instances, max_batch):
    """The row format: one entry per example; objects when there are several inputs."""
    if not isinstance(instances, list):
        raise invalid("'instances' must be a list with one entry per example (the row format).")
    if not instances:
        raise invalid("'instances' is empty; send at least one example.")
    if len(instances) > max_batch:
        raise invalid(
            f"'instances' has {len(instances)} examples; this server allows at most "
            f"{max_batch} per request (--max_num_samples)."
        )
    names = list(signature.inputs)
    named = all(isinstance(x, dict) for x in instances)
    if len(names) == 1 and not named:
        return {names[0]: json_to_array(signature.inputs[names[0]], instances, max_batch)}
    if not named:
        raise invalid(
            f"signature {signature.name!r} has several inputs {sorted(names)}: each entry of "
            "'instances' must be an object holding all of them."
        )
    for i, instance in enumerate(instances):
        if set(instance) != set(names):
            try:
                core.check_input_names(signature, instance)
            except ServingError as e:
                raise invalid(f"instances[{i}]: {e.message}") from None
    return {
        name: json_to_array(signature.inputs[name], [x[name] for x in instances], max_batch)
        for name in names
    }


def decode_columns(signature, inputs, max_batch):
    """The columnar format: ``{name: value}``, or a bare value for one input."""
    names = list(signature.inputs)
    if isinstance(inputs, dict):
        core.check_input_names(signature, inputs)
        return {k: json_to_array(signature.inputs[k], v, max_batch) for k, v in inputs.items()}
    if len(names) == 1:
        return {names[0]: json_to_array(signature.inputs[names[0]], inputs, max_batch)}
    raise invalid(
        f"signature {signature.name!r} has several inputs {sorted(names)}: 'inputs' must be "
        "an object mapping each input name to its value."
    )


def encode_outputs(outputs, row_format):
    """TF Serving's response body (bytes): ``predictions`` (rows) or ``outputs``
    (columns); the name is dropped when there is a single output.

    Finite outputs are written by orjson straight from the arrays (float32 in
    its shortest exact form, several times faster than ``json``); non-finite
    ones by ``json``, which writes ``NaN``/``Infinity`` tokens as TF Serving does.
    """
    outputs = {k: np.ascontiguousarray(v) for k, v in outputs.items()}
    outputs = {  # strings: {"b64": ...} for *_bytes outputs (PNG), text otherwise
        k: strings_to_json(k, v) if v.dtype.kind in "OSU" else v for k, v in outputs.items()
    }
    if row_format:
        if len(outputs) == 1:
            body = {"predictions": next(iter(outputs.values()))}
        else:
            n = min(len(v) for v in outputs.values())
            body = {"predictions": [{k: v[i] for k, v in outputs.items()} for i in range(n)]}
    elif len(outputs) == 1:
        body = {"outputs": next(iter(outputs.values()))}
    else:
        body = {"outputs": outputs}
    finite = all(
        not isinstance(v, np.ndarray) or v.dtype.kind != "f" or np.isfinite(v).all()
        for v in outputs.values()
    )
    if finite:
        return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    return json.dumps(body, default=array_to_json, allow_nan=True).encode()


# ------------------------------------------------------------------ the app
class RestApi:
    """The request handlers (see the module doc)."""

    def __init__(
        self, registry, limits, executor, max_request_bytes, timeout_seconds=30.0, bodies=None
    ):
        self.registry = registry
        self.limits = limits
        self.executor = executor
        self.max_request_bytes = int(max_request_bytes)
        self.timeout = timeout_seconds if timeout_seconds and timeout_seconds > 0 else None
        self.bodies = bodies or BodyReader(max_request_bytes, slots=4)

    def predict_sync(self, body, name, version, label):
        """Parse, check, run and encode one predict request (in a worker thread)."""
        request = parse_body(body)
        signature_name = request.get("signature_name", "")
        if not isinstance(signature_name, str):
            raise invalid("'signature_name' must be a string.")
        has_rows, has_columns = "instances" in request, "inputs" in request
        if has_rows and has_columns:
            raise invalid("Send either 'instances' (row format) or 'inputs' (columnar), not both.")
        if not (has_rows or has_columns):
            raise invalid(
                "Missing 'inputs' or 'instances' key: the row format sends "
                '{"instances": [...]}, the columnar format {"inputs": {...}}.'
            )

        def decode(signature, max_batch):
            if has_rows:
                return decode_rows(signature, request["instances"], max_batch)
            return decode_columns(signature, request["inputs"], max_batch)

        _, _, outputs = core.predict(
            self.registry, self.limits, name, version, label, signature_name, decode
        )
        return encode_outputs(outputs, has_rows)

    async def handle(self, request):
        path = request.rel_url.raw_path
        method = request.method
        if not path.lower().startswith("/v1/"):
            return error_response(
                404, f"Not found: {method} {path}. The API is under /v1/models/<name>."
            )
        if method == "POST":
            m = PREDICT_RE.fullmatch(path)
            if m:
                name, version, label, verb = m.groups()
                return await self._predict(request, unquote(name), version, label, verb)
        elif method == "GET":
            m = STATUS_RE.fullmatch(path)
            if m:
                name, version, label, sub = m.groups()
                if not name and not (version or label or sub):
                    return json_response(self.models_json())
                if not name:
                    raise invalid("Missing model name in request.")
                version = _version(version)
                label = unquote(label) if label else None
                if sub:
                    body = core.metadata_json(self.registry, unquote(name), version, label)
                else:
                    body = core.to_json_dict(
                        core.status_response(self.registry, unquote(name), version, label)
                    )
                return json_response(body)
        raise invalid(
            f"Malformed request: {method} {path}. Use POST /v1/models/<name>[/versions/<v>]"
            ":predict, or GET /v1/models/<name>[/versions/<v>][/metadata]."
        )

    def models_json(self):
        """``GET /v1/models`` (an extension: TF Serving has no listing): the served
        models' names, ``{"models": [{"name": ...}, ...]}``, sorted."""
        return {"models": [{"name": name} for name in self.registry.model_names]}

    async def _predict(self, request, name, version, label, verb):
        version = _version(version)
        label = unquote(label) if label else None
        if verb.lower() != "predict":
            raise invalid(
                f"{verb} is not supported: the generators served here have predict "
                "signatures only (use :predict)."
            )
        # A body announced over the limit is refused from its headers, unread;
        # large bodies wait for one of the reader's slots (see bodies.py).
        body, release = await self.bodies.read(request)
        try:
            work = self.executor.submit(self.predict_sync, body, name, version, label)
        except BaseException:
            release()
            raise
        del body  # the worker holds it; the slot is freed when the worker is done
        loop = asyncio.get_running_loop()
        work.add_done_callback(lambda _: _call_soon(loop, release))
        try:
            payload = await asyncio.wait_for(asyncio.wrap_future(work), self.timeout)
        except asyncio.TimeoutError:
            raise ServingError(
                "DEADLINE_EXCEEDED", f"The request took longer than {self.timeout} s."
            ) from None
        return web.Response(body=payload, content_type="application/json")

    @web.middleware
    async def errors(self, request, handler):
        """Every error as ``{"error": ...}`` with TF Serving's status."""
        try:
            return await handler(request)
        except ServingError as e:
            release(e)  # see release(): frees the request's memory now
            response = error_response(e.http_status, e.message)
            if getattr(e, "close_connection", False):
                response.force_close()  # the rest of the body is not read
            return response
        except web.HTTPRequestEntityTooLarge as e:
            release(e)
            return error_response(
                413,
                f"Request body too large: the limit is {self.max_request_bytes} bytes "
                "(--max_request_bytes).",
            )
        except web.HTTPException as e:
            release(e)
            return error_response(e.status, e.text or e.reason)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as e:  # a bug: log it, answer 500 without a traceback
            logger.exception("unexpected error on %s %s", request.method, request.path)
            release(e)
            return error_response(500, f"Internal error: {type(e).__name__}")


def _call_soon(loop, callback):
    """Run ``callback`` on ``loop`` from another thread (nothing if it is closed)."""
    try:
        loop.call_soon_threadsafe(callback)
    except RuntimeError:  # the loop is closed: the server is shutting down
        pass


def install_json_protocol_errors():
    """Answer malformed HTTP as JSON too.

    aiohttp answers a request it cannot parse (a bad request line, a header over
    8 KiB) itself, before any handler or middleware runs, in plain text and with
    a logged traceback. In this server process those answers become
    ``{"error": "Bad HTTP request: ..."}`` with the same 4xx status, and the
    tracebacks are not logged (handler errors are logged by the middleware).
    """
    from http import HTTPStatus

    from aiohttp import web_protocol

    original = web_protocol.RequestHandler.handle_error
    if getattr(original, "_keras_gan_json", False):
        return

    def handle_error(self, request, status=500, exc=None, message=None):
        response = original(self, request, status, exc, message)
        if status >= 500 or not isinstance(response, web.Response):
            return response
        detail = (message or HTTPStatus(status).phrase).strip().splitlines()[0][:200]
        if "Data after" in detail:  # e.g. an HTTP/1.0 POST without Content-Length
            detail += (
                " the request ended before these bytes (HTTP/1.0 or Connection: close without "
                "a Content-Length means no body); send the body with a Content-Length header"
            )
        replaced = error_response(status, f"Bad HTTP request: {detail}")
        replaced.force_close()
        return replaced

    handle_error._keras_gan_json = True
    web_protocol.RequestHandler.handle_error = handle_error
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)


def make_app(
    registry, limits, executor, max_request_bytes, timeout_seconds=30.0, plugins=(), bodies=None
):
    """The aiohttp application of the REST API; each of ``plugins`` is called
    with the app to add its routes and middlewares (metrics, explorer page).
    ``bodies``: the :class:`~keras_gan.serving.bodies.BodyReader` (its slots
    and body timeout; default: 4 slots, 30 s)."""
    api = RestApi(registry, limits, executor, max_request_bytes, timeout_seconds, bodies)
    app = web.Application(client_max_size=int(max_request_bytes), middlewares=[api.errors])
    for install in plugins:
        install(app)
    app.router.add_route("*", "/{tail:.*}", api.handle)
    return app
