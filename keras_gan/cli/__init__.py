"""The ``keras-gan`` command line: train / evaluate / export / serve / sample.

Each subcommand lives in its own module of this package with a
``register(subparsers)`` function; heavy imports happen inside the command, so
``keras-gan --help`` is fast and ``serve`` never imports training code.

Every error a command meets ends it with one line and a documented exit status
(see :mod:`keras_gan.cli.errors`): 2 when the command cannot run as given, 1 when
it failed while working; ``--debug`` or ``KERAS_GAN_DEBUG=1`` adds the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import traceback

from keras_gan.cli.errors import CommandError, CommandFailure, describe

__all__ = ["main", "build_parser", "CommandError", "CommandFailure", "EXIT_STATUSES"]

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = ("train", "evaluate", "figures", "export", "serve", "sample")


EXIT_STATUSES = """exit status:
  0    done
  2    the command cannot run as given: bad flags or config, damaged or missing input
       (data, model or config file), an incompatible checkpoint, a path it cannot use
       (permission denied, read-only file system, a file where a directory is needed)
  1    it failed while working: training diverged, out of memory, no space left on
       device, an I/O error, an unexpected error
  130  interrupted
errors are one line, "keras-gan COMMAND: error: ..."; --debug or KERAS_GAN_DEBUG=1
also prints the traceback."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-gan",
        description="Train, evaluate, export and serve Generative Adversarial Nets.",
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="print the traceback of an error before its one line (also KERAS_GAN_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"keras_gan.cli.{name}").register(sub)
    return parser


def _loaded_user_errors():
    """User-error classes of modules the command imported (a command such as
    ``serve`` never imports the data or config modules just for this)."""
    found = []
    for module, name in (
        ("keras_gan.config", "ConfigError"),
        ("keras_gan.data.sources", "DataUnavailableError"),
    ):
        if module in sys.modules:
            found.append(getattr(sys.modules[module], name))
    return tuple(found)


#: Commands that run TensorFlow (``sample`` only talks HTTP/gRPC).
TENSORFLOW_COMMANDS = ("train", "evaluate", "figures", "export", "serve")
# Commands that run exports only: the TensorFlow they import must not pull in
# the training classes (see keras_gan.registration).
SERVING_COMMANDS = ("serve", "sample")


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def _stderr_silenced():
    """Point file descriptor 2 at /dev/null for the block: TensorFlow's C++ start-up
    lines (oneDNN and CUDA banners, ``failed call to cuInit`` on a CPU-only machine)
    are written before its log level applies, so only the descriptor can hide them."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured)
        yield
        return
    sys.stderr.flush()
    saved, devnull = os.dup(fd), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


def _start_tensorflow():
    """Import TensorFlow and probe its devices with the start-up banners hidden; an
    import error is still raised (and printed) after stderr is restored."""
    with _stderr_silenced():
        import tensorflow as tf

        tf.config.list_physical_devices()


def _debug(args):
    """``--debug`` or ``KERAS_GAN_DEBUG`` set to anything but empty or 0."""
    return args.debug or os.environ.get("KERAS_GAN_DEBUG", "0") not in ("", "0")


def main(argv=None):
    _quiet_tensorflow()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command in SERVING_COMMANDS:
        from keras_gan import registration

        registration.skip_registration()
    if args.command in TENSORFLOW_COMMANDS and not args.verbose:
        _start_tensorflow()
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print(f"keras-gan {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if isinstance(e, _loaded_user_errors()):
            status, message = 2, str(e)
        else:
            status, message = describe(e)
        if _debug(args):
            traceback.print_exc()
        print(f"keras-gan {args.command}: error: {message}", file=sys.stderr)
        return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
