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


def _grpc_address(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _display_host(host):
    return "localhost" if host in ("0.0.0.0", "::", "") else host


async def _serve_async(options, registry, ready=None, extensions=None):
    import grpc
    from aiohttp import web

    from keras_gan.serving.extensions import Extensions
    from keras_gan.serving.grpc_service import add_services
    from keras_gan.serving.predict import Limits
    from keras_gan.serving.rest import install_json_protocol_errors, make_app

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
    grpc_server = grpc.aio.server(
        interceptors=extensions.grpc_interceptors(),
        options=[
            ("grpc.max_receive_message_length", options.max_request_bytes),
            ("grpc.max_send_message_length", -1),
            ("grpc.so_reuseport", 0),
        ],
    )
    add_services(grpc_server, registry, limits, executor)
    address = _grpc_address(options.host, options.port)
    try:
        grpc_port = grpc_server.add_insecure_port(address)
    except RuntimeError as e:
        raise ServeError(f"cannot listen for gRPC on {address}: {e}") from None
    if not grpc_port:
        raise ServeError(f"cannot listen for gRPC on {address} (is the port in use?)")
    runner = None
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
            )
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, options.host, options.rest_api_port)
            try:
                await site.start()
            except OSError as e:
                raise ServeError(
                    f"cannot listen for REST on {options.host}:{options.rest_api_port}: "
                    f"{e.strerror or e}"
                ) from None
            rest_port = options.rest_api_port
        host = _display_host(options.host)
        rest = f"REST on http://{host}:{rest_port}" if rest_port else "REST disabled"
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
