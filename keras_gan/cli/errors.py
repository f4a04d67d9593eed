"""How a failed command is reported: one line and an exit status.

Exit statuses of every ``keras-gan`` command:

* ``0``: done.
* ``2``: the command cannot run as given: bad flags or config, damaged or
  missing input (a data file, a model, a config), an incompatible checkpoint,
  or a path it cannot use (permission denied, read-only file system, a file
  where a directory is needed).
* ``1``: the run failed while working: training diverged, out of memory, no
  space left on device, an I/O error, an unexpected internal error.
* ``130``: interrupted (Ctrl-C).

The line is ``keras-gan COMMAND: error: MESSAGE``; an OS error's message names
the path and the cause (``/data/run/model.keras: read-only file system``).
``--debug`` (or ``KERAS_GAN_DEBUG=1``) prints the traceback before it.
"""

from __future__ import annotations

import errno
import os
import re

USAGE = 2
FAILURE = 1

#: OS errors that are the machine's state, not the user's choice of path.
_RUNTIME_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EIO,
    errno.ENOMEM,
    errno.EMFILE,
    errno.ENFILE,
}
_HINTS = {
    errno.ENOSPC: "free some space or write elsewhere",
    errno.EDQUOT: "free some space or write elsewhere",
    errno.EROFS: "write elsewhere",
    errno.EACCES: "check its permissions",
    errno.EPERM: "check its permissions",
}
_TF_NOISE = re.compile(r"^\{\{[^}]*\}\}\s*|\s*\[Op:[^\]]*\]\s*$")


class CommandError(Exception):
    """A user error in a command: printed as one line, exit status 2."""


class CommandFailure(Exception):
    """A command that failed while working: printed as one line, exit status 1."""


def _file_in_the_way(path):
    """The nearest existing ancestor-or-self of ``path`` when it is not a directory."""
    path = os.path.abspath(os.fspath(path))
    while True:
        if os.path.lexists(path):
            return None if os.path.isdir(path) else path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def describe_os_error(error):
    """``(status, one line)`` for an ``OSError``: the path and the cause."""
    code = error.errno
    if code is None:  # raised with a message only
        return (FAILURE if not isinstance(error, FileNotFoundError) else USAGE), str(error)
    cause = (error.strerror or os.strerror(code)).lower()
    path = error.filename
    if path is None:
        return _status(code), f"{cause}"
    if code in (errno.ENOTDIR, errno.EEXIST):
        blocker = _file_in_the_way(path)
        if blocker is not None:
            where = "" if blocker == os.path.abspath(path) else f" (needed for {path})"
            return USAGE, f"{blocker} is a file, not a directory{where}"
    if error.filename2 is not None:
        path = f"{path} -> {error.filename2}"
    hint = _HINTS.get(code)
    return _status(code), f"{path}: {cause}" + (f" ({hint})" if hint else "")


def _status(code):
    return FAILURE if code in _RUNTIME_ERRNOS else USAGE


def tensorflow_os_error(error):
    """An ``OSError`` for a TensorFlow error whose message is ``<path>; <OS error>``
    (how its file system reports), else ``None``."""
    from keras_gan.io import errno_of_message

    text = _TF_NOISE.sub("", getattr(error, "message", None) or str(error)).strip()
    code = errno_of_message(text)
    if code is None:
        return None
    path = text.rsplit(";", 1)[0].strip() if ";" in text else None
    return OSError(code, os.strerror(code), path)


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def describe(error):
    """``(status, message)`` for an exception that ended a command."""
    if isinstance(error, CommandFailure):
        return FAILURE, str(error)
    if isinstance(error, CommandError):
        return USAGE, str(error)
    if isinstance(error, OSError):
        return describe_os_error(error)
    if isinstance(error, MemoryError):
        return FAILURE, "out of memory" + (f": {error}" if str(error) else "")
    if isinstance(error, EOFError):  # a truncated file read without its name
        return USAGE, f"a file ended early (truncated): {_first_line(error)}"
    if type(error).__module__.startswith("tensorflow") and hasattr(error, "error_code"):
        converted = tensorflow_os_error(error)
        if converted is not None:
            return describe_os_error(converted)
        if type(error).__name__ == "ResourceExhaustedError":
            return FAILURE, f"out of memory: {_first_line(error)}"
        return FAILURE, f"TensorFlow: {_first_line(_TF_NOISE.sub('', str(error)))}"
    if isinstance(error, ValueError):  # the package's user errors (ConfigError, ...)
        return USAGE, str(error)
    return FAILURE, (
        f"unexpected {type(error).__name__}: {_first_line(error)} "
        f"(run with --debug for the traceback)"
    )
