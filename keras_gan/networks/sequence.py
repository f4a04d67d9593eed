"""The WGAN-GP language model's networks for discrete sequences (Gulrajani et al.
2017, Sec. 5 / ``gan_language.py``), with softmax or Gumbel-Softmax outputs.

Examples are ``[length, vocab]`` arrays: one distribution (or one-hot vector)
over the vocabulary per position.

* Generator: ``z -> dense length*channels -> reshape [length, channels] ->
  num_blocks residual blocks -> 1x1 conv to vocab logits -> output``. The
  ``output`` is

  - ``"softmax"``: a softmax per position (the WGAN-GP paper: the critic scores
    the continuous distributions directly);
  - ``"gumbel_softmax"``: a Gumbel-Softmax sample per position
    (:class:`keras_gan.layers.GumbelSoftmax`, soft);
  - ``"straight_through"``: its straight-through variant: exactly one-hot
    forward, soft gradients.

  The Gumbel noise is keyed by ``z`` (the layer gets ``[logits, z]``), so the
  generator is a deterministic function of ``z`` and ``GAN.sample(n, seed)``
  and an exported model's ``sample`` signature are reproducible per seed.
* Critic/discriminator: ``x -> 1x1 conv to channels -> num_blocks residual
  blocks -> flatten -> dense 1`` (a logit for ``GAN``, a score for
  ``WGANGP``); no normalization, so it is valid with the gradient penalty.

A residual block is ``x + 0.3 * conv(relu(conv(relu(x))))`` with two 1-D
convolutions of ``kernel_size`` and ``channels`` filters ("same" padding), the
paper's 0.3-scaled residual branch.

Example:

```python
from keras_gan import models, networks

g = networks.sequence_generator(latent_dim=64, output_shape=(16, 5), output="straight_through")
d = networks.sequence_critic((16, 5))
gan = models.WGANGP(g, d, latent_dim=64)
```
"""

from __future__ import annotations

import keras

from keras_gan.layers import GumbelSoftmax

__all__ = ["sequence_generator", "sequence_critic", "SEQUENCE_OUTPUTS"]

SEQUENCE_OUTPUTS = ("softmax", "gumbel_softmax", "straight_through")
RESIDUAL_SCALE = 0.3


def _sequence_shape(shape, what):
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        shape = ()
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"{what} must be (length, vocab_size) with both >= 1; got {shape!r}.")
    if shape[1] < 2:
        raise ValueError(f"{what}: the vocabulary needs at least 2 tokens; got {shape[1]}.")
    return shape


def _check_sizes(channels, num_blocks, kernel_size):
    for what, value, low in (
        ("channels", channels, 1),
        ("num_blocks", num_blocks, 0),
        ("kernel_size", kernel_size, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{what} must be an int >= {low}; got {value!r}.")


def residual_block(x, channels, kernel_size, name):
    """``x + 0.3 * conv(relu(conv(relu(x))))`` (1-D convolutions, "same" padding)."""
    h = keras.layers.ReLU(name=f"{name}_relu1")(x)
    h = keras.layers.Conv1D(channels, kernel_size, padding="same", name=f"{name}_conv1")(h)
    h = keras.layers.ReLU(name=f"{name}_relu2")(h)
    h = keras.layers.Conv1D(channels, kernel_size, padding="same", name=f"{name}_conv2")(h)
    h = keras.layers.Rescaling(RESIDUAL_SCALE, name=f"{name}_scale")(h)
    return keras.layers.Add(name=f"{name}_add")([x, h])


def sequence_generator(
    latent_dim=128,
    output_shape=(16, 5),
    channels=128,
    num_blocks=5,
    kernel_size=5,
    output="softmax",
    temperature=1.0,
    name="generator",
):
    """The WGAN-GP language model's generator ``z -> [length, vocab]`` (see the module doc).

    Args:
        latent_dim: size of ``z``.
        output_shape: ``(length, vocab_size)``.
        channels: feature channels of the residual blocks (the paper: 512).
        num_blocks: residual blocks (the paper: 5).
        kernel_size: width of the 1-D convolutions (the paper: 5).
        output: ``"softmax"``, ``"gumbel_softmax"`` or ``"straight_through"``.
        temperature: initial Gumbel-Softmax temperature (``> 0``; Gumbel outputs
            only, annealed by :class:`keras_gan.callbacks.TemperatureSchedule`).
    """
    length, vocab = _sequence_shape(output_shape, "output_shape")
    _check_sizes(channels, num_blocks, kernel_size)
    if output not in SEQUENCE_OUTPUTS:
        raise ValueError(f"Unknown output {output!r}. Allowed: {list(SEQUENCE_OUTPUTS)}.")
    if output != "softmax":
        gumbel = GumbelSoftmax(temperature, hard=output == "straight_through", name="tokens")
    z = keras.Input((int(latent_dim),), name="z")
    h = keras.layers.Dense(length * channels, name="project")(z)
    h = keras.layers.Reshape((length, channels), name="to_sequence")(h)
    for i in range(num_blocks):
        h = residual_block(h, channels, kernel_size, name=f"block_{i}")
    logits = keras.layers.Conv1D(vocab, 1, name="logits")(h)
    if output == "softmax":
        y = keras.layers.Softmax(axis=-1, name="tokens")(logits)
    else:
        y = gumbel([logits, z])
    return keras.Model(z, y, name=name)


def sequence_critic(
    input_shape=(16, 5),
    channels=128,
    num_blocks=5,
    kernel_size=5,
    name="critic",
):
    """The WGAN-GP language model's critic ``[length, vocab] -> 1`` (see the module doc);
    also a GAN discriminator (its output is then a logit)."""
    length, vocab = _sequence_shape(input_shape, "input_shape")
    _check_sizes(channels, num_blocks, kernel_size)
    x = keras.Input((length, vocab), name="x")
    h = keras.layers.Conv1D(channels, 1, name="embed")(x)
    for i in range(num_blocks):
        h = residual_block(h, channels, kernel_size, name=f"block_{i}")
    h = keras.layers.Flatten(name="flatten")(h)
    score = keras.layers.Dense(1, name="score")(h)
    return keras.Model(x, score, name=name)
