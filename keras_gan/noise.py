"""The latent prior p_z, shared by training, ``GAN.sample`` and exported models.

Two priors are offered:

* ``"normal"``: independent standard normals, ``z ~ N(0, I)``.
* ``"uniform"``: independent ``U(-sqrt(3), sqrt(3))``, the zero-mean,
  unit-variance uniform prior of the original GAN code (pylearn2).

:func:`stateless_latent_noise` draws from a seed with TensorFlow's stateless RNG
(Philox), so the same ``(seed, n)`` gives the same ``z`` in eager code, inside a
``tf.function`` and inside an exported SavedModel. This module imports no
training code, so export and serving can use it.

Under XLA (``jit_compile=True``) TensorFlow's Philox produces the same random
*bits* but converts them to floats differently, so ``stateless_uniform`` and
``stateless_normal`` give other values there. :func:`portable_sample_latent`
and :func:`portable_uniform` draw the Philox bits and convert them with explicit
operations that XLA compiles to the same arithmetic: the training step uses
them, so a step gives the same values with and without XLA (uniform values are
bit-identical to :func:`sample_latent`'s, normal ones within ~1e-6).
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


_PHILOX = 1  # tf.random.Algorithm.PHILOX


def _philox_bits(count, seed):
    """``count`` uint32 Philox bits of ``seed`` (identical under XLA)."""
    key, counter = tf.raw_ops.StatelessRandomGetKeyCounter(seed=seed)
    return tf.raw_ops.StatelessRandomUniformFullIntV2(
        shape=tf.reshape(tf.cast(count, tf.int32), [1]),
        key=key,
        counter=counter,
        alg=tf.constant(_PHILOX, tf.int32),
        dtype=tf.uint32,
    )


def _unit_floats(bits):
    """``[0, 1)`` floats from uint32 bits: TensorFlow's CPU conversion (the low 23
    bits as the mantissa of a float in ``[1, 2)``, minus 1)."""
    mantissa = tf.bitwise.bitwise_and(bits, tf.constant(0x7FFFFF, tf.uint32))
    one_to_two = tf.bitwise.bitwise_or(mantissa, tf.constant(0x3F800000, tf.uint32))
    return tf.bitcast(one_to_two, tf.float32) - 1.0


def portable_uniform(shape, seed, minval=0.0, maxval=1.0):
    """``tf.random.stateless_uniform(shape, seed, minval, maxval, alg="philox")``
    (float32, bit-identical), computed so that XLA gives the same values."""
    shape = tf.cast(shape, tf.int32)
    minval = tf.constant(minval, tf.float32)
    maxval = tf.constant(maxval, tf.float32)
    unit = _unit_floats(_philox_bits(tf.reduce_prod(shape), seed))
    return tf.reshape(unit * (maxval - minval) + minval, shape)


def portable_normal(shape, seed):
    """Standard normals by TensorFlow's Box-Muller transform of Philox bits (as
    ``stateless_normal(..., alg="philox")`` up to float rounding), identical
    under XLA."""
    shape = tf.cast(shape, tf.int32)
    count = tf.reduce_prod(shape)
    unit = _unit_floats(_philox_bits(count + count % 2, seed))
    radius = tf.sqrt(-2.0 * tf.math.log(tf.maximum(unit[0::2], 1e-7)))
    angle = (2.0 * math.pi) * unit[1::2]
    pairs = tf.stack([tf.sin(angle) * radius, tf.cos(angle) * radius], axis=1)
    return tf.reshape(tf.reshape(pairs, [-1])[:count], shape)


def portable_sample_latent(shape, seed, noise="normal"):
    """:func:`sample_latent` computed so that XLA gives the same values."""
    check_noise(noise)
    if noise == "normal":
        return portable_normal(shape, seed)
    return portable_uniform(shape, seed, -_UNIFORM_HALF_WIDTH, _UNIFORM_HALF_WIDTH)
