"""Check a network builder's keyword arguments before anything is built.

The config schema (:mod:`keras_gan.config`) calls :func:`check_network_arguments`
so that a negative width, a dropout rate of 1.5 or an unknown activation is
rejected with the key and what is allowed, instead of by Keras deep inside a
layer. The expected type of each argument comes from the builder's signature:

* by name, for the arguments the package's builders share: layer widths
  (``hidden``, ``units``: lists of ints in ``[1, MAX_WIDTH]``), positive sizes
  (``pieces``, ``base_filters``, ``channels``, ``embedding_dim``...), dropout
  rates (a float in ``[0, 1)`` or a list of them, as the default is) and
  activations (``*activation``: a name ``keras.activations.get`` knows);
* otherwise by the type of the default value (a bool, int, float, string or
  list), so a new builder is checked without registering anything.

Whatever involves several arguments at once (e.g. one dropout rate per
layer) is checked by the builder itself when the network is built.
"""

from __future__ import annotations

import functools
import inspect
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)

#: Largest layer width / filter count accepted from a config (catches typos such
#: as ``1e9``; no GAN layer here comes close).
MAX_WIDTH = 65536
#: Arguments the model sets itself (never taken from a config).
SET_BY_MODEL = ("name", "latent_dim", "output_shape", "input_shape", "num_classes")
WIDTH_LISTS = ("hidden", "units", "widths", "filters_per_layer")
POSITIVE_SIZES = (
    "pieces",
    "base_filters",
    "filters",
    "channels",
    "embedding_dim",
    "num_blocks",
    "blocks",
    "kernel_size",
    "depth",
    "width",
)
RATES = ("dropout", "dropout_rate")

Width = Annotated[StrictInt, Field(ge=1, le=MAX_WIDTH)]
Rate = Annotated[float, Field(ge=0.0, lt=1.0)]


def activation_names():
    """Names of the Keras activations (``keras.activations.<name>``)."""
    import keras

    skip = {"get", "serialize", "deserialize"}
    return sorted(
        n
        for n in dir(keras.activations)
        if not n.startswith("_") and n not in skip and callable(getattr(keras.activations, n))
    )


def _check_activation(name):
    if name not in activation_names():
        raise ValueError(f"unknown activation {name!r}; allowed: {activation_names()}")
    return name


Activation = Annotated[StrictStr, AfterValidator(_check_activation)]


def _annotation(name, default):
    if name in WIDTH_LISTS:
        return list[Width]
    if name in POSITIVE_SIZES:
        return Width | None if default is None else Width
    if name in RATES:
        return list[Rate] if isinstance(default, (list, tuple)) else Rate
    if name.endswith("activation"):
        return Activation | None if default is None else Activation
    if isinstance(default, bool):
        return StrictBool
    if isinstance(default, int):
        return StrictInt
    if isinstance(default, float):
        return float
    if isinstance(default, str):
        return StrictStr
    if isinstance(default, (list, tuple)):
        return list
    return Any


@functools.cache
def argument_schema(builder):
    """A pydantic model of ``builder``'s configurable keyword arguments."""
    fields = {}
    for name, parameter in inspect.signature(builder).parameters.items():
        if name in SET_BY_MODEL or parameter.kind in (
            parameter.VAR_KEYWORD,
            parameter.VAR_POSITIONAL,
        ):
            continue
        default = None if parameter.default is inspect.Parameter.empty else parameter.default
        fields[name] = (_annotation(name, default), default)
    return create_model(
        f"{builder.__name__}_arguments",
        __config__=ConfigDict(extra="ignore", allow_inf_nan=False),
        **fields,
    )


def check_network_arguments(builder, kwargs):
    """Raise ``ValueError`` naming each bad argument of ``builder(**kwargs)``
    (``key.index: problem (got value)``); unknown keys are left to the caller."""
    try:
        argument_schema(builder).model_validate(kwargs)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            where = ".".join(str(p) for p in err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message} (got {err.get('input')!r})")
        raise ValueError(
            f"bad argument(s) for network {builder.__name__!r}: " + "; ".join(problems)
        ) from None
