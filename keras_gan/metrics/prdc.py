"""k-nearest-neighbour fidelity and diversity: precision/recall and density/coverage.

Each real (and, for recall, each generated) sample gets a ball whose radius is
the distance to its ``k``-th nearest neighbour in its own set, the point itself
excluded (a duplicate of the point counts as a neighbour at distance 0).

* **Precision and recall** (Kynkäänniemi et al. 2019, "Improved precision and
  recall metric"), ``k=3`` by default: precision is the fraction of generated
  samples inside at least one real ball (``distance <= radius``), recall the
  fraction of real samples inside at least one generated ball.
* **Density and coverage** (Naeem et al. 2020, "Reliable fidelity and diversity
  metrics"), ``k=5`` by default, with strict ``<`` as in the paper's code
  (prdc): density is ``1 / (k M)`` times the number of (generated sample, real
  ball containing it) pairs over the ``M`` generated samples (1 on average for
  identical distributions, not bounded by 1); coverage is the fraction of real
  samples whose ball contains at least one generated sample.

How it is computed
------------------
Euclidean distances in float64 through matrix products,
``||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b`` (clamped at 0), as prdc and
scikit-learn compute them; balls are compared as squared distances, so ties
are exact for integer-valued features (a point on a ball's boundary is inside
for precision/recall and outside for density/coverage). Distances are
computed in chunks of rows: the working memory is one ``rows x N`` float64
block with ``rows = max(1, 2**27 // (8 N))`` (128 MiB, whatever the set sizes;
``N`` the larger set), plus the inputs and ``O(N)`` vectors. The ``k``-th
neighbour distances come from ``np.partition``, not a sort.

Example:

```python
import numpy as np
from keras_gan.metrics import density_coverage, precision_recall

rng = np.random.default_rng(0)
real, fake = rng.normal(size=(2000, 64)), rng.normal(size=(2000, 64))
precision_recall(real, fake)    # PrecisionRecall(precision=..., recall=...)
density_coverage(real, fake)    # DensityCoverage(density≈1, coverage≈0.97)
```
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from keras_gan.metrics.checks import check_k, feature_pair

__all__ = [
    "DensityCoverage",
    "PrecisionRecall",
    "density_coverage",
    "knn_radii",
    "precision_recall",
]

#: The largest distance block, in bytes (see the module docstring).
BLOCK_BYTES = 2**27


class PrecisionRecall(NamedTuple):
    precision: float
    recall: float


class DensityCoverage(NamedTuple):
    density: float
    coverage: float


def _rows_per_block(columns):
    return max(1, BLOCK_BYTES // (8 * max(columns, 1)))


def _squared_distance_blocks(x, y):
    """Yield ``(start, block)``: squared distances of rows ``x[start:start+r]`` to all ``y``."""
    y_norms = np.einsum("ij,ij->i", y, y)
    rows = _rows_per_block(len(y))
    for start in range(0, len(x), rows):
        part = x[start : start + rows]
        block = np.einsum("ij,ij->i", part, part)[:, None] + y_norms[None, :]
        block -= 2.0 * (part @ y.T)
        np.maximum(block, 0.0, out=block)
        yield start, block


def knn_radii(x, k):
    """Squared distance of each row of ``x [n, d]`` (float64) to its ``k``-th nearest
    other row."""
    radii = np.empty(len(x))
    for start, block in _squared_distance_blocks(x, x):
        rows = np.arange(len(block))
        block[rows, start + rows] = np.inf  # the point itself is not its neighbour
        radii[start : start + len(block)] = np.partition(block, k - 1, axis=1)[:, k - 1]
    return radii


def _pair(real, fake):
    return feature_pair(real, fake, "real_features", "fake_features")


def _real_radii(real_radii, real, k):
    """Precomputed squared radii (checked), or computed now."""
    if real_radii is None:
        return knn_radii(real, k)
    radii = np.asarray(real_radii, np.float64)
    if radii.shape != (len(real),):
        raise ValueError(
            f"real_radii must hold one squared radius per real sample ({len(real)}); got shape "
            f"{list(radii.shape)}."
        )
    return radii


def precision_recall(real_features, fake_features, k=3, real_radii=None):
    """Improved precision and recall (see the module docstring).

    Args:
        real_features: ``[n, d]`` features of real data.
        fake_features: ``[m, d]`` features of generated data.
        k: the neighbour that sets each ball's radius (``1 <= k < n, m``).
        real_radii: ``knn_radii(real_features, k)``, when already computed (an
            evaluation against a fixed reference set computes it once).
    """
    real, fake = _pair(real_features, fake_features)
    k = check_k(k, [("real_features samples", len(real)), ("fake_features samples", len(fake))])
    real_radii, fake_radii = _real_radii(real_radii, real, k), knn_radii(fake, k)
    in_real_ball = np.zeros(len(fake), bool)
    in_fake_ball = np.zeros(len(real), bool)
    for start, block in _squared_distance_blocks(fake, real):  # [fake rows, real]
        rows = slice(start, start + len(block))
        in_real_ball[rows] = (block <= real_radii[None, :]).any(axis=1)
        in_fake_ball |= (block <= fake_radii[rows, None]).any(axis=0)
    return PrecisionRecall(float(in_real_ball.mean()), float(in_fake_ball.mean()))


def density_coverage(real_features, fake_features, k=5, real_radii=None):
    """Density and coverage (see the module docstring).

    Args:
        real_features: ``[n, d]`` features of real data.
        fake_features: ``[m, d]`` features of generated data.
        k: the neighbour that sets each real ball's radius (``1 <= k < n``).
        real_radii: ``knn_radii(real_features, k)``, when already computed.
    """
    real, fake = _pair(real_features, fake_features)
    k = check_k(k, [("real_features samples", len(real))])
    real_radii = _real_radii(real_radii, real, k)
    inside = 0
    nearest_fake = np.full(len(real), np.inf)
    for _, block in _squared_distance_blocks(fake, real):
        inside += int((block < real_radii[None, :]).sum())
        np.minimum(nearest_fake, block.min(axis=0), out=nearest_fake)
    density = inside / (k * len(fake))
    coverage = float((nearest_fake < real_radii).mean())
    return DensityCoverage(float(density), coverage)
