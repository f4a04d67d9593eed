"""``keras-gan serve``: the embedded TF-Serving-compatible server (REST + gRPC).

Takes TensorFlow Serving's flag names, so a ``tensorflow_model_server`` command
line works unchanged::

    keras-gan serve --model_name=mnist_gan --model_base_path=saved_models/mnist_gan
    keras-gan serve --model_config_file=serving/models.config --port=8500 --rest_api_port=8501

It imports no training code.
"""

from __future__ import annotations

import logging

DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024


def register(subparsers):
    p = subparsers.add_parser(
        "serve",
        help="serve exported generators over REST and gRPC (TF Serving's API)",
        description="A TensorFlow-Serving-compatible model server for exported generators: "
        "TF Serving's REST and gRPC APIs, its flag names and its versioned directory layout. "
        "New versions are picked up without restart.",
    )
    p.add_argument("--port", type=int, default=8500, help="gRPC port (default 8500; 0: any)")
    p.add_argument(
        "--rest_api_port",
        type=int,
        default=8501,
        help="REST port (default 8501; 0 disables REST, as in TF Serving)",
    )
    p.add_argument(
        "--host", default="0.0.0.0", help="address to bind (default 0.0.0.0, all interfaces)"
    )
    p.add_argument("--model_name", default="default", help="name of the single model served")
    p.add_argument("--model_base_path", help="directory of the model's numbered versions")
    p.add_argument(
        "--model_config_file",
        help="a ModelServerConfig text file (model_config_list) instead of the two flags above",
    )
    p.add_argument(
        "--file_system_poll_wait_seconds",
        type=float,
        default=1.0,
        help="seconds between scans for new versions (default 1; <= 0: scan once)",
    )
    p.add_argument(
        "--max_num_samples",
        type=int,
        default=1024,
        help="largest num_samples / batch of z per request (default 1024)",
    )
    p.add_argument(
        "--max_request_bytes",
        type=int,
        default=DEFAULT_MAX_REQUEST_BYTES,
        help=f"largest request body or gRPC message (default {DEFAULT_MAX_REQUEST_BYTES})",
    )
    p.add_argument(
        "--num_request_threads",
        type=int,
        default=4,
        help="threads that decode and run requests (default 4)",
    )
    p.add_argument(
        "--rest_api_timeout_in_ms",
        type=int,
        default=30000,
        help="REST request timeout (default 30000; <= 0: none)",
    )
    p.add_argument(
        "--enable_batching",
        nargs="?",
        const=True,
        default=False,
        type=_bool_flag,
        help="merge concurrent sample/serving_default requests into one generator call "
        "(answers unchanged, bit for bit)",
    )
    p.add_argument(
        "--batching_parameters_file",
        help="a BatchingParameters text file (max_batch_size, batch_timeout_micros, ...)",
    )
    p.add_argument(
        "--monitoring_config_file",
        help="a MonitoringConfig text file: Prometheus metrics on the REST port",
    )
    p.add_argument(
        "--model_config_file_poll_wait_seconds",
        type=float,
        default=0.0,
        help="seconds between re-reads of --model_config_file (default 0: never)",
    )
    p.add_argument(
        "--noexplorer",
        dest="explorer",
        action="store_false",
        help="do not serve the sample explorer page at GET / on the REST port",
    )
    _add_limit_flags(p)
    p.add_argument("--tensorflow_intra_op_parallelism", type=int, default=0)
    p.add_argument("--tensorflow_inter_op_parallelism", type=int, default=0)
    p.set_defaults(func=run)


def _bool_flag(text):
    """TF Serving's boolean flag values (``--enable_batching=true``)."""
    value = str(text).lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    import argparse

    raise argparse.ArgumentTypeError(f"expected true or false; got {text!r}")


def _extension_options(args):
    """The ServerOptions of batching, monitoring and config polling (their
    files read and checked now: a bad one stops the start with one line)."""
    from keras_gan.serving.batching import BatchingConfigError, load_batching_parameters
    from keras_gan.serving.monitoring import MonitoringConfigError, load_monitoring_config

    if args.batching_parameters_file and not args.enable_batching:
        raise ValueError("--batching_parameters_file needs --enable_batching.")
    if args.model_config_file_poll_wait_seconds > 0 and not args.model_config_file:
        raise ValueError("--model_config_file_poll_wait_seconds needs --model_config_file.")
    try:
        batching = (
            load_batching_parameters(args.batching_parameters_file)
            if args.enable_batching
            else None
        )
        monitoring = (
            load_monitoring_config(args.monitoring_config_file)
            if args.monitoring_config_file
            else None
        )
    except (BatchingConfigError, MonitoringConfigError) as e:
        raise ValueError(str(e)) from None
    return dict(
        enable_batching=bool(args.enable_batching),
        batching_parameters=batching,
        monitoring_path=monitoring,
        model_config_file=args.model_config_file,
        model_config_file_poll_wait_seconds=args.model_config_file_poll_wait_seconds,
        explorer=args.explorer,
    )


