"""Atomic file writes: a file or directory appears complete or not at all.

Every file is written to a temporary sibling (``.tmp-*``) and renamed over its
destination, so a kill, a full disk or an error leaves the previous file (or
none) and never half of one. The new file gets the permissions ``open()``
would give it, ``0o666 & ~umask`` (``tempfile.mkstemp`` alone creates 0600).
"""

from __future__ import annotations

import contextlib
import os
import tempfile


def _file_mode():
    """``0o666`` less the process umask (read without changing it for long)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def _replacing(path, suffix):
    """Yield ``(fd, tmp)``: an open temporary sibling of ``path`` that replaces
    ``path`` if the block succeeds, and is removed otherwise."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
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
