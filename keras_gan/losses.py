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

The adversarial losses
----------------------
:data:`LOSSES` maps each loss name to an :class:`AdversarialLoss`: a pair of
pure functions ``discriminator(real_out, fake_out)`` and ``generator(real_out,
fake_out)`` (most generator sides ignore ``real_out``; the relativistic one
does not), which :class:`keras_gan.models.GAN` takes as ``loss="hinge"``...

* ``non_saturating`` (Goodfellow et al. 2014): D ``E[sp(-r)] + E[sp(f)]``,
  G ``E[sp(-f)]``;
* ``minimax`` (ibid., Eq. 1): the same D, G ``-E[sp(f)]``;
* ``wasserstein`` (Arjovsky et al. 2017): D ``E[f] - E[r]``, G ``-E[f]``;
* ``hinge`` (Lim & Ye 2017; SNGAN, BigGAN): D ``E[relu(1 - r)] + E[relu(1 + f)]``,
  G ``-E[f]``;
* ``least_squares`` (Mao et al. 2017): D ``E[(r - 1)^2] / 2 + E[f^2] / 2``,
  G ``E[(f - 1)^2] / 2``;
* ``relativistic_average`` (RaSGAN, Jolicoeur-Martineau 2018):
  D ``E[sp(-(r - E f))] + E[sp(f - E r)]``, G ``E[sp(-(f - E r))] + E[sp(r - E f)]``.

``sp`` is softplus, ``r`` and ``f`` are D's outputs on real and generated data.
``least_squares`` is the ``a, b, c = 0, 1, 1`` form of Mao et al. (2017, Eq. 2);
it squares raw outputs, so it overflows float32 for outputs beyond ~1e19 (every
other loss here is finite for every finite output). In the relativistic loss
(Jolicoeur-Martineau 2018) the average of the other side is taken over the
replica's batch.

```python
loss = losses.get_loss("hinge")
d_loss = loss.discriminator(real_logits, fake_logits)
g_loss = loss.generator(real_logits, fake_logits)
```
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

