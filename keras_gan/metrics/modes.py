"""Mode coverage and sample quality on distributions with known modes.

A sample is *high quality* when it lies within ``num_std`` standard deviations
(Euclidean distance ``<= num_std * std``) of its nearest mode. A mode is
*covered* when at least ``min_fraction`` of all samples are high-quality
samples of that mode (default 1%: 20 of 2,000 samples), so a stray sample does
not count as coverage.

Example:

```python
from keras_gan.data import toy_distribution
from keras_gan.metrics import mode_coverage

ring = toy_distribution("gaussians_8")
result = mode_coverage(gan.sample(2000, seed=0), ring.centers, ring.std)
result.covered, result.high_quality_fraction
```
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class ModeCoverage:
    covered: int
    num_modes: int
    high_quality_fraction: float
    counts: tuple  # high-quality samples per mode

    def __str__(self):
        return (
            f"{self.covered}/{self.num_modes} modes covered, "
            f"{100 * self.high_quality_fraction:.1f}% high-quality samples"
        )


def mode_coverage(samples, centers, std, num_std=3.0, min_fraction=0.01):
    """Count covered modes and the fraction of high-quality samples."""
    samples = np.asarray(samples, np.float64)
    centers = np.asarray(centers, np.float64)
    if samples.ndim == 1:
        samples = samples[:, None]
    if centers.ndim != 2 or samples.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples {samples.shape} and centers {centers.shape} must be [n, d] and [modes, d]."
        )
    if len(samples) == 0:
        raise ValueError("mode_coverage needs at least one sample.")
    if not std > 0:
        raise ValueError(f"std must be > 0; got {std}.")
    dist = np.sqrt(((samples[:, None, :] - centers[None, :, :]) ** 2).sum(-1))
    nearest = dist.argmin(axis=1)
    good = dist[np.arange(len(samples)), nearest] <= num_std * std
    good &= np.isfinite(samples).all(axis=1)
    counts = np.bincount(nearest[good], minlength=len(centers))
    covered = int((counts >= max(1.0, min_fraction * len(samples))).sum())
    return ModeCoverage(covered, len(centers), float(good.mean()), tuple(int(c) for c in counts))
