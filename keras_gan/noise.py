"""The latent prior p_z, shared by training, ``GAN.sample`` and exported models.

Two priors are offered:

* ``"normal"``: independent standard normals, ``z ~ N(0, I)``.
* ``"uniform"``: independent ``U(-sqrt(3), sqrt(3))``, the zero-mean,
  unit-variance uniform prior of the original GAN code (pylearn2).

:func:`stateless_latent_noise` draws from a seed with TensorFlow's stateless RNG
(Philox), so the same ``(seed, n)`` gives the same ``z`` in eager code, inside a
``tf.function`` and inside an exported SavedModel. This module imports no
training code, so export and serving can use it.
"""

from __future__ import annotations

import math

import tensorflow as tf

NOISE_DISTRIBUTIONS = ("normal", "uniform")
_UNIFORM_HALF_WIDTH = math.sqrt(3.0)


def check_noise(noise):
    """Validate a prior name, raising a ``ValueError`` that lists the allowed ones."""
    if noise not in NOISE_DISTRIBUTIONS:
        raise ValueError(
            f"Unknown noise distribution {noise!r}. Allowed: {list(NOISE_DISTRIBUTIONS)}."
        )
    return noise


def seed_pair(seed):
    """Map an integer seed (Python int or integer tensor, up to int64) to the
    ``[2]`` int32 seed that TensorFlow's stateless RNG expects (also under XLA).

    The two halves of the 64-bit value become the two seed words, so distinct
    int64 seeds give distinct streams.
    """
    seed = tf.cast(seed, tf.int64)
    low = tf.bitwise.bitwise_and(seed, 0xFFFFFFFF)
    high = tf.bitwise.right_shift(seed, 32)
    return tf.bitcast(tf.cast(tf.stack([low, high]), tf.uint32), tf.int32)


def sample_latent(shape, seed, noise="normal"):
    """Draw latent vectors of ``shape`` from the prior, given a ``[2]`` int32 seed."""
    check_noise(noise)
    if noise == "normal":
        return tf.random.stateless_normal(shape, seed=seed, alg="philox")
    return tf.random.stateless_uniform(
        shape, seed=seed, minval=-_UNIFORM_HALF_WIDTH, maxval=_UNIFORM_HALF_WIDTH, alg="philox"
    )


def stateless_latent_noise(num_samples, latent_dim, seed, noise="normal"):
    """Draw ``[num_samples, latent_dim]`` latent vectors deterministically from ``seed``."""
    shape = tf.stack([tf.cast(num_samples, tf.int32), tf.constant(int(latent_dim), tf.int32)])
    return sample_latent(shape, seed_pair(seed), noise)