__all__ = [
    "discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "relativistic_average_discriminator_loss",
    "relativistic_average_generator_loss",
    "GENERATOR_LOSSES",
    "get_generator_loss",
    "AdversarialLoss",
    "LOSSES",
    "get_loss",
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


def gradient_penalty(
    critic_fn,
    real,
    fake,
    epsilon=None,
    global_batch_size=None,
    seed=None,
    target=1.0,
    one_sided=False,
):
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
        target: the norm the penalty pulls towards (1 in the paper).
        one_sided: penalise only norms above ``target``,
            ``E[max(0, ||grad|| - target)^2]`` (the paper's appendix variant).

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
    excess = norms - tf.cast(target, norms.dtype)
    if one_sided:
        excess = tf.nn.relu(excess)
    return _reduce(tf.square(excess), global_batch_size), norms


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


def hinge_discriminator_loss(real_out, fake_out, global_batch_size=None):
    """Hinge loss of D (Lim & Ye 2017; SNGAN, BigGAN):
    ``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]``."""
    real_out = _as_float(real_out)
    fake_out = _as_float(fake_out)
    return _reduce(tf.nn.relu(1.0 - real_out), global_batch_size) + _reduce(
        tf.nn.relu(1.0 + fake_out), global_batch_size
    )


def hinge_generator_loss(fake_out, global_batch_size=None):
    """Hinge loss of G: ``-E[D(G(z))]`` (the Wasserstein generator loss)."""
    return wasserstein_generator_loss(fake_out, global_batch_size)


def least_squares_discriminator_loss(real_out, fake_out, global_batch_size=None):
    """LSGAN's D (Mao et al. 2017, Eq. 2 with ``a = 0, b = 1``):
    ``E[(D(x) - 1)^2] / 2 + E[D(G(z))^2] / 2``."""
    real_out = _as_float(real_out)
    fake_out = _as_float(fake_out)
    return 0.5 * _reduce(tf.square(real_out - 1.0), global_batch_size) + 0.5 * _reduce(
        tf.square(fake_out), global_batch_size
    )


def least_squares_generator_loss(fake_out, global_batch_size=None):
    """LSGAN's G (``c = 1``): ``E[(D(G(z)) - 1)^2] / 2``."""
    return 0.5 * _reduce(tf.square(_as_float(fake_out) - 1.0), global_batch_size)


def _relativistic(real_out, fake_out):
    real_out = _as_float(real_out)
    fake_out = tf.cast(fake_out, real_out.dtype)
    return real_out - tf.reduce_mean(fake_out), fake_out - tf.reduce_mean(real_out)


def relativistic_average_discriminator_loss(real_out, fake_out, global_batch_size=None):
    """RaSGAN's D (Jolicoeur-Martineau 2018): real data should look more real than
    the average fake, ``E[softplus(-(r - E f))] + E[softplus(f - E r)]``."""
    real_rel, fake_rel = _relativistic(real_out, fake_out)
    return _reduce(tf.nn.softplus(-real_rel), global_batch_size) + _reduce(
        tf.nn.softplus(fake_rel), global_batch_size
    )


def relativistic_average_generator_loss(real_out, fake_out, global_batch_size=None):
    """RaSGAN's G, the D loss with the roles swapped:
    ``E[softplus(-(f - E r))] + E[softplus(r - E f)]``."""
    real_rel, fake_rel = _relativistic(real_out, fake_out)
    return _reduce(tf.nn.softplus(-fake_rel), global_batch_size) + _reduce(
        tf.nn.softplus(real_rel), global_batch_size
    )


def _fake_only(fn):
    def generator(real_out, fake_out, global_batch_size=None):
        return fn(fake_out, global_batch_size)

    generator.__name__ = fn.__name__
    generator.__doc__ = fn.__doc__
    return generator


@dataclasses.dataclass(frozen=True)
class AdversarialLoss:
    """One adversarial loss: its D side, its G side and what ``fit`` reports.

    Attributes:
        name: the registry name (what configs and saved models use).
        discriminator: ``(real_out, fake_out, global_batch_size=None) -> loss``.
        generator: ``(real_out, fake_out, global_batch_size=None) -> loss``;
            ``real_out`` is ``None`` unless ``generator_needs_real``.
        generator_needs_real: the G side reads D's outputs on real data, so the
            generator update also runs D on the step's real minibatch.
        outputs: ``"logit"`` (``d_real``/``d_fake`` report mean ``sigmoid``),
            ``"score"`` (they report the mean output) or ``"critic"`` (one
            metric ``wasserstein = E[D(x)] - E[D(G(z))]``).
        reference: the paper.
    """

    name: str
    discriminator: Callable
    generator: Callable
    generator_needs_real: bool = False
    outputs: str = "logit"
    reference: str = ""

    @property
    def metric_names(self):
        """The metrics ``fit`` reports from D's outputs with this loss."""
        return ("wasserstein",) if self.outputs == "critic" else ("d_real", "d_fake")

    def score_metrics(self, real_out, fake_out):
        """The values of :attr:`metric_names` for D's outputs on one update."""
        real_out = tf.cast(real_out, tf.float32)
        fake_out = tf.cast(fake_out, tf.float32)
        if self.outputs == "critic":
            return {"wasserstein": tf.reduce_mean(real_out) - tf.reduce_mean(fake_out)}
        if self.outputs == "logit":
            real_out, fake_out = tf.sigmoid(real_out), tf.sigmoid(fake_out)
        return {"d_real": tf.reduce_mean(real_out), "d_fake": tf.reduce_mean(fake_out)}


LOSSES = {
    loss.name: loss
    for loss in (
        AdversarialLoss(
            "non_saturating",
            discriminator_loss,
            _fake_only(non_saturating_generator_loss),
            reference="Goodfellow et al. 2014, Sec. 3",
        ),
        AdversarialLoss(
            "minimax",
            discriminator_loss,
            _fake_only(minimax_generator_loss),
            reference="Goodfellow et al. 2014, Eq. 1",
        ),
        AdversarialLoss(
            "wasserstein",
            wasserstein_critic_loss,
            _fake_only(wasserstein_generator_loss),
            outputs="critic",
            reference="Arjovsky et al. 2017",
        ),
        AdversarialLoss(
            "hinge",
            hinge_discriminator_loss,
            _fake_only(hinge_generator_loss),
            outputs="score",
            reference="Lim & Ye 2017; Miyato et al. 2018",
        ),
        AdversarialLoss(
            "least_squares",
            least_squares_discriminator_loss,
            _fake_only(least_squares_generator_loss),
            outputs="score",
            reference="Mao et al. 2017 (a, b, c = 0, 1, 1)",
        ),
        AdversarialLoss(
            "relativistic_average",
            relativistic_average_discriminator_loss,
            relativistic_average_generator_loss,
            generator_needs_real=True,
            reference="Jolicoeur-Martineau 2018 (RaSGAN)",
        ),
    )
}


def get_loss(name):
    """The :class:`AdversarialLoss` called ``name`` (one of :data:`LOSSES`)."""
    if isinstance(name, AdversarialLoss):
        return name
    if isinstance(name, str) and name in LOSSES:
        return LOSSES[name]
    raise ValueError(f"Unknown loss {name!r}. Allowed: {sorted(LOSSES)}.")
