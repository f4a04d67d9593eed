"""Prometheus metrics with TF Serving's names, on the REST port.

``keras-gan serve --monitoring_config_file FILE`` takes TF Serving's
``MonitoringConfig`` text format::

    prometheus_config {
      enable: true,
      path: "/monitoring/prometheus/metrics"
    }

and serves the metrics at ``path`` (default ``/monitoring/prometheus/metrics``)
in Prometheus' text exposition format, written by ``prometheus_client``:

``:tensorflow:serving:request_count{model_name, status}``
    Predict requests by model and status code (``OK``, ``INVALID_ARGUMENT``, ...).
``:tensorflow:serving:request_latency{model_name, API, entrypoint}``
    Histogram of the wall time of a request in microseconds (TF Serving's
    buckets: 10 * 1.8^i, 33 of them); ``API`` is ``predict``,
    ``GetModelMetadata`` or ``GetModelStatus``, ``entrypoint`` ``REST`` or ``GRPC``.
``:tensorflow:serving:runtime_latency{model_name, API, runtime}``
    Histogram of the TensorFlow part of a predict request (microseconds;
    with batching: the request's wait for its batch and the batch's run).
``:tensorflow:cc:saved_model:load_attempt_count{model_path, status}``,
``:tensorflow:cc:saved_model:load_latency{model_path}``
    Version loads (``success`` / ``fail``) and their total time (microseconds).
``:tensorflow:serving:model_warmup_latency{model_path}``
    Histogram of the warm-up replay time of each load (microseconds).
``:tensorflow:serving:batching_session:queuing_latency{thread_pool_name}``
    With ``--enable_batching``: how long merged requests waited in the queue.
``:keras_gan:serving:batch_size{model_name}``
    With ``--enable_batching``: rows of each merged call (padding included).

TF Serving's counters have no ``_total`` suffix, which ``prometheus_client``
adds to every counter; they are therefore exposed *untyped* under TF Serving's
exact sample names, so the same PromQL queries (``rate(...)``) work unchanged.

Example:

```python
from keras_gan.serving.monitoring import Monitor, parse_monitoring_config

monitor = Monitor(parse_monitoring_config('prometheus_config { enable: true }'))
monitor.count_request("mnist_gan", "predict", "REST", "OK", seconds=0.002)
print(monitor.exposition().decode()[:60])
```
"""

from __future__ import annotations

import logging
import re
import threading
import time

import prometheus_client
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import Metric

from keras_gan.serving.config import read_flag_file

logger = logging.getLogger("keras_gan.serving")

DEFAULT_PATH = "/monitoring/prometheus/metrics"
#: TF Serving's latency buckets (microseconds): scale 10, growth 1.8, 33 buckets.
LATENCY_BUCKETS = tuple(10 * 1.8**i for i in range(33))
RUNTIME = "TF2"
_PATH_RE = re.compile(r"/[A-Za-z0-9._~/-]*")

# The _created series are not part of TF Serving's output.
prometheus_client.disable_created_metrics()


class MonitoringConfigError(ValueError):
    """The monitoring config is invalid; the message says why."""


def _monitoring_message_class():
    """TF Serving's ``tensorflow.serving.MonitoringConfig`` (its proto is not
    shipped with ``tensorflow-serving-api``: built from its fields)."""
    f = descriptor_pb2.FileDescriptorProto(
        name="keras_gan/monitoring_config.proto", package="tensorflow.serving", syntax="proto3"
    )
    prometheus = f.message_type.add(name="PrometheusConfig")
    prometheus.field.add(name="enable", number=1, type=8, label=1)  # bool
    prometheus.field.add(name="path", number=2, type=9, label=1)  # string
    config = f.message_type.add(name="MonitoringConfig")
    config.field.add(
        name="prometheus_config",
        number=1,
        type=11,  # message
        type_name=".tensorflow.serving.PrometheusConfig",
        label=1,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.MonitoringConfig")
    )


_MonitoringConfigProto = _monitoring_message_class()


