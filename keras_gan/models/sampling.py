"""Sampling from an adversarial model: ``sample``, ``generate``, ``sample_latent``.

``sample(n, seed=s)`` draws ``z`` with the same stateless generator as the
exported ``sample`` signature (:mod:`keras_gan.noise`), so a model and its server
return the same examples for the same seed; ``generate(z)`` runs the sampling
generator (the weight average with ``ema_decay``, see :mod:`keras_gan.models.ema`)
in batches, through one traced function per generator.

Example:

```python
images = gan.sample(64, seed=0)          # NumPy [64, 28, 28, 1]
z = gan.sample_latent(64, seed=0)
assert (gan.generate(z) == images).all()
```
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_gan.noise import sample_latent, seed_pair

__all__ = ["Sampling", "at_least_float32", "check_vocabulary"]


def at_least_float32(x):
    """Samples of a generator under a ``mixed_bfloat16`` policy, as float32."""
    return tf.cast(x, tf.float32) if x.dtype.is_floating and x.dtype.size < 4 else x


def check_vocabulary(vocabulary, generator):
    """``vocabulary`` as a list of distinct strings, one per token of the generator's
    ``[length, vocab]`` output (``None`` passes)."""
    if vocabulary is None:
        return None
    if isinstance(vocabulary, str):
        vocabulary = list(vocabulary)
    tokens = list(vocabulary)
    if not tokens or not all(isinstance(t, str) for t in tokens):
        raise ValueError(f"vocabulary must be a non-empty list of strings; got {vocabulary!r}.")
    if len(set(tokens)) != len(tokens):
        raise ValueError("vocabulary must not list a token twice.")
    try:
        shape = tuple(generator.output_shape)
    except (AttributeError, ValueError):
        return tokens
    if len(shape) != 3 or shape[-1] != len(tokens):
        raise ValueError(
            f"A vocabulary of {len(tokens)} tokens needs a generator of sequences "
            f"[length, {len(tokens)}]; the generator's output shape is {shape[1:]}."
        )
    return tokens


class Sampling:
    """Mixin of :class:`~keras_gan.models.AdversarialModel`: sampling and generation."""

    def _generate_batch(self, z, conditions=None, average=True):
        generator = self.sampling_generator if average else self.generator
        fn = self._sample_fns.get(id(generator))
        if fn is None:
            fn = self._sample_fns[id(generator)] = tf.function(
                lambda z, c: at_least_float32(
                    generator(self.generator_inputs(z, c), training=False)
                ),
                reduce_retracing=True,
            )
        return fn(z, conditions)

    def generate(self, z, conditions=None, batch_size=1024, average=True):
        """Run the generator on given latent vectors; returns a NumPy array.

        ``average=False`` runs :attr:`generator`, the one being trained, instead
        of the weight average of ``ema_decay`` (without it the two are the same).
        """
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape [n, {self.latent_dim}]; got {list(z.shape)}.")
        if not np.isfinite(z).all():
            raise ValueError("z contains NaN or Inf values.")
        out = []
        for start in range(0, len(z), batch_size):
            c = None if conditions is None else conditions[start : start + batch_size]
            batch = self._generate_batch(z[start : start + batch_size], c, average=average)
            out.append(np.asarray(batch))
        if not out:
            return np.zeros((0,) + tuple(self.generator.output_shape[1:]), np.float32)
        return np.concatenate(out)

    def sample_latent(self, num_samples, seed=None):
        """Latent vectors from the prior: deterministic for a given ``seed``.

        Uses the same stateless generator as the exported ``sample`` signature,
        so ``model.sample(n, seed=s)`` equals what a server returns for ``s``.
        """
        num_samples = int(num_samples)
        if num_samples < 0:
            raise ValueError(f"num_samples must be >= 0; got {num_samples}.")
        if seed is None:
            seed = int(np.random.default_rng().integers(0, 2**63 - 1))
        shape = tf.constant([num_samples, self.latent_dim], tf.int32)
        return sample_latent(shape, seed_pair(seed), self.noise).numpy()

    def sample(self, num_samples, seed=None, batch_size=1024, average=True):
        """Generate ``num_samples`` examples; the same ``seed`` gives the same ones.

        ``average=False`` samples :attr:`generator`, the one being trained,
        instead of the weight average of ``ema_decay`` (see :meth:`generate`).

        Example:

        ```python
        images = gan.sample(64, seed=0)   # NumPy array [64, 28, 28, 1]
        ```
        """
        z = self.sample_latent(num_samples, seed)
        return self.generate(z, batch_size=batch_size, average=average)
