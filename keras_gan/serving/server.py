"""``keras-gan serve``: a TF-Serving-compatible server, REST and gRPC in one process.

One asyncio event loop runs the aiohttp REST API and the ``grpc.aio`` gRPC
services; the TensorFlow work of both goes to one bounded thread pool
(``num_request_threads``). A background thread polls the models' base paths
for new versions (see :mod:`keras_gan.serving.registry`). ``SIGTERM`` and
``SIGINT`` stop it gracefully.

Example:

```python
from keras_gan.serving.config import from_flags
from keras_gan.serving.server import ServerOptions, serve

serve(ServerOptions(models=from_flags("mnist_gan", "saved_models/mnist_gan")))
```
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import signal
import socket

logger = logging.getLogger("keras_gan.serving")

DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024


class ServeError(RuntimeError):
    """The server could not start (e.g. a port is taken)."""


@dataclasses.dataclass
class ServerOptions:
    """Settings of :func:`serve` (the ``keras-gan serve`` flags)."""

    models: list
    host: str = "0.0.0.0"
    port: int = 8500
    rest_api_port: int = 8501
    file_system_poll_wait_seconds: float = 1.0
    max_num_samples: int = 1024
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    num_request_threads: int = 4
    rest_api_timeout_in_ms: int = 30000
    tensorflow_intra_op_parallelism: int = 0
    tensorflow_inter_op_parallelism: int = 0
    # Connection limits and TLS (README "Serving: limits, timeouts, TLS,
    # memory bound"): seconds, and connections capped below the file limit.
    rest_idle_timeout_seconds: float = 10.0
    rest_body_timeout_seconds: float = 30.0
    rest_max_connections: int = 1024
    grpc_max_connections: int = 1024
    grpc_max_concurrent_streams: int = 32
    grpc_max_connection_idle_seconds: float = 60.0
    ssl_cert_file: str | None = None
    ssl_key_file: str | None = None
    ssl_ca_file: str | None = None
    ssl_config_file: str | None = None
    # The optional parts (keras_gan.serving.extensions): batching, metrics,
    # config polling, the explorer page.
    enable_batching: bool = False
    batching_parameters: object = None
    monitoring_path: str | None = None
    model_config_file: str | None = None
    model_config_file_poll_wait_seconds: float = 0.0
    explorer: bool = True

    def __post_init__(self):
        for name in ("port", "rest_api_port"):
            value = getattr(self, name)
            if not 0 <= value <= 65535:
                raise ValueError(f"--{name} must be in [0, 65535]; got {value}.")
        if self.port and self.port == self.rest_api_port:
            raise ValueError("--port and --rest_api_port must differ.")
        for name in ("max_num_samples", "max_request_bytes", "num_request_threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be >= 1; got {getattr(self, name)}.")
        if self.max_num_samples >= 2**31:
            raise ValueError(f"--max_num_samples must be < 2**31; got {self.max_num_samples}.")
        for name in (
            "rest_max_connections",
            "grpc_max_connections",
            "grpc_max_concurrent_streams",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be >= 1; got {getattr(self, name)}.")
        for name in (
            "rest_idle_timeout_seconds",
            "rest_body_timeout_seconds",
            "grpc_max_connection_idle_seconds",
        ):
            value = getattr(self, name)
            if not (value > 0 and value < 86400):  # NaN fails too
                raise ValueError(f"--{name} must be in (0, 86400) seconds; got {value}.")
        if bool(self.ssl_cert_file) != bool(self.ssl_key_file):
            raise ValueError("--ssl_cert_file and --ssl_key_file go together: pass both.")
        if self.ssl_ca_file and not self.ssl_cert_file:
            raise ValueError("--ssl_ca_file needs --ssl_cert_file and --ssl_key_file.")
        if self.ssl_config_file and self.ssl_cert_file:
            raise ValueError("pass either --ssl_config_file or --ssl_cert_file/--ssl_key_file.")

    def tls(self):
        """The :class:`~keras_gan.serving.tls.TlsConfig` of the flags, or ``None``."""
        from keras_gan.serving import tls

        if self.ssl_config_file:
            return tls.from_ssl_config_file(self.ssl_config_file)
        if self.ssl_cert_file:
            return tls.from_files(self.ssl_cert_file, self.ssl_key_file, self.ssl_ca_file)
        return None


def _grpc_address(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _display_host(host):
    return "localhost" if host in ("0.0.0.0", "::", "") else host


async def _serve_async(options, registry, ready=None, extensions=None):
    import grpc

    from keras_gan.serving.bodies import BodyReader
    from keras_gan.serving.extensions import Extensions
    from keras_gan.serving.grpc_service import add_services, server_options
    from keras_gan.serving.listener import connection_caps, open_file_limit, start_rest
    from keras_gan.serving.predict import Limits
    from keras_gan.serving.rest import install_json_protocol_errors, make_app
    from keras_gan.serving.tls import TlsError, grpc_credentials, rest_context

    extensions = extensions or Extensions(options)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    limits = Limits(
        max_num_samples=options.max_num_samples,
        batcher=extensions.batcher,
        monitor=extensions.monitor,
    )
    executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=extensions.request_threads(options.num_request_threads),
        thread_name_prefix="keras-gan-serve",
    )
    try:
        tls = options.tls()
        ssl_context = rest_context(tls) if tls else None
    except TlsError as e:
        raise ServeError(str(e)) from None
    file_limit = open_file_limit()
    rest_cap, grpc_cap = connection_caps(
        options.rest_max_connections if options.rest_api_port else 0,
        options.grpc_max_connections,
        file_limit,
    )
    if (rest_cap, grpc_cap) != (
        options.rest_max_connections if options.rest_api_port else 0,
        options.grpc_max_connections,
    ):
        logger.warning(
            "open connections capped at %d (REST) and %d (gRPC): the open-file limit is %d",
            rest_cap,
            grpc_cap,
            file_limit,
        )
    grpc_server = grpc.aio.server(
        interceptors=extensions.grpc_interceptors(),
        options=server_options(options, grpc_cap),
    )
    add_services(grpc_server, registry, limits, executor)
    address = _grpc_address(options.host, options.port)
    try:
        if tls:
            grpc_port = grpc_server.add_secure_port(address, grpc_credentials(tls))
        else:
            grpc_port = grpc_server.add_insecure_port(address)
    except RuntimeError as e:
        raise ServeError(f"cannot listen for gRPC on {address}: {e}") from None
    if not grpc_port:
        raise ServeError(f"cannot listen for gRPC on {address} (is the port in use?)")
    runner = listener = None
    rest_port = None
    try:
        await grpc_server.start()
        if options.rest_api_port:
            install_json_protocol_errors()
            app = make_app(
                registry,
                limits,
                executor,
                options.max_request_bytes,
                options.rest_api_timeout_in_ms / 1000.0,
                plugins=extensions.rest_plugins(),
                bodies=BodyReader(
                    options.max_request_bytes,
                    slots=options.num_request_threads,
                    timeout=options.rest_body_timeout_seconds,
                ),
            )
            try:
                runner, listener = await start_rest(
                    app,
                    options.host,
                    options.rest_api_port,
                    max_connections=rest_cap,
                    idle_timeout=options.rest_idle_timeout_seconds,
                    ssl=ssl_context,
                )
            except OSError as e:
                raise ServeError(
                    f"cannot listen for REST on {options.host}:{options.rest_api_port}: "
                    f"{e.strerror or e}"
                ) from None
            rest_port = options.rest_api_port
        host = _display_host(options.host)
        scheme = "https" if tls else "http"
        rest = f"REST on {scheme}://{host}:{rest_port}" if rest_port else "REST disabled"
        logger.info(
            "serving %s: gRPC on %s, %s",
            registry.model_names,
            _grpc_address(host, grpc_port),
            rest,
        )
        if ready is not None:
            ready(grpc_port, rest_port)
        await stop.wait()
        logger.info("shutting down")
    finally:
        await grpc_server.stop(grace=2)
        if listener is not None:
            await listener.close()
        if runner is not None:
            await runner.cleanup()
        executor.shutdown(wait=True, cancel_futures=True)


def serve(options, ready=None):
    """Load the models and serve until SIGTERM/SIGINT (blocking).

    ``ready(grpc_port, rest_port)`` is called once both listen.
    """
    import tensorflow as tf

    from keras_gan.serving.registry import ModelRegistry

    if options.tensorflow_intra_op_parallelism:
        tf.config.threading.set_intra_op_parallelism_threads(
            options.tensorflow_intra_op_parallelism
        )
    if options.tensorflow_inter_op_parallelism:
        tf.config.threading.set_inter_op_parallelism_threads(
            options.tensorflow_inter_op_parallelism
        )
    from keras_gan.serving.extensions import Extensions
    from keras_gan.serving.registry import load_version

    extensions = Extensions(options)
    registry = ModelRegistry(
        options.models,
        options.file_system_poll_wait_seconds,
        loader=extensions.loader(load_version),
    )
    registry.start()
    extensions.start(registry)
    problem = registry.first_error()
    if problem:
        logger.warning("not every model is available yet: %s", problem)
    try:
        asyncio.run(_serve_async(options, registry, ready, extensions))
    finally:
        extensions.stop()
        registry.stop()
    return 0


def free_port(host="127.0.0.1"):
    """A TCP port that is free right now (tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]
