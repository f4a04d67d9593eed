"""Loss functions of the adversarial game, as pure functions of critic outputs.

Every function here takes *logits* (the discriminator's pre-sigmoid outputs,
``D(x) = sigmoid(logit)``) or, for the Wasserstein losses, raw critic values,
and returns a scalar. They have no state and create no variables.

With ``D = sigmoid(l)``:

* ``log D = -softplus(-l)`` and ``log(1 - D) = -softplus(l)``.

Both identities are evaluated with ``softplus``, which is finite for every
finite logit, so no loss here ever evaluates ``log(0)``.

Precision: inputs in 16-bit floats (networks under a ``mixed_bfloat16`` dtype
policy) are cast to float32 first, so losses and their reductions are always
float32 (float64 inputs stay float64).

Reduction: by default each expectation is the mean over the batch. Pass
``global_batch_size`` when training under a ``tf.distribute`` strategy: the
per-example values are then summed and divided by the *global* batch size (the
convention of ``tf.nn.compute_average_loss``), so that the sum of the replicas'
gradients equals the gradient of the mean over the global batch.

Example:

```python
import numpy as np
from keras_gan import losses

real_logits = np.array([2.0, 3.0])
fake_logits = np.array([-1.0, -2.0])
losses.discriminator_loss(real_logits, fake_logits)  # -V(D, G)
losses.non_saturating_generator_loss(fake_logits)    # -E[log D(G(z))]
```
"""

from __future__ import annotations

import tensorflow as tf

__all__ = [
    "discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
    "gradient_penalty",
    "GENERATOR_LOSSES",
    "get_generator_loss",
]


def _reduce(values, global_batch_size=None):
    """Mean of per-example ``values`` (summed over any trailing axes)."""
    values = tf.convert_to_tensor(values)
    if values.dtype not in (tf.float16, tf.bfloat16, tf.float32, tf.float64):
        values = tf.cast(values, tf.float32)
    values = tf.reshape(values, [tf.shape(values)[0], -1])
    values = tf.reduce_sum(values, axis=1)
    if global_batch_size is None:
        return tf.reduce_mean(values)
    return tf.reduce_sum(values) / tf.cast(global_batch_size, values.dtype)


def _as_float(x):
    """``x`` as a float tensor of at least 32 bits.

    Integers and 16-bit floats (a network under a ``mixed_bfloat16`` policy
    returns bfloat16 logits) become float32, so every loss is computed and
    reduced in float32 whatever the networks' compute dtype; float64 stays.
    """
    x = tf.convert_to_tensor(x)
    if not x.dtype.is_floating or x.dtype.size < 4:
        x = tf.cast(x, tf.float32)
    return x


def discriminator_loss(real_logits, fake_logits, global_batch_size=None):
    """Cross-entropy of the discriminator, ``-V(D, G)``.

    ``-E_x[log D(x)] - E_z[log(1 - D(G(z)))]``, i.e. the binary cross-entropy of
    labelling real data 1 and generated data 0, written as
    ``E[softplus(-real_logits)] + E[softplus(fake_logits)]``.

    Args:
        real_logits: discriminator logits on a batch of real data.
        fake_logits: discriminator logits on a batch of generated data.
        global_batch_size: see the module docstring.
    """
    real_logits = _as_float(real_logits)
    fake_logits = _as_float(fake_logits)
    return _reduce(tf.nn.softplus(-real_logits), global_batch_size) + _reduce(
        tf.nn.softplus(fake_logits), global_batch_size
    )


def minimax_generator_loss(fake_logits, global_batch_size=None):
    """The generator's side of the minimax game: ``E_z[log(1 - D(G(z)))]``.

    Minimising it is the game as written in Goodfellow et al. (2014), Eq. 1. It
    *saturates*: when D confidently rejects the samples (``D(G(z)) -> 0``) its
    gradient with respect to the logit, ``-sigmoid(l)``, vanishes.
    """
    fake_logits = _as_float(fake_logits)
    return _reduce(-tf.nn.softplus(fake_logits), global_batch_size)


