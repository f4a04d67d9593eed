"""Checks that training data fits a model, run before any training step."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _shape_str(shape):
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _first(structure):
    """The data part of a dataset element: ``x`` of ``x``, ``(x,)`` or ``(x, y)``."""
    if isinstance(structure, (tuple, list)):
        return structure[0]
    return structure


def _compatible(actual, expected):
    return len(actual) == len(expected) and all(
        a is None or e is None or a == e for a, e in zip(actual, expected)
    )


def check_training_data(x, model):
    """Raise ``ValueError`` if ``x`` cannot train ``model``.

    Checks that each example has the generator's output shape, that a batch
    holds at least ``model.d_steps`` examples, and that the values are finite
    (the whole array for in-memory data, the first batch of a ``tf.data``
    pipeline, which is not read further before training).
    """
    if x is None:
        raise ValueError("fit() needs training data: a tf.data.Dataset or an array of examples.")
    try:
        expected = tuple(model.generator.output_shape[1:])
    except (AttributeError, ValueError):  # subclassed generator without a static shape
        expected = None
    d_steps = getattr(model, "d_steps", 1)
    if isinstance(x, tf.data.Dataset):
        spec = _first(x.element_spec)
        shape = tuple(spec.shape)
        if len(shape) == 0:
            raise ValueError("Training data yields scalars; it must yield batches of examples.")
        if expected is not None and not _compatible(shape[1:], expected):
            raise ValueError(
                f"Training data has examples of shape {_shape_str(shape[1:])} (batches "
                f"{_shape_str(shape)}) but the generator produces {_shape_str(expected)}. "
                "Batch the data set and make its example shape match the generator's output."
            )
        if not spec.dtype.is_floating:
            raise ValueError(
                f"Training data has dtype {spec.dtype.name}; float data is expected "
                "(scale images to the generator's value range)."
            )
        for batch in x.take(1):
            values = np.asarray(_first(batch))
            _check_batch(values, d_steps)
            _check_finite(values, "the first batch of the training data")
        return
    if isinstance(x, dict):
        raise ValueError("Training data must be an array or a tf.data.Dataset, not a dict.")
    values = np.asarray(_first(x) if isinstance(x, (tuple, list)) else x)
    if values.dtype == object or not np.issubdtype(values.dtype, np.number):
        raise ValueError(f"Training data must be numeric; got dtype {values.dtype}.")
    if expected is not None and not _compatible(values.shape[1:], expected):
        raise ValueError(
            f"Training data has examples of shape {_shape_str(values.shape[1:])} but the "
            f"generator produces {_shape_str(expected)}."
        )
    _check_finite(values, "the training data")


def _check_batch(values, d_steps):
    if values.shape[0] < d_steps:
        raise ValueError(
            f"A batch of {values.shape[0]} examples cannot be split into d_steps={d_steps} "
            "discriminator minibatches; batch the data at a multiple of d_steps."
        )


def _check_finite(values, where):
    if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
        bad = np.argwhere(~np.isfinite(values))[0]
        raise ValueError(
            f"{where} contains non-finite values (e.g. {values[tuple(bad)]} at index "
            f"{tuple(int(i) for i in bad)}); remove or replace NaN/Inf before training."
        )


_LABELS_HINT = (
    "a conditional model needs integer class labels in [0, num_classes): train on a "
    "tf.data.Dataset of (x, labels) pairs, e.g. load_dataset(name, with_labels=True), or "
    "call fit(x, labels)"
)


def check_labels(labels, num_classes, where="labels", num_examples=None):
    """Validate class labels for a conditional model; return them as int32 ``[n]``.

    ``labels`` must be integers of shape ``[n]`` (or ``[n, 1]``, squeezed) with
    values in ``[0, num_classes)``; ``num_examples`` (if given) is the required
    ``n``. Raises a ``ValueError`` naming the problem otherwise.
    """
    values = np.asarray(labels)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        hint = (
            " (they look one-hot encoded; pass class indices, e.g. argmax(labels, axis=-1))"
            if values.ndim == 2 and values.shape[1] == num_classes
            else ""
        )
        raise ValueError(
            f"{where} must have shape [n] (one class index per example); got shape "
            f"{_shape_str(values.shape)}{hint}."
        )
    if values.dtype == bool or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(
            f"{where} must be integer class indices in [0, {num_classes}); got dtype "
            f"{values.dtype}."
        )
    if num_examples is not None and len(values) != num_examples:
        raise ValueError(
            f"{where} has {len(values)} entries but there are {num_examples} examples; "
            "give exactly one label per example."
        )
    bad = (values < 0) | (values >= num_classes)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{where} must be in [0, {num_classes}) (num_classes={num_classes}); got "
            f"{int(values[i])} at index {i} (range of the given labels: "
            f"[{int(values.min())}, {int(values.max())}])."
        )
    return values.astype(np.int32)


def check_conditional_data(x, y, num_classes):
    """Raise ``ValueError`` unless ``x``/``y`` carry valid labels for a conditional model.

    A ``tf.data.Dataset`` must yield ``(x, labels)`` pairs (its first batch's
    labels are checked); in-memory data needs ``y``, one label per example
    (all of it is checked).
    """
    if isinstance(x, tf.data.Dataset):
        spec = x.element_spec
        if not isinstance(spec, (tuple, list)) or len(spec) < 2:
            raise ValueError(f"The training data has no labels; {_LABELS_HINT}.")
        label_spec = spec[1]
        if not isinstance(label_spec, tf.TensorSpec):
            raise ValueError(f"The dataset's labels must be one tensor; {_LABELS_HINT}.")
        if not label_spec.dtype.is_integer:
            raise ValueError(
                f"The dataset's labels have dtype {label_spec.dtype.name}; {_LABELS_HINT}."
            )
        for batch in x.take(1):
            n = np.asarray(batch[0]).shape[0]
            check_labels(batch[1], num_classes, "labels of the first batch of the training data", n)
        return
    if y is None:
        raise ValueError(f"fit() got no labels; {_LABELS_HINT}.")
    values = np.asarray(_first(x) if isinstance(x, (tuple, list)) else x)
    check_labels(y, num_classes, "the training labels", len(values))
