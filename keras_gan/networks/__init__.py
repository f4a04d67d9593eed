"""Network builders: plain functions returning Keras models.

Generators map ``z`` (``[batch, latent_dim]``) to data; discriminators and critics
map data to one logit/score per example. :func:`get` looks a builder up by the
name used in configs.
"""

from __future__ import annotations

import inspect

from keras_gan.networks.mlp import (
    DATA_MARGINALS,
    maxout_discriminator,
    mlp_discriminator,
    mlp_generator,
    output_bias_from_marginals,
)

GENERATORS = {"mlp_generator": mlp_generator}
DISCRIMINATORS = {
    "maxout_discriminator": maxout_discriminator,
    "mlp_discriminator": mlp_discriminator,
}

__all__ = [
    "mlp_generator",
    "maxout_discriminator",
    "mlp_discriminator",
    "output_bias_from_marginals",
    "DATA_MARGINALS",
    "GENERATORS",
    "DISCRIMINATORS",
    "build",
]


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
