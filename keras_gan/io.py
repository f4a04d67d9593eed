"""Atomic file writes: a file or directory appears complete or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile


@contextlib.contextmanager
def _replacing(path, suffix):
    """Yield ``(fd, tmp)``: an open temporary sibling of ``path`` that replaces
    ``path`` if the block succeeds, and is removed otherwise."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=suffix)
    try:
        yield fd, tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_save_model(model, path):
    """``model.save(path)`` through a temporary sibling file and an atomic rename."""
    with _replacing(path, ".keras") as (fd, tmp):
        os.close(fd)
        model.save(tmp)
    return path


def atomic_write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` through a temporary sibling file and an atomic rename."""
    with _replacing(path, ".txt") as (fd, tmp), os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path