def _add_limit_flags(p):
    """Connection limits, timeouts and TLS (README: "Serving: limits, timeouts,
    TLS, memory bound")."""
    g = p.add_argument_group("connection limits and TLS")
    g.add_argument(
        "--rest_idle_timeout_seconds",
        type=float,
        default=10.0,
        help="close a REST connection without complete request headers this long after it "
        "opened or after its last answer: idle keep-alive, incomplete headers, TLS handshake "
        "(default 10)",
    )
    g.add_argument(
        "--rest_body_timeout_seconds",
        type=float,
        default=30.0,
        help="a request body must arrive within this many seconds of its headers (else 408), "
        "and waits at most this long to be read (else 503) (default 30)",
    )
    g.add_argument(
        "--rest_max_connections",
        type=int,
        default=1024,
        help="open REST connections at most; more wait to be accepted (default 1024, lowered "
        "to fit below the open-file limit)",
    )
    g.add_argument(
        "--grpc_max_connections",
        type=int,
        default=1024,
        help="open gRPC connections at most (default 1024, lowered like the REST one)",
    )
    g.add_argument(
        "--grpc_max_concurrent_streams",
        type=int,
        default=32,
        help="concurrent gRPC calls per connection (default 32)",
    )
    g.add_argument(
        "--grpc_max_connection_idle_seconds",
        type=float,
        default=60.0,
        help="close a gRPC connection without calls for this long (default 60)",
    )
    g.add_argument("--ssl_cert_file", help="PEM certificate (chain): TLS on REST and gRPC")
    g.add_argument("--ssl_key_file", help="PEM private key of --ssl_cert_file")
    g.add_argument(
        "--ssl_ca_file", help="PEM CA: require client certificates it signed (mutual TLS)"
    )
    g.add_argument(
        "--ssl_config_file",
        help="TF Serving's SSLConfig text file (server_key, server_cert, custom_ca, "
        "client_verify): TLS on gRPC and REST",
    )


def _limit_options(args):
    names = (
        "rest_idle_timeout_seconds",
        "rest_body_timeout_seconds",
        "rest_max_connections",
        "grpc_max_connections",
        "grpc_max_concurrent_streams",
        "grpc_max_connection_idle_seconds",
        "ssl_cert_file",
        "ssl_key_file",
        "ssl_ca_file",
        "ssl_config_file",
    )
    return {name: getattr(args, name) for name in names}


def _check_tls(options):
    """A certificate, key or SSL config that cannot be used stops the start
    now, before any model is loaded (one line)."""
    from keras_gan.cli import CommandError
    from keras_gan.serving.tls import TlsError, rest_context

    try:
        tls = options.tls()
        if tls is not None:
            rest_context(tls)
    except TlsError as e:
        raise CommandError(str(e)) from None


def run(args):
    from keras_gan.cli import CommandError
    from keras_gan.serving.config import ModelConfigError, from_flags, load_model_config

    try:
        if args.model_config_file:
            if args.model_base_path:
                raise CommandError(
                    "pass either --model_config_file or --model_base_path, not both."
                )
            models = load_model_config(args.model_config_file)
        else:
            models = from_flags(args.model_name, args.model_base_path)
    except ModelConfigError as e:
        raise CommandError(str(e)) from None

    from keras_gan.serving.server import ServeError, ServerOptions, serve

    try:
        options = ServerOptions(
            models=models,
            host=args.host,
            port=args.port,
            rest_api_port=args.rest_api_port,
            file_system_poll_wait_seconds=args.file_system_poll_wait_seconds,
            max_num_samples=args.max_num_samples,
            max_request_bytes=args.max_request_bytes,
            num_request_threads=args.num_request_threads,
            rest_api_timeout_in_ms=args.rest_api_timeout_in_ms,
            tensorflow_intra_op_parallelism=args.tensorflow_intra_op_parallelism,
            tensorflow_inter_op_parallelism=args.tensorflow_inter_op_parallelism,
            **_limit_options(args),
            **_extension_options(args),
        )
    except ValueError as e:
        raise CommandError(str(e)) from None
    _check_tls(options)
    logging.getLogger("keras_gan.serving").setLevel(logging.INFO)
    try:
        return serve(options)
    except ServeError as e:
        raise CommandError(str(e)) from None
