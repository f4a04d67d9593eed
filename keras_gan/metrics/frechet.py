"""The Fréchet distance between Gaussians fitted to two feature sets (FID).

Heusel et al. (2017): fit ``N(mu_a, S_a)`` and ``N(mu_b, S_b)`` to two sets of
features (Inception pool3 features for the Fréchet Inception Distance, or the
package's MNIST classifier features, see :mod:`keras_gan.metrics.features`) and
report::

    ||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2))

How it is computed
------------------
In float64, with the unbiased covariance (``N - 1``), as pytorch-fid,
torch-fidelity and TF-GAN do. ``tr((S_a S_b)^(1/2))`` is the sum of the
singular values of ``S_b^(1/2) S_a^(1/2)`` (whose squares are the eigenvalues
of ``S_a^(1/2) S_b S_a^(1/2)``, those of ``S_a S_b``), with the symmetric square
roots from eigendecompositions (eigenvalues that rounding leaves slightly
negative are taken as 0). Taking the square roots of the eigenvalues of
``S_a^(1/2) S_b S_a^(1/2)`` instead loses about 1e-5 relative when the
covariances are singular, as they are for features with dead ReLU units (66 of
the 128 of the shipped MNIST classifier's on MNIST); this route agrees with
``sqrtm`` and with 40-digit arithmetic to about 1e-10 there (BENCHMARKS.md).
This avoids ``scipy.linalg.sqrtm`` (whose accuracy regressed in SciPy 1.11 and
whose ``disp`` argument is gone in 1.18) and its complex-valued round-off. A
result that rounding leaves slightly below 0 (identical statistics) is clipped
to 0.

The estimate is biased upwards by a finite sample count (the bias falls
roughly as ``1/N``), so only scores computed from the same numbers of samples
(and the same extractor and preprocessing) compare. The covariance of ``d``-D
features needs more than ``d`` samples to be full rank: fewer are refused.

Example:

```python
import numpy as np
from keras_gan.metrics import frechet_distance, gaussian_statistics

rng = np.random.default_rng(0)
a, b = rng.normal(size=(5000, 64)), rng.normal(0.1, size=(5000, 64))
frechet_distance(a, b)                       # ~0.64 (= 64 * 0.1**2) plus sampling bias
frechet_distance(gaussian_statistics(a), b)  # precomputed (mu, sigma) work too
```
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from keras_gan.metrics.checks import as_features

__all__ = ["GaussianStatistics", "frechet_distance", "gaussian_statistics"]


class GaussianStatistics(NamedTuple):
    """The mean ``[d]`` and unbiased covariance ``[d, d]`` of a feature set (float64)."""

    mu: np.ndarray
    sigma: np.ndarray


def gaussian_statistics(features, what="features"):
    """``(mu, sigma)`` of ``features [n, d]``: the mean and the unbiased (``n - 1``)
    covariance, in float64. Needs ``n > d`` (a full-rank covariance)."""
    x = as_features(features, what)
    n, d = x.shape
    if n <= d:
        raise ValueError(
            f"FID needs more samples than feature dimensions: {what} has {n} samples of "
            f"dimension {d}; give at least {d + 1} (10,000 is the usual count)."
        )
    mu = x.mean(axis=0)
    centred = x - mu
    sigma = centred.T @ centred / (n - 1)
    return GaussianStatistics(mu, sigma)


def _statistics(value, what):
    """Statistics from features ``[n, d]`` or from a ``(mu, sigma)`` pair."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        mu, sigma = (np.asarray(v, np.float64) for v in value)
        if mu.ndim == 1 and sigma.shape == (len(mu), len(mu)):
            if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
                raise ValueError(f"{what} (mu, sigma) contains NaN or Inf values.")
            return GaussianStatistics(mu, sigma)
        if mu.ndim == 1:
            raise ValueError(
                f"{what} as (mu, sigma) needs mu [d] and sigma [d, d]; got shapes "
                f"{list(mu.shape)} and {list(sigma.shape)}."
            )
    return gaussian_statistics(value, what)


def _sqrt_psd(matrix):
    """The symmetric square root of a symmetric PSD matrix (negative rounding -> 0)."""
    w, v = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(features_a, features_b):
    """The Fréchet distance between Gaussians fitted to two feature sets.

    Args:
        features_a, features_b: features ``[n, d]`` (arrays or tensors), or
            precomputed ``(mu, sigma)`` pairs (:func:`gaussian_statistics`).

    Returns:
        A float >= 0 (a tiny negative value from rounding is clipped to 0).

    Raises:
        ValueError: different dimensions, NaN/Inf, or no more samples than
            dimensions (see the module docstring).
    """
    a = _statistics(features_a, "features_a")
    b = _statistics(features_b, "features_b")
    if len(a.mu) != len(b.mu):
        raise ValueError(
            "features_a and features_b must have the same feature dimension; got "
            f"{len(a.mu)} and {len(b.mu)}."
        )
    # tr((S_a S_b)^(1/2)) = tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)) is the sum of the
    # singular values of S_b^(1/2) S_a^(1/2): no square roots of rounding noise in the
    # directions where a covariance is singular (dead ReLU units, for example).
    product = _sqrt_psd(b.sigma) @ _sqrt_psd(a.sigma)
    trace_sqrt = np.linalg.svd(product, compute_uv=False).sum()
    diff = a.mu - b.mu
    value = diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2.0 * trace_sqrt
    return float(max(value, 0.0))
