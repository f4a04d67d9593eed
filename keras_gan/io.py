"""Atomic file writes: a file or directory appears complete or not at all.

Every file is written to a temporary sibling (``.tmp-<pid>-*``) and renamed over
its destination, so a kill, a full disk or an error leaves the previous file
(or none) and never half of one. The new file gets the permissions ``open()``
would give it, ``0o666 & ~umask`` (``tempfile.mkstemp`` alone creates 0600).

A write that fails on the file system raises an ``OSError`` naming the
destination (not the temporary file), also when the library underneath raised
without a file name (Keras' ``model.save`` on a full disk) or raised a
TensorFlow error whose message carries the OS error (``...; No space left on
device``): see :func:`writing`.

A process killed while writing leaves its temporary file behind.
:func:`remove_stale_temporaries` removes those of this package's own naming
(``.tmp-<pid>-...`` files, ``.tmp-export-<pid>-...`` directories of
:mod:`keras_gan.export`) whose writer is no longer running, or that are older
than :data:`STALE_AFTER` seconds (a pid can be reused). Every atomic write calls
it on its directory first, and ``keras-gan train`` and ``export_generator`` on
the directories they write, at start.

Example:

```python
from keras_gan.io import atomic_write_text, remove_stale_temporaries

remove_stale_temporaries("runs/toy")     # what a killed run left, if anything
atomic_write_text("runs/toy/notes.txt", "complete or absent\\n")
```
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import tempfile
import time

logger = logging.getLogger("keras_gan.io")

#: Seconds after which a temporary of this package is stale even if a process with
#: the pid in its name is running (that pid may have been reused).
STALE_AFTER = 24 * 3600
#: Seconds after which a temporary named without a pid (by versions before the
#: pid was part of the name) is stale.
STALE_AFTER_UNNAMED = 3600

# ``.tmp-<pid>-<mkstemp's random part><suffix>`` files, ``.tmp-export-<pid>-<hex>``
# directories; the second alternative of each is the older, pid-less form.
_TEMP_FILE_RE = re.compile(r"^\.tmp-(?:(\d+)-[A-Za-z0-9_]{8}|[A-Za-z0-9_]{8})(\.[a-z0-9]+)?$")
_TEMP_EXPORT_RE = re.compile(r"^\.tmp-export-(?:(\d+)-)?[0-9a-f]{32}$")

#: OS errors recognised in the messages of libraries that report them as text.
_ERRNOS = {
    os.strerror(code): code
    for code in (
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
        errno.ENOENT,
        errno.EIO,
        errno.EFBIG,
        errno.ENAMETOOLONG,
        errno.EMFILE,
        errno.ENFILE,
    )
}


def errno_of_message(text):
    """The errno whose ``strerror`` text ends a clause of ``text`` (TensorFlow's
    file errors read ``<path>; No space left on device [Op:SaveV2]``), else ``None``."""
    for phrase, code in _ERRNOS.items():
        if re.search(rf"(^|[;:]\s*){re.escape(phrase)}\s*(\[|$|\.)", str(text)):
            return code
    return None


def as_os_error(error, path):
    """``error`` as an ``OSError`` naming ``path`` when it is a file-system
    failure, else ``None``.

    An ``OSError`` without a file name (or naming a temporary of this module)
    gets ``path``; a TensorFlow error whose message ends in an OS error text
    becomes the ``OSError`` of that errno. Other errors (a real out-of-memory,
    a bad argument) give ``None``.
    """
    path = os.fspath(path)
    if isinstance(error, OSError):
        if error.errno is None:
            return None
        name = error.filename
        if name is None or _is_temporary(name):
            return OSError(error.errno, error.strerror or os.strerror(error.errno), path)
        return error
    if type(error).__module__.startswith("tensorflow"):
        code = errno_of_message(getattr(error, "message", None) or str(error))
        if code is not None:
            return OSError(code, os.strerror(code), path)
    return None


def _is_temporary(name):
    parts = os.fspath(name).split(os.sep)
    return any(_TEMP_FILE_RE.match(p) or _TEMP_EXPORT_RE.match(p) for p in parts)


@contextlib.contextmanager
def writing(path):
    """A block that writes ``path``: its file-system failures surface as an
    ``OSError`` naming ``path`` (see :func:`as_os_error`); other errors pass unchanged."""
    try:
        yield
    except Exception as e:
        converted = as_os_error(e, path)
        if converted is None or converted is e:
            raise
        raise converted from e


def _file_mode():
    """``0o666`` less the process umask (read without changing it for long)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def temporary_prefix():
    """``.tmp-<pid>-``: the prefix of this process' temporary files."""
    return f".tmp-{os.getpid()}-"