def non_saturating_generator_loss(fake_logits, global_batch_size=None):
    """The heuristic generator loss ``-E_z[log D(G(z))]``.

    Same fixed point as the minimax loss, but its gradient with respect to the
    logit, ``-(1 - sigmoid(l))``, tends to ``-1`` (not 0) when D rejects the
    samples, so G keeps learning early in training.
    """
    fake_logits = _as_float(fake_logits)
    return _reduce(tf.nn.softplus(-fake_logits), global_batch_size)


def wasserstein_critic_loss(real_scores, fake_scores, global_batch_size=None):
    """Critic loss of WGAN: ``E[D(G(z))] - E[D(x)]`` (without any penalty)."""
    real_scores = _as_float(real_scores)
    fake_scores = _as_float(fake_scores)
    return _reduce(fake_scores, global_batch_size) - _reduce(real_scores, global_batch_size)


def wasserstein_generator_loss(fake_scores, global_batch_size=None):
    """Generator loss of WGAN: ``-E[D(G(z))]``."""
    return -_reduce(_as_float(fake_scores), global_batch_size)


def gradient_penalty(critic_fn, real, fake, epsilon=None, global_batch_size=None, seed=None):
    """WGAN-GP's two-sided penalty ``E[(||grad_x D(x_hat)||_2 - 1)^2]``.

    ``x_hat = eps * real + (1 - eps) * fake`` with one ``eps ~ U[0, 1]`` per
    example (Gulrajani et al. 2017, Algorithm 1). The gradient of each
    example's score is taken with respect to that example only, which is what
    the penalty means as long as the critic treats examples independently (no
    batch normalization in the critic).

    Call it inside the critic's ``GradientTape``: the penalty's gradient with
    respect to the critic's weights goes through the inner gradient (a second
    derivative).

    Example (a linear critic ``D(x) = w.x`` has ``grad D = w`` everywhere, so
    the penalty is ``(||w|| - 1)^2``)::

        w = tf.constant([3.0, 4.0])
        penalty, norms = gradient_penalty(lambda x: x @ w[:, None], real, fake)
        # penalty == 16.0, norms == [5.0, 5.0, ...]

    Args:
        critic_fn: callable mapping a batch of inputs to critic scores.
        real, fake: batches of the same shape.
        epsilon: optional ``[batch]`` interpolation weights (drawn when None).
        global_batch_size: see the module docstring.
        seed: optional seed for drawing ``epsilon``.

    Returns:
        ``(penalty, grad_norms)``: the scalar penalty (without the weight
        lambda) and the per-example gradient norms.
    """
    real = _as_float(real)
    fake = tf.cast(fake, real.dtype)
    batch = tf.shape(real)[0]
    if epsilon is None:
        epsilon = tf.random.uniform([batch], dtype=real.dtype, seed=seed)
    epsilon = tf.cast(epsilon, real.dtype)
    eps = tf.reshape(epsilon, [-1] + [1] * (real.shape.rank - 1))
    x_hat = eps * real + (1.0 - eps) * fake
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = critic_fn(x_hat)
    grads = tape.gradient(scores, x_hat)
    if grads is None:  # a critic that ignores its input has gradient 0 everywhere
        grads = tf.zeros_like(x_hat)
    grads = tf.reshape(grads, [batch, -1])
    # A tiny epsilon keeps the norm's gradient finite at grad == 0.
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=1) + 1e-12)
    return _reduce(tf.square(norms - 1.0), global_batch_size), norms


GENERATOR_LOSSES = {
    "non_saturating": non_saturating_generator_loss,
    "minimax": minimax_generator_loss,
}


def get_generator_loss(name):
    """Look up a generator loss by name (``"non_saturating"`` or ``"minimax"``)."""
    if callable(name):
        return name
    try:
        return GENERATOR_LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown generator_loss {name!r}. Allowed: {sorted(GENERATOR_LOSSES)}."
        ) from None
