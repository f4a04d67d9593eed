"""DCGAN-style convolutional networks (Radford et al. 2016) for small images.

The generator projects ``z`` to a small feature map and doubles its size with
strided transposed convolutions (5x5, stride 2), halving the channels each
time; batch normalization and ReLU between layers, ``output_activation`` at the
end. For 28x28 images it starts at 7x7 (7 -> 14 -> 28), for 32x32 at 4x4
(4 -> 8 -> 16 -> 32); in general the image is halved while both sides stay even
and at least 4.

The discriminator mirrors it with strided convolutions (5x5, stride 2) and
LeakyReLU(0.2), then one dense output (a logit, or a critic score).
``normalization`` is ``"none"`` by default so the same network serves as a
WGAN-GP critic (the gradient penalty forbids batch norm); use ``"batch"`` for
the DCGAN paper's discriminator or ``"layer"`` for a normalized critic.

Example:

```python
from keras_gan import networks

g = networks.dcgan_generator(latent_dim=100, output_shape=(32, 32, 3))
d = networks.dcgan_discriminator((32, 32, 3), normalization="batch")
```
"""

from __future__ import annotations

import keras

from keras_gan.layers import PackedDropout
from keras_gan.networks.mlp import _as_shape

NORMALIZATIONS = ("none", "batch", "layer")


def upsampling_plan(shape):
    """``(start_height, start_width, num_doublings)`` to grow a map to ``shape``."""
    h, w = int(shape[0]), int(shape[1])
    n = 0
    while h % 2 == 0 and w % 2 == 0 and h // 2 >= 4 and w // 2 >= 4:
        h, w, n = h // 2, w // 2, n + 1
    if n == 0:
        raise ValueError(
            f"DCGAN networks need images whose sides can be halved at least once while "
            f"staying >= 4 (e.g. 28x28, 32x32, 64x64); got {tuple(shape)}."
        )
    return h, w, n


def _image_shape(shape, what):
    shape = _as_shape(shape, what)
    if len(shape) != 3:
        raise ValueError(f"{what} must be (height, width, channels); got {shape}.")
    return shape


def _check_normalization(normalization):
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"Unknown normalization {normalization!r}. Allowed: {list(NORMALIZATIONS)}."
        )
    return normalization


def generator_body(h, output_shape, base_filters, batch_norm, output_activation):
    """Project a flat tensor ``h`` to an image of ``output_shape`` (shared by the
    plain and conditional DCGAN generators)."""
    height, width, n = upsampling_plan(output_shape)
    filters = int(base_filters) * 2 ** (n - 1)
    h = keras.layers.Dense(height * width * filters, use_bias=not batch_norm, name="project")(h)
    if batch_norm:
        h = keras.layers.BatchNormalization(name="project_bn")(h)
    h = keras.layers.ReLU(name="project_relu")(h)
    h = keras.layers.Reshape((height, width, filters), name="to_map")(h)
    for i in range(n - 1):
        filters //= 2
        h = keras.layers.Conv2DTranspose(
            filters, 5, strides=2, padding="same", use_bias=not batch_norm, name=f"up_{i}"
        )(h)
        if batch_norm:
            h = keras.layers.BatchNormalization(name=f"up_{i}_bn")(h)
        h = keras.layers.ReLU(name=f"up_{i}_relu")(h)
    return keras.layers.Conv2DTranspose(
        output_shape[-1],
        5,
        strides=2,
        padding="same",
        activation=output_activation,
        name="to_image",
    )(h)


def spectral(layer, enabled=True):
    """``layer`` wrapped in ``keras.layers.SpectralNormalization`` (Miyato et al. 2018)
    when ``enabled``: its kernel is divided by its top singular value at each
    training call (see :mod:`keras_gan.networks.sngan`)."""
    if not enabled:
        return layer
    return keras.layers.SpectralNormalization(layer, name=f"{layer.name}_sn")


def discriminator_body(
    x, input_shape, base_filters, normalization, dropout, spectral_norm=False, head=True
):
    """Strided convolutions from an image ``x`` down to one output unit (or, with
    ``head=False``, to the flattened features before it)."""
    _, _, n = upsampling_plan(input_shape)
    h = x
    filters = int(base_filters)
    for i in range(n):
        conv = keras.layers.Conv2D(filters, 5, strides=2, padding="same", name=f"down_{i}")
        h = spectral(conv, spectral_norm)(h)
        if i > 0 and normalization == "batch":  # DCGAN: no BN on the first layer
            h = keras.layers.BatchNormalization(name=f"down_{i}_bn")(h)
        elif i > 0 and normalization == "layer":
            h = keras.layers.LayerNormalization(axis=(1, 2, 3), name=f"down_{i}_ln")(h)
        h = keras.layers.LeakyReLU(0.2, name=f"down_{i}_lrelu")(h)
        if dropout:
            h = PackedDropout(dropout, name=f"down_{i}_dropout")(h)
        filters *= 2
    h = keras.layers.Flatten(name="flatten")(h)
    if not head:
        return h
    return spectral(keras.layers.Dense(1, name="logit"), spectral_norm)(h)


def dcgan_generator(
    latent_dim=100,
    output_shape=(28, 28, 1),
    base_filters=64,
    batch_norm=True,
    output_activation="tanh",
    name="generator",
):
    """DCGAN generator ``z -> image``.

    Args:
        latent_dim: size of ``z``.
        output_shape: ``(height, width, channels)``, e.g. ``(28, 28, 1)`` or
            ``(32, 32, 3)``.
        base_filters: channels of the last hidden layer; doubled per layer
            towards the input (28x28: 128 -> 64; 32x32: 256 -> 128 -> 64).
        batch_norm: batch normalization after each hidden layer.
        output_activation: ``"tanh"`` for data in ``[-1, 1]``, ``"sigmoid"``
            for ``[0, 1]``.
    """
    output_shape = _image_shape(output_shape, "output_shape")
    z = keras.Input((int(latent_dim),), name="z")
    out = generator_body(z, output_shape, base_filters, batch_norm, output_activation)
    return keras.Model(z, out, name=name)


def dcgan_discriminator(
    input_shape=(28, 28, 1),
    base_filters=64,
    normalization="none",
    dropout=0.0,
    spectral_norm=False,
    name="discriminator",
):
    """DCGAN discriminator / critic ``image -> one logit (score)``.

    Args:
        input_shape: ``(height, width, channels)``.
        base_filters: channels of the first convolution; doubled per layer.
        normalization: ``"none"`` (default; valid for a WGAN-GP critic),
            ``"batch"`` (the DCGAN paper) or ``"layer"``.
        dropout: dropout rate after each convolution (0: none).
        spectral_norm: spectrally normalise every convolution and the output
            layer (SNGAN's "standard CNN" discriminator uses it without
            normalization).
    """
    input_shape = _image_shape(input_shape, "input_shape")
    _check_normalization(normalization)
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {dropout!r}.")
    x = keras.Input(input_shape, name="x")
    out = discriminator_body(
        x, input_shape, base_filters, normalization, float(dropout), bool(spectral_norm)
    )
    return keras.Model(x, out, name=name)
