"""Whether a network treats the examples of a batch independently.

A discriminator that does (no batch normalization, no minibatch
statistics) gives each example the output it would get in a batch of its own,
so running it once on ``concat([real, fake])`` gives exactly the outputs of two
separate calls on ``real`` and ``fake``: one larger matrix multiply instead of
two, which is faster on every device (see :class:`AdversarialModel`'s
``joint_discriminator_pass``). With dropout the joint call draws one mask for
both halves instead of one per half: a different draw from the same
distribution.

Only layers known to be per-example are trusted, by exact type: a subclass of a
known layer (its ``call`` may mix examples), a ``Lambda``, a subclassed model or
any other layer makes the network "not known to be per-example".

Example:

```python
from keras_gan import networks
from keras_gan.models.per_example import batch_dependent_layers

batch_dependent_layers(networks.maxout_discriminator())                       # []
batch_dependent_layers(networks.dcgan_discriminator(normalization="batch"))  # ['down_1_bn', ...]
```
"""

from __future__ import annotations

import functools

import keras

__all__ = ["per_example_layer_types", "batch_dependent_layers"]


@functools.cache
def per_example_layer_types():
    """The layer (and model) types trusted to treat examples independently."""
    from keras.src.models.functional import Functional

    from keras_gan.layers import Maxout, PackedDropout

    L = keras.layers
    names = [
        # Weights applied to each example.
        "Dense", "EinsumDense", "Embedding", "CategoryEncoding",
        "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
        "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
        # Element-wise or per-example maps.
        "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "Identity", "Rescaling",
        "Flatten", "Reshape", "Permute", "RepeatVector",
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
        "LayerNormalization", "GroupNormalization", "UnitNormalization", "RMSNormalization",
        "MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
        "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
        "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
        "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
        "UpSampling1D", "UpSampling2D", "UpSampling3D",
        "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
        "Cropping1D", "Cropping2D", "Cropping3D",
        # Independent noise per example (a joint call draws from the same distribution).
        "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
        "GaussianDropout", "GaussianNoise", "AlphaDropout",
        "InputLayer",
    ]  # fmt: skip
    types = {getattr(L, name) for name in names if hasattr(L, name)}
    # Containers: functional and sequential models only run their layers.
    types.update((Maxout, PackedDropout, Functional, keras.Sequential))
    return frozenset(types)


def batch_dependent_layers(model):
    """Names of the layers of ``model`` not known to treat examples independently.

    ``[]`` means a call on a concatenated batch equals the concatenation of
    separate calls (up to dropout draws and float rounding).
    """
    trusted = per_example_layer_types()
    if type(model) not in trusted:  # a subclassed model's call may mix examples
        return [model.name]
    layers = model._flatten_layers(include_self=False, recursive=True)
    return [layer.name for layer in layers if type(layer) not in trusted]
