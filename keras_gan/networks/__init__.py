"""Network builders: plain functions returning Keras models.

Generators map ``z`` (``[batch, latent_dim]``) to data; discriminators and critics
map data to one logit/score per example. Conditional builders (names starting
with ``conditional_``) take a ``num_classes`` argument and return two-input
models (``[z, labels]`` / ``[x, labels]``). :func:`build` looks a builder up by
the name used in configs.
"""

from __future__ import annotations

import inspect

from keras_gan.networks.conditional import (
    acgan_discriminator,
    conditional_dcgan_discriminator,
    conditional_dcgan_generator,
    conditional_mlp_discriminator,
    conditional_mlp_generator,
)
from keras_gan.networks.dcgan import dcgan_discriminator, dcgan_generator
from keras_gan.networks.mlp import (
    DATA_MARGINALS,
    maxout_discriminator,
    mlp_discriminator,
    mlp_generator,
    output_bias_from_marginals,
)
from keras_gan.networks.resnet import resnet_critic, resnet_generator
from keras_gan.networks.sequence import sequence_critic, sequence_generator
from keras_gan.networks.sngan import (
    conditional_sngan_generator,
    projection_discriminator,
    sngan_discriminator,
    sngan_generator,
)

GENERATORS = {
    "mlp_generator": mlp_generator,
    "dcgan_generator": dcgan_generator,
    "resnet_generator": resnet_generator,
    "conditional_mlp_generator": conditional_mlp_generator,
    "conditional_dcgan_generator": conditional_dcgan_generator,
    "sequence_generator": sequence_generator,
    "sngan_generator": sngan_generator,
    "conditional_sngan_generator": conditional_sngan_generator,
}
DISCRIMINATORS = {
    "maxout_discriminator": maxout_discriminator,
    "mlp_discriminator": mlp_discriminator,
    "dcgan_discriminator": dcgan_discriminator,
    "resnet_critic": resnet_critic,
    "conditional_mlp_discriminator": conditional_mlp_discriminator,
    "conditional_dcgan_discriminator": conditional_dcgan_discriminator,
    "sequence_critic": sequence_critic,
    "sngan_discriminator": sngan_discriminator,
    "projection_discriminator": projection_discriminator,
    "acgan_discriminator": acgan_discriminator,
}

__all__ = [
    "mlp_generator",
    "maxout_discriminator",
    "mlp_discriminator",
    "output_bias_from_marginals",
    "DATA_MARGINALS",
    "dcgan_generator",
    "dcgan_discriminator",
    "resnet_generator",
    "resnet_critic",
    "conditional_mlp_generator",
    "conditional_mlp_discriminator",
    "conditional_dcgan_generator",
    "conditional_dcgan_discriminator",
    "sequence_generator",
    "sequence_critic",
    "sngan_generator",
    "sngan_discriminator",
    "conditional_sngan_generator",
    "projection_discriminator",
    "acgan_discriminator",
    "GENERATORS",
    "DISCRIMINATORS",
    "build",
    "is_conditional",
]


def is_conditional(name):
    """Whether the builder ``name`` makes a conditional (two-input) network."""
    table = GENERATORS if name in GENERATORS else DISCRIMINATORS
    return "num_classes" in inspect.signature(table[name]).parameters


def build(kind, name, **kwargs):
    """Build the network ``name`` of ``kind`` (``"generator"`` or ``"discriminator"``).

    Unknown names and unknown keyword arguments raise a ``ValueError`` naming the
    allowed ones.
    """
    table = {"generator": GENERATORS, "discriminator": DISCRIMINATORS}[kind]
    if name not in table:
        raise ValueError(f"Unknown {kind} network {name!r}. Allowed: {sorted(table)}.")
    builder = table[name]
    allowed = [p for p in inspect.signature(builder).parameters if p != "name"]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(
            f"Unknown argument(s) {unknown} for {kind} network {name!r}. Allowed: {allowed}."
        )
    return builder(**kwargs)
