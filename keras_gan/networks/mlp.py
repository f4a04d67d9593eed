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
import numpy as np

from keras_gan.layers import Maxout, PackedDropout

#: ``output_bias`` value that :mod:`keras_gan.training` replaces by
#: :func:`output_bias_from_marginals` of the training data (the paper's
#: ``init_sigmoid_bias_from_marginals``).
DATA_MARGINALS = "data_marginals"


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


def _kernel_initializer(init_range):
    """Glorot uniform by default; ``U(-init_range, init_range)`` (pylearn2's ``irange``)."""
    if init_range is None:
        return "glorot_uniform"
    init_range = float(init_range)
    if not (math.isfinite(init_range) and init_range > 0):
        raise ValueError(f"init_range must be a positive number or None; got {init_range!r}.")
    return keras.initializers.RandomUniform(-init_range, init_range)


_INVERSE_ACTIVATIONS = {
    "sigmoid": lambda m: np.log(m) - np.log1p(-m),
    "tanh": np.arctanh,
    "linear": lambda m: m,
}
_ACTIVATION_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "linear": (-np.inf, np.inf)}


def output_bias_from_marginals(data, output_activation="sigmoid", eps=1e-7):
    """Output biases that make an all-zero last hidden layer produce the data's mean.

    The original GAN code (pylearn2 ``init_sigmoid_bias_from_marginals``) starts
    the MNIST generator's sigmoid biases at ``logit(mean pixel)``, so the first
    samples already look like the average digit, with the always-black border
    pixels near 0. Means are clipped ``eps`` inside the activation's range.

    Args:
        data: training examples ``[n, *output_shape]``, in the generator's range.
        output_activation: ``"sigmoid"`` (logit), ``"tanh"`` (arctanh) or
            ``"linear"`` (the mean itself).

    Returns:
        float32 array of shape ``output_shape`` for ``mlp_generator(output_bias=...)``.
    """
    if output_activation not in _INVERSE_ACTIVATIONS:
        raise ValueError(
            f"output_bias_from_marginals supports output activations "
            f"{sorted(_INVERSE_ACTIVATIONS)}; got {output_activation!r}."
        )
    data = np.asarray(data)
    if data.ndim < 2 or len(data) == 0:
        raise ValueError(f"data must be a non-empty array of examples; got shape {data.shape}.")
    mean = data.mean(axis=0, dtype=np.float64)
    lo, hi = _ACTIVATION_RANGES[output_activation]
    if not np.isfinite(mean).all() or mean.min() < lo or mean.max() > hi:
        raise ValueError(
            f"The data's mean lies outside the {output_activation} output range [{lo}, {hi}]; "
            "scale the data to the generator's range."
        )
    if output_activation != "linear":
        mean = np.clip(mean, lo + eps, hi - eps)
    return _INVERSE_ACTIVATIONS[output_activation](mean).astype(np.float32)


def _output_bias_initializer(output_bias, output_shape):
    if output_bias is None:
        return "zeros"
    if isinstance(output_bias, str):
        raise ValueError(
            f"output_bias={output_bias!r} needs the training data: configs resolve "
            f"{DATA_MARGINALS!r} (keras_gan.training); in Python pass "
            "output_bias_from_marginals(x_train)."
        )
    bias = np.asarray(output_bias, np.float32)
    if bias.ndim == 0:
        bias = np.full(math.prod(output_shape), float(bias), np.float32)
    if bias.size != math.prod(output_shape) or not np.isfinite(bias).all():
        raise ValueError(
            f"output_bias must be a finite number or {math.prod(output_shape)} finite values "
            f"(one per output of shape {output_shape}); got shape {bias.shape}."
        )
    return keras.initializers.Constant(bias.reshape(-1).tolist())


def mlp_generator(
    latent_dim=100,
    hidden=(1200, 1200),
    output_shape=(28, 28, 1),
    activation="relu",
    output_activation="sigmoid",
    init_range=None,
    output_bias=None,
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
        init_range: ``None`` for Glorot-uniform kernels, or ``r`` for
            ``U(-r, r)`` (pylearn2's ``irange``; the paper's MNIST generator: 0.05).
        output_bias: initial output biases: ``None`` (zeros), a number, or one
            value per output (e.g. :func:`output_bias_from_marginals`); in a config,
            ``"data_marginals"`` computes the latter from the training data.
    """
    output_shape = _as_shape(output_shape, "output_shape")
    _kernel_initializer(init_range)  # validate before building
    bias_init = _output_bias_initializer(output_bias, output_shape)
    z = keras.Input((int(latent_dim),), name="z")
    h = z
    for i, width in enumerate(hidden):
        h = keras.layers.Dense(
            int(width),
            activation=activation,
            kernel_initializer=_kernel_initializer(init_range),
            name=f"dense_{i}",
        )(h)
    h = keras.layers.Dense(
        math.prod(output_shape),
        activation=output_activation,
        kernel_initializer=_kernel_initializer(init_range),
        bias_initializer=bias_init,
        name="output",
    )(h)
    if len(output_shape) > 1:
        h = keras.layers.Reshape(output_shape, name="to_data_shape")(h)
    return keras.Model(z, h, name=name)


def maxout_discriminator(
    input_shape=(28, 28, 1),
    units=(240, 240),
    pieces=5,
    dropout=(0.2, 0.5, 0.5),
    init_range=None,
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
            (the paper drops 20% of the inputs and 50% of the hidden units), as
            :class:`keras_gan.layers.PackedDropout` (8 random bits per unit, so
            0.2 is applied as 51/256 = 0.19922).
        init_range: ``None`` for Glorot-uniform kernels, or ``r`` for
            ``U(-r, r)`` (pylearn2's ``irange``; the paper's MNIST discriminator:
            0.005, so D starts near ``D(x) = 1/2`` everywhere).
    """
    input_shape = _as_shape(input_shape, "input_shape")
    dropout = _check_dropout(dropout, len(units) + 1)
    _kernel_initializer(init_range)  # validate before building
    x = keras.Input(input_shape, name="x")
    h = keras.layers.Flatten(name="flatten")(x) if len(input_shape) > 1 else x
    for i, width in enumerate(units):
        if dropout[i]:
            h = PackedDropout(dropout[i], name=f"dropout_{i}")(h)
        h = Maxout(
            int(width),
            pieces=pieces,
            kernel_initializer=_kernel_initializer(init_range),
            name=f"maxout_{i}",
        )(h)
    if dropout[-1]:
        h = PackedDropout(dropout[-1], name=f"dropout_{len(units)}")(h)
    logit = keras.layers.Dense(1, kernel_initializer=_kernel_initializer(init_range), name="logit")(
        h
    )
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