@contextlib.contextmanager
def _replacing(path, suffix):
    """Yield ``(fd, tmp)``: an open temporary sibling of ``path`` that replaces
    ``path`` if the block succeeds, and is removed otherwise."""
    directory = os.path.dirname(os.path.abspath(path))
    with writing(path):
        os.makedirs(directory, exist_ok=True)
        remove_stale_temporaries(directory)  # what killed writes left here
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=temporary_prefix(), suffix=suffix)
        try:
            os.chmod(tmp, _file_mode())
            yield fd, tmp
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


@contextlib.contextmanager
def atomic_open(path, mode="wb", suffix=""):
    """``with atomic_open(path) as f: f.write(...)``: a file object whose contents
    replace ``path`` when the block ends without an error (``mode`` ``"wb"`` or
    ``"w"``, UTF-8)."""
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w'; got {mode!r}.")
    encoding = "utf-8" if mode == "w" else None
    with _replacing(path, suffix) as (fd, _), os.fdopen(fd, mode, encoding=encoding) as f:
        yield f


def atomic_save_model(model, path):
    """``model.save(path)`` through a temporary sibling file and an atomic rename."""
    with _replacing(path, ".keras") as (fd, tmp):
        os.close(fd)
        model.save(tmp)
    return path


def atomic_write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` through a temporary sibling file and an atomic rename."""
    with atomic_open(path, "w", suffix=".txt") as f:
        f.write(text)
    return path


def check_writable(directory):
    """Fail now if ``directory`` could not be created or written: a command checks
    where its results go before hours of work. Nothing is left behind: a temporary
    file is written (and removed) in ``directory`` or, when it does not exist yet,
    in its nearest existing ancestor. Raises the ``OSError`` naming ``directory``
    (read-only, full, a file in the way)."""
    existing = os.path.abspath(directory)
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), os.fspath(directory))
    with writing(directory):
        fd, probe = tempfile.mkstemp(dir=existing, prefix=temporary_prefix())
        os.close(fd)
        os.unlink(probe)


def _writer_running(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def _stale(pid, mtime, now):
    age = now - mtime
    if pid is None:
        return age > STALE_AFTER_UNNAMED
    return age > STALE_AFTER or not _writer_running(int(pid))


def remove_stale_temporaries(directory):
    """Remove the temporaries a killed writer of this package left in ``directory``.

    Only names of this package's own pattern are touched: ``.tmp-<pid>-*`` files
    (:func:`atomic_open` and friends) and ``.tmp-export-<pid>-*`` directories
    (:func:`keras_gan.export.export_generator`), removed when no process with
    that pid runs or when older than :data:`STALE_AFTER`; the pid-less names of
    earlier versions when older than :data:`STALE_AFTER_UNNAMED`. A directory
    that is missing or unreadable is left alone. Returns the removed paths.
    """
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    now, removed = time.time(), []
    for entry in entries:
        if not entry.name.startswith(".tmp-"):
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            match = (_TEMP_EXPORT_RE if is_dir else _TEMP_FILE_RE).match(entry.name)
            if match is None or not _stale(match.group(1), entry.stat().st_mtime, now):
                continue
        except OSError:
            continue
        try:
            if is_dir:
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError as e:  # read-only, or removed meanwhile: not this call's business
            logger.debug("cannot remove the stale temporary %s: %s", entry.path, e)
            continue
        logger.info("removed %s, left by an interrupted write", entry.path)
        removed.append(entry.path)
    return removed
