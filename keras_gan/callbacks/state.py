"""Small helpers the fault-tolerance callbacks share: the step counter and
finiteness checks of logs and weights."""

from __future__ import annotations

import math

import keras
import numpy as np


def training_step(model):
    """The number of ``fit`` steps a model has taken: its generator updates
    (``g_optimizer.iterations``), or ``optimizer.iterations`` for other models."""
    optimizer = getattr(model, "g_optimizer", None) or getattr(model, "optimizer", None)
    # convert_to_numpy: under a tf.distribute strategy the value is a MirroredVariable
    return int(keras.ops.convert_to_numpy(optimizer.iterations)) if optimizer is not None else 0


def first_non_finite_log(logs):
    """``(name, value)`` of the first NaN/Inf number in ``logs`` (or ``None``);
    losses are looked at first."""
    items = sorted((logs or {}).items(), key=lambda item: "loss" not in str(item[0]))
    for key, value in items:
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(number):
            return key, number
    return None


def first_non_finite_weight(model):
    """``(path, count)`` of the first float variable of ``model`` holding NaN/Inf
    (``None`` when all are finite)."""
    for variable in model.variables:
        if not str(variable.dtype).startswith(("float", "bfloat")):
            continue
        values = np.asarray(keras.ops.convert_to_numpy(variable))
        finite = np.isfinite(values)
        if not finite.all():
            return variable.path, int(values.size - finite.sum())
    return None