def parse_monitoring_config(text):
    """The metrics path of a ``MonitoringConfig`` text, or ``None`` when
    ``prometheus_config.enable`` is false."""
    message = _MonitoringConfigProto()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as e:
        raise MonitoringConfigError(
            f"not a valid MonitoringConfig text proto: {e} (expected "
            'prometheus_config { enable: true path: "/monitoring/prometheus/metrics" })'
        ) from None
    config = message.prometheus_config
    if not config.enable:
        return None
    path = config.path or DEFAULT_PATH
    if not _PATH_RE.fullmatch(path) or "//" in path or path.rstrip("/") == "":
        raise MonitoringConfigError(
            f"prometheus_config.path must be an absolute URL path such as {DEFAULT_PATH!r} "
            f"(letters, digits, '._~-/'); got {path!r}."
        )
    if path.lower().startswith("/v1/") or path.lower() == "/v1":
        raise MonitoringConfigError(
            f"prometheus_config.path {path!r} is under /v1/, the model API; choose another."
        )
    return path


def load_monitoring_config(path):
    """Read ``--monitoring_config_file``: the metrics path or ``None``."""
    return read_flag_file(
        path, "monitoring config file", parse_monitoring_config, MonitoringConfigError
    )


class _Counters:
    """Counters exposed under TF Serving's names (untyped: see the module doc)."""

    def __init__(self, families):
        self._families = families  # name -> (help, label names)
        self._values = {name: {} for name in families}
        self._lock = threading.Lock()

    def inc(self, name, labels, amount=1.0):
        with self._lock:
            values = self._values[name]
            values[labels] = values.get(labels, 0.0) + amount

    def collect(self):
        with self._lock:
            snapshot = {name: dict(v) for name, v in self._values.items()}
        for name, (doc, label_names) in self._families.items():
            metric = Metric(name, doc, "unknown")
            for labels, value in sorted(snapshot[name].items()):
                metric.add_sample(name, dict(zip(label_names, labels)), value)
            yield metric


REQUEST_COUNT = ":tensorflow:serving:request_count"
LOAD_ATTEMPT_COUNT = ":tensorflow:cc:saved_model:load_attempt_count"
LOAD_LATENCY = ":tensorflow:cc:saved_model:load_latency"


def _model_name(request, response):
    """The model of a gRPC request: its ``model_spec.name`` (the request may
    still be its bytes: the answer's ``model_spec`` then, or the request's
    field 1, the ``model_spec`` of every TF Serving request)."""
    if not isinstance(request, bytes):
        return request.model_spec.name
    spec = getattr(response, "model_spec", None)
    if spec is not None and spec.name:
        return spec.name
    from tensorflow_serving.apis import get_model_status_pb2

    try:  # GetModelStatusRequest holds only field 1, model_spec
        return get_model_status_pb2.GetModelStatusRequest.FromString(request).model_spec.name
    except Exception:  # not a valid message
        return ""


