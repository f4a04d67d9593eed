"""SNGAN's ResNet networks, and the conditional ones of cGAN-PD.

Miyato et al. (2018), "Spectral Normalization for Generative Adversarial
Networks", Appendix B (the shapes of Mimicry's ``sngan_32``), and Miyato & Koyama
(2018), "cGANs with Projection Discriminator":

* Generator: ``z -> dense base x base x channels -> k up-blocks -> BN -> ReLU ->
  conv 3x3 -> tanh``, ``base = 4`` for 32x32 (three blocks, 256 channels) and
  ``base = 7`` for 28x28 (two blocks). An up-block is ``BN -> ReLU -> upsample x2
  -> conv 3x3 -> BN -> ReLU -> conv 3x3`` plus ``upsample -> conv 1x1``.
* Discriminator: an optimised first block ``conv -> ReLU -> conv -> pool`` (plus
  ``pool -> conv 1x1``), one down-block and two plain blocks (``ReLU -> conv ->
  ReLU -> conv``, 128 channels), then ``ReLU -> sum over positions -> dense 1``.
  Every convolution and dense layer is spectrally normalised
  (``keras.layers.SpectralNormalization``, one power iteration per training call);
  no batch normalisation, so R1 and the gradient penalty apply.
* Conditional generator: the generator's batch norms become conditional batch
  norms, ``BN(h) * (1 + gamma[c]) + beta[c]`` with per-class ``gamma`` and
  ``beta`` (learned embeddings, zero at the start).
* Projection discriminator: ``D(x, c) = dense(phi(x)) + <embed(c), phi(x)>`` with
  ``phi`` the discriminator's pooled features and a spectrally normalised class
  embedding.

Keras' ``SpectralNormalization`` replaces the wrapped kernel by ``W / sigma(W)``
in place at each training call (``sigma`` from a persistent power-iteration
vector), so the kernel itself has a top singular value close to 1 and the
gradient step is taken on the normalised kernel; the paper differentiates
through ``W / sigma(W)`` instead. Both keep ``sigma`` near 1
(``tests/test_sngan.py`` measures it with ``numpy.linalg.svd``).

Example:

```python
from keras_gan import networks

g = networks.sngan_generator(latent_dim=128, output_shape=(32, 32, 3))
d = networks.sngan_discriminator((32, 32, 3))
pd = networks.projection_discriminator((28, 28, 1), num_classes=10)
```
"""

from __future__ import annotations

import keras

from keras_gan.networks.conditional import _check_classes, label_input
from keras_gan.networks.dcgan import spectral
from keras_gan.networks.mlp import _as_shape

__all__ = [
    "sngan_generator",
    "sngan_discriminator",
    "conditional_sngan_generator",
    "projection_discriminator",
    "spectral",
]


def _plan(shape, what):
    """``(shape, base, k)``: a square image of side ``base * 2^k``, base 4 or 7."""
    shape = _as_shape(shape, what)
    if len(shape) != 3 or shape[0] != shape[1]:
        raise ValueError(f"SNGAN networks need square images (side, side, channels); got {shape}.")
    for base in (4, 7):
        side, k = shape[0], 0
        while side > base and side % 2 == 0:
            side //= 2
            k += 1
        if side == base and k >= 1:
            return shape, base, k
    raise ValueError(
        f"SNGAN networks need a side of 4 * 2^k or 7 * 2^k (e.g. 32 or 28); got {what} {shape}."
    )


def _conv(filters, kernel, name, sn):
    return spectral(keras.layers.Conv2D(filters, kernel, padding="same", name=name), sn)


