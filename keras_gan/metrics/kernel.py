"""The Kernel Inception Distance (KID): an unbiased MMD² with a cubic polynomial kernel.

Bińkowski et al. (2018): the squared maximum mean discrepancy between two
feature sets with the kernel ``k(x, y) = (x.y / d + 1)^3`` (``d`` the feature
dimension), estimated without bias (the U-statistic: ``i != j`` within a set)::

    sum_{i != j} k(a_i, a_j) / (n (n - 1)) + sum_{i != j} k(b_i, b_j) / (m (m - 1))
        - 2 sum_{i, j} k(a_i, b_j) / (n m)

Unlike FID it has an unbiased estimator, so it can be compared across sample
counts, and it can be slightly negative when the distributions agree.

Subsets. As in the paper, torch-fidelity and TF-GAN, the estimate is averaged
over ``num_subsets`` random subsets of ``subset_size`` examples drawn without
replacement from each set (``seed`` fixes them); the result is the mean and
the standard deviation (``ddof=0``) over subsets. When ``subset_size`` is at
least the smaller set's size there is one subset of *all* examples of both
sets: the exact unbiased estimate, with std 0. A ``subset_size`` larger than
the smaller set with ``num_subsets > 1`` is refused (there would be no distinct
subsets of that size); use ``num_subsets=1`` for the exact estimate.

Computed in float64; the kernel matrices are built in blocks of rows, so the
working memory is about ``2 * 8 * block * max(n, m)`` bytes (block 1024).

Example:

```python
import numpy as np
from keras_gan.metrics import kernel_distance

rng = np.random.default_rng(0)
a, b = rng.normal(size=(2000, 64)), rng.normal(size=(2000, 64))
mean, std = kernel_distance(a, b, num_subsets=10, subset_size=1000)   # ~0
```
"""

from __future__ import annotations

import numpy as np

from keras_gan.metrics.checks import Estimate, feature_pair

__all__ = ["kernel_distance", "polynomial_mmd2"]

_BLOCK = 1024


def _cubic(gram, d):
    """``(gram / d + 1)^3`` in place, by two multiplications (``**`` is slower)."""
    gram /= d
    gram += 1.0
    cube = gram * gram
    cube *= gram
    return cube


def _kernel_sum(x, y, same):
    """``sum k(x_i, y_j)`` over all pairs (``i != j`` when ``same``), in blocks of rows
    (one ``x @ x.T`` when ``same`` and ``x`` fits in a block: BLAS' symmetric product)."""
    d = x.shape[1]
    total = 0.0
    for start in range(0, len(x), _BLOCK):
        rows = x if same and len(x) <= _BLOCK else x[start : start + _BLOCK]
        block = _cubic(rows @ (rows if rows is x and same else y).T, d)
        total += block.sum()
        if same:
            index = np.arange(len(block))
            total -= block[index, start + index].sum()
    return total


def polynomial_mmd2(a, b):
    """The unbiased MMD² of ``a [n, d]`` and ``b [m, d]`` (float64 arrays, n, m >= 2)
    with the kernel ``(x.y / d + 1)^3``."""
    n, m = len(a), len(b)
    return (
        _kernel_sum(a, a, True) / (n * (n - 1))
        + _kernel_sum(b, b, True) / (m * (m - 1))
        - 2.0 * _kernel_sum(a, b, False) / (n * m)
    )


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int >= 1; got {value!r}.")
    return int(value)


def kernel_distance(features_a, features_b, num_subsets=100, subset_size=1000, seed=0):
    """KID of two feature sets: ``Estimate(mean, std)`` of the unbiased MMD² over subsets.

    Args:
        features_a, features_b: features ``[n, d]`` and ``[m, d]`` (arrays or tensors).
        num_subsets: how many random subsets to average over.
        subset_size: examples per subset, from each set (see the module docstring
            for sizes at or above the smaller set's).
        seed: seed of the subsets.
    """
    a, b = feature_pair(features_a, features_b, "features_a", "features_b")
    num_subsets = _positive_int(num_subsets, "num_subsets")
    subset_size = _positive_int(subset_size, "subset_size")
    smaller = min(len(a), len(b))
    if smaller < 2:
        raise ValueError(f"KID needs at least 2 samples in each set; got {len(a)} and {len(b)}.")
    if subset_size >= smaller:
        if subset_size > smaller and num_subsets > 1:
            raise ValueError(
                f"subset_size={subset_size} is larger than the smaller feature set ({smaller} "
                f"samples), so {num_subsets} distinct subsets cannot be drawn; use "
                f"subset_size <= {smaller}, or num_subsets=1 for the exact estimate over all "
                "examples."
            )
        return Estimate(float(polynomial_mmd2(a, b)), 0.0)
    rng = np.random.default_rng(seed)
    values = [
        polynomial_mmd2(
            a[rng.choice(len(a), subset_size, replace=False)],
            b[rng.choice(len(b), subset_size, replace=False)],
        )
        for _ in range(num_subsets)
    ]
    return Estimate(float(np.mean(values)), float(np.std(values)))
