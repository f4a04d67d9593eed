"""Conditional networks for :class:`keras_gan.models.ConditionalGAN`.

Every builder returns a two-input model: generators are called as
``generator([z, labels])`` and discriminators as ``discriminator([x,
labels])``, with ``labels`` int32 class indices of shape ``[batch]``. The label
is encoded inside the network: one-hot (Mirza & Osindero 2014) by default, or a
learned embedding of ``embedding_dim`` when given.

* MLPs (toy data and MNIST): ``[z, encode(c)]`` concatenated into
  :func:`~keras_gan.networks.mlp_generator`'s layers; ``[flatten(x),
  encode(c)]`` into :func:`~keras_gan.networks.mlp_discriminator`'s.
* DCGAN: ``[z, encode(c)]`` projected as in
  :func:`~keras_gan.networks.dcgan_generator`; the discriminator maps
  ``encode(c)`` to one extra image channel (a dense layer to ``h x w``) and
  stacks it on ``x``.

Labels outside ``[0, num_classes)`` are encoded as zeros by the one-hot
encoding (Keras semantics), so callers must check them: the model does before
training and in ``sample``.

Example:

```python
from keras_gan import networks

g = networks.conditional_mlp_generator(latent_dim=2, num_classes=8, output_shape=(2,))
d = networks.conditional_mlp_discriminator((2,), num_classes=8)
x = g([z, labels])            # labels: int32 [batch]
logits = d([x, labels])
```
"""

from __future__ import annotations

import math

import keras

from keras_gan.networks.dcgan import (
    _check_normalization,
    _image_shape,
    discriminator_body,
    generator_body,
    spectral,
)
from keras_gan.networks.mlp import _as_shape


def _check_classes(num_classes):
    if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2; got {num_classes!r}.")
    return int(num_classes)


def label_input(name="labels"):
    """The ``labels`` input: int32 class indices of shape ``[batch]``."""
    return keras.Input((), dtype="int32", name=name)


def encode_labels(labels, num_classes, embedding_dim=None, name="label"):
    """One-hot (``embedding_dim=None``) or a learned embedding of ``labels``."""
    if embedding_dim is None:
        return keras.layers.CategoryEncoding(
            num_classes, output_mode="one_hot", name=f"{name}_one_hot"
        )(labels)
    return keras.layers.Embedding(num_classes, int(embedding_dim), name=f"{name}_embedding")(labels)


def conditional_mlp_generator(
    latent_dim=100,
    num_classes=10,
    hidden=(256, 256),
    output_shape=(2,),
    embedding_dim=None,
    activation="relu",
    output_activation="linear",
    name="generator",
):
    """MLP ``G(z, c)``: ``[z, encode(c)] -> hidden ReLU layers -> data``.

    Args: as :func:`~keras_gan.networks.mlp_generator`, plus ``num_classes``
    and ``embedding_dim`` (``None``: one-hot labels).
    """
    num_classes = _check_classes(num_classes)
    output_shape = _as_shape(output_shape, "output_shape")
    z = keras.Input((int(latent_dim),), name="z")
    labels = label_input()
    h = keras.layers.Concatenate(name="z_and_label")(
        [z, encode_labels(labels, num_classes, embedding_dim)]
    )
    for i, width in enumerate(hidden):
        h = keras.layers.Dense(int(width), activation=activation, name=f"dense_{i}")(h)
    h = keras.layers.Dense(math.prod(output_shape), activation=output_activation, name="output")(h)
    if len(output_shape) > 1:
        h = keras.layers.Reshape(output_shape, name="to_data_shape")(h)
    return keras.Model([z, labels], h, name=name)