def _norm(h, name, labels=None, num_classes=None):
    """Batch norm, or conditional batch norm when ``labels`` are given."""
    if labels is None:
        return keras.layers.BatchNormalization(name=name)(h)
    channels = h.shape[-1]
    h = keras.layers.BatchNormalization(center=False, scale=False, name=name)(h)
    gamma = keras.layers.Embedding(num_classes, channels, embeddings_initializer="zeros",
                                   name=f"{name}_gamma")(labels)  # fmt: skip
    beta = keras.layers.Embedding(num_classes, channels, embeddings_initializer="zeros",
                                  name=f"{name}_beta")(labels)  # fmt: skip
    gamma = keras.layers.Reshape((1, 1, channels), name=f"{name}_gamma_map")(gamma)
    beta = keras.layers.Reshape((1, 1, channels), name=f"{name}_beta_map")(beta)
    scaled = keras.layers.Multiply(name=f"{name}_scale")([h, gamma])
    return keras.layers.Add(name=f"{name}_shift")([h, scaled, beta])


def _up_block(h, channels, name, sn, labels=None, num_classes=None):
    shortcut = keras.layers.UpSampling2D(2, name=f"{name}_shortcut_up")(h)
    shortcut = _conv(channels, 1, f"{name}_shortcut_conv", sn)(shortcut)
    h = _norm(h, f"{name}_bn_1", labels, num_classes)
    h = keras.layers.ReLU(name=f"{name}_relu_1")(h)
    h = keras.layers.UpSampling2D(2, name=f"{name}_up")(h)
    h = _conv(channels, 3, f"{name}_conv_1", sn)(h)
    h = _norm(h, f"{name}_bn_2", labels, num_classes)
    h = keras.layers.ReLU(name=f"{name}_relu_2")(h)
    h = _conv(channels, 3, f"{name}_conv_2", sn)(h)
    return keras.layers.Add(name=f"{name}_add")([shortcut, h])


def _generator(z, labels, num_classes, output_shape, channels, spectral_norm, out_act):
    output_shape, base, k = _plan(output_shape, "output_shape")
    channels = int(channels)
    h = spectral(keras.layers.Dense(base * base * channels, name="project"), spectral_norm)(z)
    h = keras.layers.Reshape((base, base, channels), name="to_map")(h)
    for i in range(k):
        h = _up_block(h, channels, f"up_{i}", spectral_norm, labels, num_classes)
    h = keras.layers.BatchNormalization(name="out_bn")(h)
    h = keras.layers.ReLU(name="out_relu")(h)
    conv = keras.layers.Conv2D(
        output_shape[-1], 3, padding="same", activation=out_act, name="to_image"
    )
    return spectral(conv, spectral_norm)(h)


def sngan_generator(
    latent_dim=128,
    output_shape=(32, 32, 3),
    channels=256,
    spectral_norm=False,
    output_activation="tanh",
    name="generator",
):
    """SNGAN's ResNet generator (see the module docstring).

    Args:
        latent_dim: size of ``z`` (SNGAN: 128).
        output_shape: ``(side, side, channels)``, side ``4 * 2^k`` or ``7 * 2^k``.
        channels: feature maps of every block (SNGAN: 256).
        spectral_norm: also normalise G's layers (SAGAN/BigGAN; SNGAN does not).
        output_activation: ``"tanh"`` for data in ``[-1, 1]``.
    """
    z = keras.Input((int(latent_dim),), name="z")
    out = _generator(z, None, None, output_shape, channels, spectral_norm, output_activation)
    return keras.Model(z, out, name=name)


def conditional_sngan_generator(
    latent_dim=128,
    num_classes=10,
    output_shape=(32, 32, 3),
    channels=256,
    spectral_norm=False,
    output_activation="tanh",
    name="generator",
):
    """cGAN-PD's generator: :func:`sngan_generator` with conditional batch norms."""
    num_classes = _check_classes(num_classes)
    z = keras.Input((int(latent_dim),), name="z")
    labels = label_input()
    out = _generator(z, labels, num_classes, output_shape, channels, spectral_norm,
                     output_activation)  # fmt: skip
    return keras.Model([z, labels], out, name=name)


