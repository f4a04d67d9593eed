"""Input checks and result types shared by the feature-based metrics.

Every feature-based metric (:mod:`~keras_gan.metrics.frechet`,
:mod:`~keras_gan.metrics.kernel`, :mod:`~keras_gan.metrics.prdc`,
:mod:`~keras_gan.metrics.inception_score`) takes NumPy arrays or tensors,
converts them to float64 and refuses bad input with a ``ValueError`` that
names the argument, what was wrong and what is allowed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Estimate", "as_features", "check_k", "feature_pair"]


class Estimate(NamedTuple):
    """A score estimated over subsets or splits: their mean and standard deviation."""

    mean: float
    std: float

    def __str__(self):
        return f"{self.mean:.6g} +/- {self.std:.3g}"


def as_features(x, what):
    """``x`` as a finite float64 array ``[n, d]`` (``[n]`` is ``[n, 1]``; trailing
    axes are flattened)."""
    try:
        x = np.asarray(x, np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what} must be a numeric array [n, d]; {e}") from None
    if x.ndim == 0:
        raise ValueError(f"{what} must be an array [n, d] of features; got a scalar.")
    if x.ndim == 1:
        x = x[:, None]
    elif x.ndim > 2:
        x = x.reshape(len(x), -1)
    if len(x) == 0 or x.shape[1] == 0:
        raise ValueError(
            f"{what} must hold at least one sample of at least one feature; got "
            f"shape {list(x.shape)}."
        )
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(
            f"{what} contains NaN or Inf values ({int(bad.sum())} of {x.size}); "
            "features must be finite."
        )
    return x


def feature_pair(a, b, what_a, what_b):
    """Both feature sets checked, with the same dimension."""
    a, b = as_features(a, what_a), as_features(b, what_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{what_a} and {what_b} must have the same feature dimension; got "
            f"{a.shape[1]} and {b.shape[1]}."
        )
    return a, b


def check_k(k, sizes):
    """``k`` as an int with ``1 <= k < n`` for every ``(name, n)`` in ``sizes``
    (the k-th neighbour of a point, the point itself excluded, must exist)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an int >= 1; got {k!r}.")
    for name, n in sizes:
        if k >= n:
            raise ValueError(
                f"k={k} must be smaller than the number of {name} ({n}): the k-th nearest "
                f"neighbour of a point, the point excluded, needs at least k + 1 = {k + 1} "
                "samples."
            )
    return int(k)