def conditional_mlp_discriminator(
    input_shape=(2,),
    num_classes=10,
    hidden=(256, 256),
    embedding_dim=None,
    activation="leaky_relu",
    name="discriminator",
):
    """MLP ``D(x, c)``: ``[flatten(x), encode(c)] -> hidden layers -> logit``.

    The default activation is leaky ReLU (slope 0.2), like
    :func:`~keras_gan.networks.mlp_discriminator`'s, so no unit dies for good.
    """
    num_classes = _check_classes(num_classes)
    input_shape = _as_shape(input_shape, "input_shape")
    x = keras.Input(input_shape, name="x")
    labels = label_input()
    h = keras.layers.Flatten(name="flatten")(x) if len(input_shape) > 1 else x
    h = keras.layers.Concatenate(name="x_and_label")(
        [h, encode_labels(labels, num_classes, embedding_dim)]
    )
    for i, width in enumerate(hidden):
        h = keras.layers.Dense(int(width), activation=activation, name=f"dense_{i}")(h)
    logit = keras.layers.Dense(1, name="logit")(h)
    return keras.Model([x, labels], logit, name=name)


def conditional_dcgan_generator(
    latent_dim=100,
    num_classes=10,
    output_shape=(28, 28, 1),
    base_filters=64,
    batch_norm=True,
    embedding_dim=None,
    output_activation="tanh",
    name="generator",
):
    """DCGAN ``G(z, c)``: :func:`~keras_gan.networks.dcgan_generator` fed
    ``[z, encode(c)]``."""
    num_classes = _check_classes(num_classes)
    output_shape = _image_shape(output_shape, "output_shape")
    z = keras.Input((int(latent_dim),), name="z")
    labels = label_input()
    h = keras.layers.Concatenate(name="z_and_label")(
        [z, encode_labels(labels, num_classes, embedding_dim)]
    )
    out = generator_body(h, output_shape, base_filters, batch_norm, output_activation)
    return keras.Model([z, labels], out, name=name)


def conditional_dcgan_discriminator(
    input_shape=(28, 28, 1),
    num_classes=10,
    base_filters=64,
    normalization="none",
    dropout=0.0,
    embedding_dim=None,
    name="discriminator",
):
    """DCGAN ``D(x, c)``: the label becomes an extra input channel (a dense map
    of ``encode(c)`` to ``h x w``), then :func:`~keras_gan.networks.dcgan_discriminator`'s
    convolutions."""
    num_classes = _check_classes(num_classes)
    input_shape = _image_shape(input_shape, "input_shape")
    _check_normalization(normalization)
    height, width, _ = input_shape
    x = keras.Input(input_shape, name="x")
    labels = label_input()
    plane = keras.layers.Dense(height * width, name="label_plane")(
        encode_labels(labels, num_classes, embedding_dim)
    )
    plane = keras.layers.Reshape((height, width, 1), name="label_map")(plane)
    h = keras.layers.Concatenate(axis=-1, name="x_and_label")([x, plane])
    stacked = input_shape[:2] + (input_shape[2] + 1,)
    out = discriminator_body(h, stacked, base_filters, normalization, float(dropout))
    return keras.Model([x, labels], out, name=name)


def acgan_discriminator(
    input_shape=(28, 28, 1),
    num_classes=10,
    base_filters=64,
    normalization="none",
    dropout=0.0,
    spectral_norm=False,
    name="discriminator",
):
    """ACGAN's ``D(x) -> [logit, class_logits]`` (Odena et al. 2017): the DCGAN
    discriminator's convolutions with two heads, one logit and ``num_classes``
    class logits; it does not see the label. For
    ``ConditionalGAN(..., auxiliary_classifier_weight=w)``."""
    num_classes = _check_classes(num_classes)
    input_shape = _image_shape(input_shape, "input_shape")
    _check_normalization(normalization)
    x = keras.Input(input_shape, name="x")
    h = discriminator_body(x, input_shape, base_filters, normalization, float(dropout),
                           bool(spectral_norm), head=False)  # fmt: skip
    logit = spectral(keras.layers.Dense(1, name="logit"), spectral_norm)(h)
    classes = spectral(keras.layers.Dense(num_classes, name="class_logits"), spectral_norm)(h)
    return keras.Model(x, [logit, classes], name=name)
