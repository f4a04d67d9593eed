"""Metrics for generated discrete sequences: grammar validity and n-gram divergences.

* :func:`validity_rate`: the fraction of generated sequences that a grammar
  derives exactly (:meth:`keras_gan.data.grammar.Grammar.is_valid`: a
  non-empty string of the language followed only by padding).
* :func:`ngram_jsd`: for each ``n`` (default 1..4) the Jensen-Shannon
  divergence between the n-gram distributions of generated and real
  sequences, as in the WGAN-GP language-model experiments (Gulrajani et al.
  2017). N-grams are counted at every position of the fixed-length sequences,
  *padding included*, so the length distribution counts too. Base-2
  logarithms: a JSD lies in ``[0, 1]`` (0: identical distributions, 1:
  disjoint supports).

Sequences are token ids ``[n, length]`` or one-hot/probabilities ``[n, length,
vocab]`` (the argmax is taken, as when a generated distribution is decoded).

Example:

```python
from keras_gan import data, metrics

real = data.load_arrays("grammar", split="test", num_examples=2000, length=16)[1]
fake = gan.sample(2000, seed=0)
metrics.validity_rate(fake, "brackets")   # 0.93
metrics.ngram_jsd(fake, real)             # {1: 0.004, 2: 0.011, 3: 0.03, 4: 0.07}
```
"""

from __future__ import annotations

import collections

import numpy as np

from keras_gan.data.grammar import get_grammar
from keras_gan.data.text import to_token_ids

__all__ = ["validity_rate", "valid_mask", "ngram_counts", "ngram_jsd", "jensen_shannon"]


def valid_mask(sequences, grammar="brackets"):
    """Boolean ``[n]``: which sequences are valid under ``grammar`` (a shipped
    grammar's name or a :class:`~keras_gan.data.grammar.Grammar`)."""
    grammar = get_grammar(grammar)
    ids = to_token_ids(sequences)
    vocabulary = grammar.vocabulary
    if ids.size and (ids.min() < 0 or ids.max() >= len(vocabulary)):
        raise ValueError(
            f"token ids must be in [0, {len(vocabulary)}) for grammar {grammar.name!r} "
            f"(vocabulary {vocabulary}); got [{ids.min()}, {ids.max()}]."
        )
    cache = {}
    out = np.zeros(len(ids), bool)
    for i, row in enumerate(ids):
        key = row.tobytes()
        if key not in cache:
            cache[key] = grammar.is_valid([vocabulary[t] for t in row])
        out[i] = cache[key]
    return out


def validity_rate(sequences, grammar="brackets"):
    """The fraction of ``sequences`` valid under ``grammar`` (see :func:`valid_mask`)."""
    mask = valid_mask(sequences, grammar)
    if not len(mask):
        raise ValueError("validity_rate needs at least one sequence.")
    return float(mask.mean())


def _check_orders(n, length):
    orders = [n] if isinstance(n, (int, np.integer)) else list(n)
    if not orders or any(
        isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in orders
    ):
        raise ValueError(f"n must be an int >= 1 or a list of them; got {n!r}.")
    too_long = [k for k in orders if k > length]
    if too_long:
        raise ValueError(
            f"n-grams of order {too_long} do not fit in sequences of length {length}; "
            f"use n <= {length}."
        )
    return [int(k) for k in orders]


def ngram_counts(sequences, n):
    """``Counter`` of the n-grams (tuples of token ids) at every position of every sequence."""
    ids = to_token_ids(sequences)
    (order,) = _check_orders(n, ids.shape[1])
    counts = collections.Counter()
    if not len(ids):
        return counts
    windows = np.lib.stride_tricks.sliding_window_view(ids, order, axis=1).reshape(-1, order)
    rows, freq = np.unique(windows, axis=0, return_counts=True)
    counts.update({tuple(int(t) for t in row): int(c) for row, c in zip(rows, freq)})
    return counts


def jensen_shannon(p_counts, q_counts):
    """The Jensen-Shannon divergence (base 2) between two count dicts' distributions."""
    p_total = sum(p_counts.values())
    q_total = sum(q_counts.values())
    if p_total <= 0 or q_total <= 0:
        raise ValueError("jensen_shannon needs two non-empty count tables.")
    keys = sorted(set(p_counts) | set(q_counts))
    p = np.array([p_counts.get(k, 0) for k in keys], np.float64) / p_total
    q = np.array([q_counts.get(k, 0) for k in keys], np.float64) / q_total
    m = 0.5 * (p + q)

    def kl(a):
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return min(1.0, max(0.0, 0.5 * kl(p) + 0.5 * kl(q)))


def ngram_jsd(generated, real, n=(1, 2, 3, 4)):
    """``{order: JSD}`` between the n-gram distributions of ``generated`` and ``real``
    sequences (see the module doc). Both must have the same length."""
    generated = to_token_ids(generated)
    real = to_token_ids(real)
    if not len(generated) or not len(real):
        raise ValueError("ngram_jsd needs at least one generated and one real sequence.")
    if generated.shape[1] != real.shape[1]:
        raise ValueError(
            f"generated and real sequences must have the same length; got {generated.shape[1]} "
            f"and {real.shape[1]}."
        )
    orders = _check_orders(n, real.shape[1])
    return {k: jensen_shannon(ngram_counts(generated, k), ngram_counts(real, k)) for k in orders}
