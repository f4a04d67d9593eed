"""The WGAN-GP paper's ResNet generator and critic for 32x32 images.

Gulrajani et al. (2017), Appendix F / ``gan_cifar_resnet.py``: 128 channels
throughout, 3x3 convolutions, pre-activation residual blocks.

* Generator: ``z (128) -> dense 4x4x128 -> 3 up-blocks (4 -> 8 -> 16 -> 32)
  -> BN -> ReLU -> conv 3x3 to the image channels -> tanh``. An up-block is
  ``BN -> ReLU -> upsample x2 -> conv -> BN -> ReLU -> conv`` plus a shortcut
  ``upsample x2 -> conv 1x1``.
* Critic (no normalization, so valid with the gradient penalty): a first
  block ``conv -> ReLU -> conv -> mean-pool`` with shortcut ``mean-pool ->
  conv 1x1``; a down-block ``ReLU -> conv -> ReLU -> conv -> mean-pool`` with
  shortcut ``mean-pool -> conv 1x1``; two plain blocks with identity
  shortcuts; ``ReLU -> global mean-pool -> dense 1``.

Upsampling is nearest-neighbour then convolution (the paper's ``UpsampleConv``
uses depth-to-space on tiled channels, which is the same nearest-neighbour
upsampling). Other square sizes that are ``4 * 2^k`` (16, 64...) also work:
the generator adds or drops up-blocks, the critic down-samples to 8x8.

Example:

```python
from keras_gan import networks

g = networks.resnet_generator(latent_dim=128, output_shape=(32, 32, 3))
critic = networks.resnet_critic((32, 32, 3))
```
"""

from __future__ import annotations

import keras

from keras_gan.networks.mlp import _as_shape


def _square_power_of_two(shape, what, low):
    shape = _as_shape(shape, what)
    if len(shape) != 3:
        raise ValueError(f"{what} must be (height, width, channels); got {shape}.")
    size = shape[0]
    k = 0
    while size > low and size % 2 == 0:
        size //= 2
        k += 1
    if shape[0] != shape[1] or size != low or k == 0:
        raise ValueError(
            f"ResNet networks need square images of side {2 * low} * 2^k (e.g. 32x32); "
            f"got {what} {shape}."
        )
    return shape, k


def _conv(filters, kernel, name):
    return keras.layers.Conv2D(filters, kernel, padding="same", name=name)


def _up_block(h, channels, name):
    shortcut = keras.layers.UpSampling2D(2, name=f"{name}_shortcut_up")(h)
    shortcut = _conv(channels, 1, f"{name}_shortcut_conv")(shortcut)
    h = keras.layers.BatchNormalization(name=f"{name}_bn_1")(h)
    h = keras.layers.ReLU(name=f"{name}_relu_1")(h)
    h = keras.layers.UpSampling2D(2, name=f"{name}_up")(h)
    h = _conv(channels, 3, f"{name}_conv_1")(h)
    h = keras.layers.BatchNormalization(name=f"{name}_bn_2")(h)
    h = keras.layers.ReLU(name=f"{name}_relu_2")(h)
    h = _conv(channels, 3, f"{name}_conv_2")(h)
    return keras.layers.Add(name=f"{name}_add")([shortcut, h])


def _critic_block(h, channels, name, downsample, first=False):
    if downsample:
        shortcut = keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(h)
        shortcut = _conv(channels, 1, f"{name}_shortcut_conv")(shortcut)
    else:
        shortcut = h
    if not first:  # the first block sees the image itself: no activation before it
        h = keras.layers.ReLU(name=f"{name}_relu_1")(h)
    h = _conv(channels, 3, f"{name}_conv_1")(h)
    h = keras.layers.ReLU(name=f"{name}_relu_2")(h)
    h = _conv(channels, 3, f"{name}_conv_2")(h)
    if downsample:
        h = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(h)
    return keras.layers.Add(name=f"{name}_add")([shortcut, h])


def resnet_generator(
    latent_dim=128,
    output_shape=(32, 32, 3),
    channels=128,
    output_activation="tanh",
    name="generator",
):
    """The WGAN-GP paper's CIFAR-10 ResNet generator (see the module docstring).

    Args:
        latent_dim: size of ``z`` (the paper: 128).
        output_shape: ``(side, side, channels)`` with ``side = 4 * 2^k``.
        channels: feature maps of every block (the paper: 128).
        output_activation: ``"tanh"`` for data in ``[-1, 1]``.
    """
    output_shape, k = _square_power_of_two(output_shape, "output_shape", 4)
    channels = int(channels)
    z = keras.Input((int(latent_dim),), name="z")
    h = keras.layers.Dense(4 * 4 * channels, name="project")(z)
    h = keras.layers.Reshape((4, 4, channels), name="to_map")(h)
    for i in range(k):
        h = _up_block(h, channels, f"up_{i}")
    h = keras.layers.BatchNormalization(name="out_bn")(h)
    h = keras.layers.ReLU(name="out_relu")(h)
    out = keras.layers.Conv2D(
        output_shape[-1], 3, padding="same", activation=output_activation, name="to_image"
    )(h)
    return keras.Model(z, out, name=name)


def resnet_critic(input_shape=(32, 32, 3), channels=128, name="critic"):
    """The WGAN-GP paper's CIFAR-10 ResNet critic (no normalization layers).

    Args:
        input_shape: ``(side, side, channels)`` with ``side = 8 * 2^k``.
        channels: feature maps of every block (the paper: 128).
    """
    input_shape, k = _square_power_of_two(input_shape, "input_shape", 8)
    channels = int(channels)
    x = keras.Input(input_shape, name="x")
    h = _critic_block(x, channels, "block_0", downsample=True, first=True)
    for i in range(1, k):
        h = _critic_block(h, channels, f"block_{i}", downsample=True)
    for i in range(k, k + 2):
        h = _critic_block(h, channels, f"block_{i}", downsample=False)
    h = keras.layers.ReLU(name="out_relu")(h)
    h = keras.layers.GlobalAveragePooling2D(name="mean_pool")(h)
    out = keras.layers.Dense(1, name="score")(h)
    return keras.Model(x, out, name=name)