class Monitor:
    """The server's metrics and their exposition (see the module doc).

    Args:
        path: the URL path of the metrics.
    """

    def __init__(self, path=DEFAULT_PATH):
        self.path = path
        self.registry = CollectorRegistry(auto_describe=False)
        self._counters = _Counters(
            {
                REQUEST_COUNT: ("The total number of requests.", ("model_name", "status")),
                LOAD_ATTEMPT_COUNT: (
                    "The number of times a SavedModel was attempted to load.",
                    ("model_path", "status"),
                ),
                LOAD_LATENCY: (
                    "Latency in microseconds for SavedModels that were successfully loaded.",
                    ("model_path",),
                ),
            }
        )
        self.registry.register(self._counters)

        def histogram(name, doc, labels, buckets=LATENCY_BUCKETS):
            return Histogram(name, doc, labels, buckets=buckets, registry=self.registry)

        self.request_latency = histogram(
            ":tensorflow:serving:request_latency",
            "Distribution of wall time (in microseconds) for Tensorflow Serving request.",
            ["model_name", "API", "entrypoint"],
        )
        self.runtime_latency = histogram(
            ":tensorflow:serving:runtime_latency",
            "Distribution of wall time (in microseconds) for Tensorflow runtime.",
            ["model_name", "API", "runtime"],
        )
        self.warmup_latency = histogram(
            ":tensorflow:serving:model_warmup_latency",
            "Distribution of wall time (in microseconds) for warming up the model.",
            ["model_path"],
        )
        self.queuing_latency = histogram(
            ":tensorflow:serving:batching_session:queuing_latency",
            "Distribution of wall time (in microseconds) merged requests spent in the queue.",
            ["thread_pool_name"],
        )
        self.batch_size = histogram(
            ":keras_gan:serving:batch_size",
            "Rows of each merged generator call (padding included).",
            ["model_name"],
            buckets=tuple(2**i for i in range(12)),
        )

    # ------------------------------------------------------------ recording
    def count_request(self, model_name, api, entrypoint, status, seconds):
        """One finished request (``status``: a TF Serving error code name)."""
        model_name = model_name or ""
        if api == "predict":
            self._counters.inc(REQUEST_COUNT, (model_name, status))
        self.request_latency.labels(model_name, api, entrypoint).observe(seconds * 1e6)

    def observe_runtime(self, model_name, seconds, api="predict"):
        self.runtime_latency.labels(model_name, api, RUNTIME).observe(seconds * 1e6)

    def observe_batch(self, loaded, requests, rows, seconds, queued_seconds=()):
        self.batch_size.labels(loaded.name).observe(rows)
        for s in queued_seconds:
            self.queuing_latency.labels("batch_threads").observe(s * 1e6)

    def wrap_loader(self, loader):
        """``loader`` (``(name, version, path) -> LoadedVersion``) that records
        the load metrics."""

        def load(name, version, path):
            start = time.perf_counter()
            try:
                loaded = loader(name, version, path)
            except BaseException:
                self._counters.inc(LOAD_ATTEMPT_COUNT, (path, "fail"))
                raise
            self._counters.inc(LOAD_ATTEMPT_COUNT, (path, "success"))
            self._counters.inc(LOAD_LATENCY, (path,), (time.perf_counter() - start) * 1e6)
            warmup = getattr(loaded, "warmup_seconds", None)
            if warmup is not None:
                self.warmup_latency.labels(path).observe(warmup * 1e6)
            return loaded

        return load

    # ------------------------------------------------------------ exposition
    def exposition(self):
        """The metrics in Prometheus' text format (bytes)."""
        return prometheus_client.generate_latest(self.registry)

    # ------------------------------------------------------------ REST
    def install(self, app):
        """Serve the metrics at :attr:`path` and time the REST requests."""
        from aiohttp import web

        from keras_gan.serving.errors import ServingError
        from keras_gan.serving.rest import PREDICT_RE, STATUS_RE

        async def metrics(request):
            return web.Response(
                body=self.exposition(),
                headers={"Content-Type": prometheus_client.CONTENT_TYPE_LATEST},
            )

        app.router.add_route("GET", self.path, metrics)

        def describe(request):
            path = request.rel_url.raw_path
            m = PREDICT_RE.fullmatch(path) if request.method == "POST" else None
            if m:
                return m.group(1), "predict"
            m = STATUS_RE.fullmatch(path) if request.method == "GET" else None
            if m and m.group(1):
                return m.group(1), "GetModelMetadata" if m.group(4) else "GetModelStatus"
            return None, None

        @web.middleware
        async def timing(request, handler):
            model, api = describe(request)
            if model is None:
                return await handler(request)
            start = time.perf_counter()
            status = "OK"
            try:
                response = await handler(request)
            except ServingError as e:
                status = e.code
                raise
            except web.HTTPException as e:
                status = ServingError.from_http(e.status, "").code
                raise
            except Exception:
                status = "INTERNAL"
                raise
            finally:
                self.count_request(model, api, "REST", status, time.perf_counter() - start)
            return response

        app.middlewares.append(timing)

    # ------------------------------------------------------------ gRPC
    def grpc_interceptor(self):
        """A ``grpc.aio`` server interceptor that times the requests."""
        import grpc

        monitor = self
        apis = {
            "/tensorflow.serving.PredictionService/Predict": "predict",
            "/tensorflow.serving.PredictionService/GetModelMetadata": "GetModelMetadata",
            "/tensorflow.serving.ModelService/GetModelStatus": "GetModelStatus",
        }

        class Interceptor(grpc.aio.ServerInterceptor):
            async def intercept_service(self, continuation, details):
                handler = await continuation(details)
                api = apis.get(details.method)
                if api is None or handler is None or handler.unary_unary is None:
                    return handler
                behaviour = handler.unary_unary

                async def timed(request, context):
                    start = time.perf_counter()
                    status, response = "OK", None
                    try:
                        response = await behaviour(request, context)
                        return response
                    except BaseException:
                        code = context.code()
                        status = code.name if code is not None else "INTERNAL"
                        raise
                    finally:
                        monitor.count_request(
                            _model_name(request, response),
                            api,
                            "GRPC",
                            status,
                            time.perf_counter() - start,
                        )

                return grpc.unary_unary_rpc_method_handler(
                    timed,
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )

        return Interceptor()


__all__ = [
    "Monitor",
    "MonitoringConfigError",
    "parse_monitoring_config",
    "load_monitoring_config",
    "DEFAULT_PATH",
]
