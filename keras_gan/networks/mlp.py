"""Fully connected networks: the GAN paper's MNIST nets and small toy MLPs.

Example:

```python
from keras_gan import networks

g = networks.mlp_generator(latent_dim=100, hidden=(1200, 1200), output_shape=(28, 28, 1))
d = networks.maxout_discriminator((28, 28, 1), units=(240, 240), pieces=5)
```
"""

from __future__ import annotations

import math

import keras

from keras_gan.layers import Maxout


def _as_shape(shape, what):
    try:
        shape = tuple(int(s) for s in shape)
    except TypeError:
        shape = (int(shape),)
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"{what} must be a non-empty tuple of positive ints; got {shape!r}.")
    return shape


def _check_dropout(dropout, n):
    dropout = tuple(float(p) for p in dropout)
    if len(dropout) != n:
        raise ValueError(
            f"dropout needs {n} rates (before each of the {n} weight layers); got {dropout!r}."
        )
    if any(not 0.0 <= p < 1.0 for p in dropout):
        raise ValueError(f"dropout rates must be in [0, 1); got {dropout!r}.")
    return dropout


def mlp_generator(
    latent_dim=100,
    hidden=(1200, 1200),
    output_shape=(28, 28, 1),
    activation="relu",
    output_activation="sigmoid",
    name="generator",
):
    """The paper's MNIST generator: ``z -> ReLU 1200 -> ReLU 1200 -> sigmoid 784``.

    Args:
        latent_dim: size of ``z``.
        hidden: widths of the hidden layers.
        output_shape: shape of one generated example.
        activation: hidden activation.
        output_activation: ``"sigmoid"`` for data in ``[0, 1]``, ``"tanh"`` for
            ``[-1, 1]``, ``"linear"`` for unbounded (toy) data.
    """
    output_shape = _as_shape(output_shape, "output_shape")
    z = keras.Input((int(latent_dim),), name="z")
    h = z
    for i, width in enumerate(hidden):
        h = keras.layers.Dense(int(width), activation=activation, name=f"dense_{i}")(h)
    h = keras.layers.Dense(math.prod(output_shape), activation=output_activation, name="output")(h)
    if len(output_shape) > 1:
        h = keras.layers.Reshape(output_shape, name="to_data_shape")(h)
    return keras.Model(z, h, name=name)


def maxout_discriminator(
    input_shape=(28, 28, 1),
    units=(240, 240),
    pieces=5,
    dropout=(0.2, 0.5, 0.5),
    name="discriminator",
):
    """The paper's MNIST discriminator: two maxout layers and a logit output.

    ``x -> dropout -> maxout(240 x 5) -> dropout -> maxout(240 x 5) -> dropout
    -> dense(1)``. The output is a *logit*; ``D(x) = sigmoid(logit)``.

    Args:
        input_shape: shape of one example.
        units: maxout units per hidden layer.
        pieces: linear pieces per maxout unit.
        dropout: rate before each of the ``len(units) + 1`` weight layers
            (the paper drops 20% of the inputs and 50% of the hidden units).
    """
    input_shape = _as_shape(input_shape, "input_shape")
    dropout = _check_dropout(dropout, len(units) + 1)
    x = keras.Input(input_shape, name="x")
    h = keras.layers.Flatten(name="flatten")(x) if len(input_shape) > 1 else x
    for i, width in enumerate(units):
        if dropout[i]:
            h = keras.layers.Dropout(dropout[i], name=f"dropout_{i}")(h)
        h = Maxout(int(width), pieces=pieces, name=f"maxout_{i}")(h)
    if dropout[-1]:
        h = keras.layers.Dropout(dropout[-1], name=f"dropout_{len(units)}")(h)
    logit = keras.layers.Dense(1, name="logit")(h)
    return keras.Model(x, logit, name=name)


def mlp_discriminator(
    input_shape=(2,),
    hidden=(512, 512, 512),
    activation="leaky_relu",
    name="discriminator",
):
    """An MLP critic/discriminator with one logit output (toy data).

    The default activation is leaky ReLU (slope 0.2, as in DCGAN's
    discriminator): with plain ReLU a discriminator on un-centred data easily
    ends with dead units and a constant output, which stops the game.
    """
    input_shape = _as_shape(input_shape, "input_shape")
    x = keras.Input(input_shape, name="x")
    h = keras.layers.Flatten(name="flatten")(x) if len(input_shape) > 1 else x
    for i, width in enumerate(hidden):
        h = keras.layers.Dense(int(width), activation=activation, name=f"dense_{i}")(h)
    logit = keras.layers.Dense(1, name="logit")(h)
    return keras.Model(x, logit, name=name)