def _d_block(h, channels, name, downsample, sn, first=False):
    if first:  # the optimised block: the image itself, no activation before it
        shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(h)
        shortcut = _conv(channels, 1, f"{name}_shortcut_conv", sn)(shortcut)
    elif downsample or h.shape[-1] != channels:
        shortcut = _conv(channels, 1, f"{name}_shortcut_conv", sn)(h)
        if downsample:
            shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(shortcut)
    else:
        shortcut = h
    if not first:
        h = keras.layers.ReLU(name=f"{name}_relu_1")(h)
    h = _conv(channels, 3, f"{name}_conv_1", sn)(h)
    h = keras.layers.ReLU(name=f"{name}_relu_2")(h)
    h = _conv(channels, 3, f"{name}_conv_2", sn)(h)
    if downsample or first:
        h = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(h)
    return keras.layers.Add(name=f"{name}_add")([shortcut, h])


def h_w(input_shape):
    """Positions of the discriminator's last feature map (the side halved twice)."""
    side = int(input_shape[0]) // 4
    return side * side


def _features(x, input_shape, channels, spectral_norm):
    """``phi(x)``: the blocks, ReLU and the sum over positions, ``[batch, channels]``."""
    _plan(input_shape, "input_shape")
    channels = int(channels)
    h = _d_block(x, channels, "block_0", True, spectral_norm, first=True)
    h = _d_block(h, channels, "block_1", True, spectral_norm)
    h = _d_block(h, channels, "block_2", False, spectral_norm)
    h = _d_block(h, channels, "block_3", False, spectral_norm)
    h = keras.layers.ReLU(name="out_relu")(h)
    # the sum over positions, as a mean times their number (no Lambda: saved models
    # load in safe mode)
    h = keras.layers.GlobalAveragePooling2D(name="mean_pool")(h)
    return keras.layers.Rescaling(float(h_w(input_shape)), name="sum_pool")(h)


def sngan_discriminator(input_shape=(32, 32, 3), channels=128, spectral_norm=True,
                        name="discriminator"):  # fmt: skip
    """SNGAN's ResNet discriminator (see the module docstring).

    Args:
        input_shape: ``(side, side, channels)``, side ``4 * 2^k`` or ``7 * 2^k``.
        channels: feature maps of every block (SNGAN: 128).
        spectral_norm: spectrally normalise every layer (default, as SNGAN).
    """
    input_shape = _as_shape(input_shape, "input_shape")
    x = keras.Input(input_shape, name="x")
    phi = _features(x, input_shape, channels, spectral_norm)
    logit = spectral(keras.layers.Dense(1, name="logit"), spectral_norm)(phi)
    return keras.Model(x, logit, name=name)


def projection_discriminator(input_shape=(32, 32, 3), num_classes=10, channels=128,
                             spectral_norm=True, name="discriminator"):  # fmt: skip
    """cGAN-PD's projection discriminator ``dense(phi(x)) + <embed(c), phi(x)>``.

    A two-input model ``discriminator([x, labels])`` for
    :class:`keras_gan.models.ConditionalGAN`; the unconditional models refuse it.
    """
    num_classes = _check_classes(num_classes)
    input_shape = _as_shape(input_shape, "input_shape")
    x = keras.Input(input_shape, name="x")
    labels = label_input()
    phi = _features(x, input_shape, channels, spectral_norm)
    logit = spectral(keras.layers.Dense(1, name="logit"), spectral_norm)(phi)
    # The class embedding as a dense layer on one-hot labels (the same matrix):
    # keras.layers.SpectralNormalization casts a wrapped layer's output to its input's
    # dtype, which would make an Embedding's output int32 (and cut its gradient).
    one_hot = keras.layers.CategoryEncoding(num_classes, output_mode="one_hot",
                                            name="label_one_hot")(labels)  # fmt: skip
    embedding = keras.layers.Dense(int(channels), use_bias=False, name="class_embedding")
    embed = spectral(embedding, spectral_norm)(one_hot)
    projection = keras.layers.Dot(axes=1, name="projection")([embed, phi])
    out = keras.layers.Add(name="logit_plus_projection")([logit, projection])
    return keras.Model([x, labels], out, name=name)
