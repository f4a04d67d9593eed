"""Sample-based distances between two distributions: energy distance and MMD.

Both compare a set of generated samples ``x`` (``[n, d]``) with a set of data
samples ``y`` (``[m, d]``) and are 0 when the sets come from the same
distribution (in the limit), growing as the distributions separate. Memory is
bounded: pairwise distances are computed in blocks of rows.

* :func:`energy_distance` (Szekely & Rizzo): ``sqrt(2 E||X - Y|| - E||X - X'||
  - E||Y - Y'||)`` with the V-statistic (all pairs, including ``i = j``), the
  convention of ``scipy.stats.energy_distance``, which it equals in 1-D. It is
  a metric on distributions with finite mean, has no parameter, and is in the
  units of the data.
* :func:`mmd` (Gretton et al. 2012): the squared maximum mean discrepancy
  ``E k(X, X') + E k(Y, Y') - 2 E k(X, Y)`` with the Gaussian kernel
  ``k(a, b) = exp(-||a - b||^2 / (2 sigma^2))``, unbiased estimate (the
  U-statistic: ``i != j`` within each set), so it can be slightly negative
  for identical distributions. ``bandwidth`` is ``sigma``; a list of
  bandwidths sums the kernels.

Example:

```python
from keras_gan.data import toy_distribution
from keras_gan.metrics import energy_distance, mmd

ring = toy_distribution("gaussians_8")
real, _ = ring.sample(2000, seed=1)
fake = gan.sample(2000, seed=0)
energy_distance(fake, real), mmd(fake, real, bandwidth=0.1)
```
"""

from __future__ import annotations

import numpy as np

__all__ = ["energy_distance", "mmd", "pairwise_distances"]

_BLOCK = 1024


def _as_points(x, what):
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim > 2:
        x = x.reshape(len(x), -1)
    if len(x) == 0:
        raise ValueError(f"{what} needs at least one sample.")
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or Inf values.")
    return x


def _check_pair(x, y):
    x, y = _as_points(x, "x"), _as_points(y, "y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"x and y must have the same dimension; got {x.shape[1]} and {y.shape[1]}."
        )
    return x, y


def pairwise_distances(x, y):
    """Euclidean distances ``[len(x), len(y)]`` (exact, via differences)."""
    return np.sqrt(((x[:, None, :] - y[None, :, :]) ** 2).sum(-1))


def _pair_sum(x, y, fn):
    """``sum_{i,j} fn(||x_i - y_j||)`` computed in blocks of rows."""
    total = 0.0
    for start in range(0, len(x), _BLOCK):
        total += fn(pairwise_distances(x[start : start + _BLOCK], y)).sum()
    return total


def energy_distance(x, y):
    """Energy distance between the samples ``x`` and ``y`` (see the module docstring)."""
    x, y = _check_pair(x, y)
    n, m = len(x), len(y)
    xy = _pair_sum(x, y, np.asarray) / (n * m)
    xx = _pair_sum(x, x, np.asarray) / (n * n)
    yy = _pair_sum(y, y, np.asarray) / (m * m)
    return float(np.sqrt(max(2.0 * xy - xx - yy, 0.0)))


def mmd(x, y, bandwidth=1.0):
    """Unbiased squared MMD with a Gaussian kernel of width ``bandwidth`` (or a sum
    of kernels over a list of widths); see the module docstring."""
    x, y = _check_pair(x, y)
    widths = np.atleast_1d(np.asarray(bandwidth, np.float64))
    if widths.ndim != 1 or not (np.isfinite(widths).all() and (widths > 0).all()):
        raise ValueError(f"bandwidth must be > 0 (a number or a list); got {bandwidth!r}.")
    n, m = len(x), len(y)
    if n < 2 or m < 2:
        raise ValueError("mmd needs at least two samples in each set (unbiased estimate).")

    def kernel(d):
        return sum(np.exp(-(d**2) / (2.0 * w**2)) for w in widths)

    k0 = kernel(np.zeros(1))[0]  # k(a, a), excluded from the within-set sums
    kxx = (_pair_sum(x, x, kernel) - n * k0) / (n * (n - 1))
    kyy = (_pair_sum(y, y, kernel) - m * k0) / (m * (m - 1))
    kxy = _pair_sum(x, y, kernel) / (n * m)
    return float(kxx + kyy - 2.0 * kxy)
