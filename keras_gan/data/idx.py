"""Reader for the IDX files MNIST and Fashion-MNIST are published as.

Format (LeCun et al.): a 4-byte magic ``0x0000 TT NN`` where ``TT`` is the data
type (``0x08`` = unsigned byte) and ``NN`` the number of dimensions, then ``NN``
big-endian int32 sizes, then the data. Files may be gzip-compressed.
"""

from __future__ import annotations

import functools
import gzip
import os
import zlib

import numpy as np

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IDXFormatError(ValueError):
    """The file is not a well-formed IDX file."""


def read_idx(path):
    """Read an IDX file (optionally ``.gz``) into a NumPy array.

    A damaged file (a truncated or corrupt gzip stream, a CRC error) is an
    :class:`IDXFormatError` naming it; an unreadable one the ``OSError``.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise IDXFormatError(f"{path}: damaged file ({e}); download it again.") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise IDXFormatError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()}).")
    dtype = np.dtype(_DTYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(s) for s in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise IDXFormatError(
            f"{path}: IDX header says shape {shape} ({expected} bytes) but the file has "
            f"{len(raw)} bytes (truncated or corrupt)."
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def find_idx_pair(directory, split):
    """Paths of the images/labels files of ``split`` in ``directory`` (or None)."""
    found = []
    for stem in IDX_FILES[split]:
        for candidate in (stem + ".gz", stem):
            path = os.path.join(directory, candidate)
            if os.path.isfile(path):
                found.append(path)
                break
        else:
            return None
    return tuple(found)


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path, mtime_ns, size):
    array = read_idx(path)
    array.flags.writeable = False
    return array


def load_idx_split(directory, split):
    """``(images uint8 [n, 28, 28], labels uint8 [n])`` of ``split`` from ``directory``.

    Decoded files are cached in memory (read-only, keyed by path, size and
    modification time), so loading several splits or slices decodes once.
    """
    pair = find_idx_pair(directory, split)
    if pair is None:
        raise FileNotFoundError(f"no IDX files for split {split!r} in {directory}")
    images, labels = (_read_idx_cached(p, os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in pair)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise IDXFormatError(
            f"{directory}: images {images.shape} and labels {labels.shape} do not match."
        )
    return images, labels
