"""The Inception Score (IS), or classifier score: ``exp(E_x KL(p(y|x) || p(y)))``.

Salimans et al. (2016). ``p(y|x)`` are a classifier's class probabilities for
each generated example and ``p(y)`` their mean over the split. It is high when
each example is classified confidently and the classes are used evenly: it
lies between 1 (every example gets the same prediction) and the number of
classes (confident predictions spread evenly over all of them). With
InceptionV3's ImageNet logits it is the Inception Score; with the package's
MNIST classifier (:func:`keras_gan.metrics.features.mnist_classifier`) it is
TF-GAN's ``mnist_score``.

The examples are cut, in order, into ``splits`` consecutive parts of (nearly)
equal size; the score of each part is computed with that part's ``p(y)``,
and the result is the mean and standard deviation (``ddof=0``) over the parts.
10 splits is the convention of the original code, TF-GAN and torch-fidelity;
some libraries (clean-fid's IS, StudioGAN's default) report 1 split, which
gives a somewhat higher value for the same samples: state the split count with
the score. Computed in float64; ``0 log 0`` is taken as 0.

Example:

```python
import numpy as np
from keras_gan.metrics import inception_score

confident = np.eye(10)[np.arange(1000) % 10]      # one class per example, all classes
inception_score(confident)                        # Estimate(mean=10.0, std=0.0)
inception_score(np.zeros((1000, 10)), from_logits=True)   # uniform: 1.0
```
"""

from __future__ import annotations

import numpy as np

from keras_gan.metrics.checks import Estimate, as_features

__all__ = ["inception_score"]


def _log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _probabilities(predictions, from_logits):
    p = as_features(predictions, "predictions")
    if p.shape[1] < 2:
        raise ValueError(
            f"predictions must have one column per class (at least 2); got {p.shape[1]}."
        )
    if from_logits:
        return np.exp(_log_softmax(p))
    sums = p.sum(axis=1)
    if (p < 0).any() or not np.allclose(sums, 1.0, atol=1e-3):
        raise ValueError(
            "predictions must be class probabilities (>= 0, each row summing to 1; rows sum "
            f"to {sums.min():.4g}..{sums.max():.4g}); pass from_logits=True for logits."
        )
    return p / sums[:, None]


def _split_score(p):
    marginal = p.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0)
    return float(np.exp(terms.sum(axis=1).mean()))


def inception_score(predictions, splits=10, from_logits=False):
    """``Estimate(mean, std)`` of the Inception (classifier) score over ``splits``.

    Args:
        predictions: ``[n, classes]`` class probabilities, or logits with
            ``from_logits=True`` (the Keras convention).
        splits: how many consecutive parts to score separately (see the module
            docstring; needs at least one example per part).
        from_logits: whether ``predictions`` are logits.
    """
    if isinstance(splits, bool) or not isinstance(splits, (int, np.integer)) or splits < 1:
        raise ValueError(f"splits must be an int >= 1; got {splits!r}.")
    p = _probabilities(predictions, from_logits)
    if splits > len(p):
        raise ValueError(
            f"splits={splits} needs at least one example per split; got {len(p)} predictions."
        )
    bounds = np.linspace(0, len(p), splits + 1).round().astype(int)
    scores = [_split_score(p[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return Estimate(float(np.mean(scores)), float(np.std(scores)))
