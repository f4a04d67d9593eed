"""Sample diversity: a cheap signal of mode collapse.

:func:`mean_pairwise_distance` is the mean Euclidean distance between distinct
examples of a batch (each example flattened). A generator that collapsed to one
output scores 0; one that covers the data scores about what a batch of real
data does. :func:`relative_diversity` is the ratio of the two, so it is
comparable across data sets (about 1 for a healthy generator, near 0 for a
collapsed one). :class:`keras_gan.callbacks.DiversityMonitor` logs it during
training and warns when it drops below a threshold.

Example:

```python
from keras_gan.metrics.diversity import relative_diversity

relative_diversity(gan.sample(256, seed=0), real_images[:256])   # ~1 healthy, ~0 collapsed
```
"""

from __future__ import annotations

import numpy as np

__all__ = ["mean_pairwise_distance", "relative_diversity"]


def mean_pairwise_distance(x):
    """Mean Euclidean distance over the ``n (n - 1) / 2`` pairs of distinct rows of
    ``x`` (shape ``[n, ...]``, each example flattened), in float64."""
    x = np.asarray(x, np.float64)
    if x.ndim < 1 or len(x) < 2:
        raise ValueError(f"mean_pairwise_distance needs at least 2 examples; got shape {x.shape}.")
    x = x.reshape(len(x), -1)
    x = x - x.mean(axis=0)  # distances are translation invariant; this keeps the Gram exact
    sq = np.einsum("ij,ij->i", x, x)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    iu = np.triu_indices(len(x), k=1)
    return float(np.sqrt(np.maximum(d2[iu], 0.0)).mean())


def relative_diversity(samples, real):
    """``mean_pairwise_distance(samples) / mean_pairwise_distance(real)``."""
    reference = mean_pairwise_distance(real)
    if not reference > 0:
        raise ValueError("the real batch has no diversity (all examples are equal).")
    return mean_pairwise_distance(samples) / reference
