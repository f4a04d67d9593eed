"""``keras-gan train``: train from a YAML config, log to TensorBoard, save and export.

Runs are checkpointed into ``<logdir>/checkpoints`` and the same command resumes
a killed run from its latest checkpoint. Exit status: 0 done, 1 the training
diverged (NaN/Inf; one line names the step and metric, nothing is saved), ran
out of memory or out of disk space, 2 a user error (bad config or flags, damaged
data, an incompatible checkpoint, a run or export directory it cannot write);
see :mod:`keras_gan.cli.errors`. Before training, the run and export
directories are checked for writing (so a read-only or misplaced directory
fails at once, not after the run) and the temporaries of writes a killed run
left in them are removed (:func:`keras_gan.io.remove_stale_temporaries`).
"""

from __future__ import annotations

import logging
import os
import sys


def register(subparsers):
    p = subparsers.add_parser(
        "train",
        help="train a GAN from a config",
        description="Train from a YAML config (a shipped name such as mnist_mlp, or a path). "
        "Flags override the config's values.",
    )
    p.add_argument("--config", required=True, help="config name or path to a YAML file")
    p.add_argument("--dataset", help="dataset name (overrides dataset.name)")
    p.add_argument("--epochs", type=int, help="overrides training.epochs")
    p.add_argument("--batch-size", type=int, help="minibatch size (overrides training.batch_size)")
    p.add_argument("--steps-per-epoch", type=int, help="overrides training.steps_per_epoch")
    p.add_argument("--logdir", help="run directory: TensorBoard logs, model.keras, samples")
    p.add_argument("--export-dir", help="base directory for the exported SavedModel versions")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="start over: set the run's checkpoints aside (renamed with the time, not deleted) "
        "instead of resuming from them",
    )
    p.add_argument(
        "--dtype-policy",
        metavar="POLICY",
        help="the networks' Keras dtype policy, float32 or mixed_bfloat16 "
        "(overrides training.dtype_policy)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="N",
        help="generator updates between checkpoints (overrides checkpoint.every_n_steps)",
    )
    p.add_argument(
        "--strategy",
        metavar="NAME",
        help="tf.distribute strategy: default, mirrored (this machine's GPUs), multi_worker "
        "(the machines of TF_CONFIG) or tpu (overrides training.strategy; --batch-size stays "
        "the minibatch of one replica)",
    )
    p.add_argument(
        "--tpu",
        metavar="ADDRESS",
        help="the TPU of --strategy tpu: grpc://host:port, a Cloud TPU name or 'local' "
        "(overrides training.tpu)",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        metavar="SECONDS",
        default=None,
        help="multi_worker: how long a worker waits for the other tasks of TF_CONFIG before "
        "it stops with an error naming them (default: 300)",
    )
    p.add_argument(
        "--no-checkpoint",
        action="store_true",
        help="neither write checkpoints nor resume from them (checkpoint.enabled: false)",
    )
    p.set_defaults(func=run)


def overrides_from_args(args):
    return {
        "dataset.name": args.dataset,
        "training.epochs": args.epochs,
        "training.batch_size": args.batch_size,
        "training.steps_per_epoch": args.steps_per_epoch,
        "training.dtype_policy": getattr(args, "dtype_policy", None),
        "training.strategy": getattr(args, "strategy", None),
        "training.tpu": getattr(args, "tpu", None),
        "logging.logdir": args.logdir,
        "export.base_dir": args.export_dir,
        "checkpoint.every_n_steps": getattr(args, "checkpoint_every", None),
        "checkpoint.enabled": False if getattr(args, "no_checkpoint", False) else None,
    }


def prepare_directories(config):
    """Check that the run and export directories can be written (before any
    training), and remove what writes killed mid-way left in them."""
    from keras_gan.io import check_writable, remove_stale_temporaries

    logdir = config.logging.logdir
    check_writable(logdir)
    if config.export.base_dir:
        check_writable(config.export.base_dir)
    directories = [logdir]
    if os.path.isdir(logdir):  # and samples/, eval/ ... (checkpoints/ is TensorFlow's)
        directories += [
            e.path for e in os.scandir(logdir) if e.is_dir() and e.name != "checkpoints"
        ]
    if config.export.base_dir:
        base = config.export.base_dir.rstrip("/\\")
        directories += [base, base + "_best"]
    for directory in directories:
        remove_stale_temporaries(directory)


def run(args):
    from keras_gan.cli import CommandFailure
    from keras_gan.config import load_config

    config = load_config(args.config, overrides=overrides_from_args(args))
    from keras_gan import distribute

    distribute.check_environment(config.training.strategy, config.training.tpu)
    prepare_directories(config)
    import tensorflow as tf  # heavy: imported after the config is valid

    # Before any TensorFlow operation: a multi-worker strategy sets up the collectives.
    timeout = getattr(args, "connect_timeout", None) or distribute.DEFAULT_CONNECT_TIMEOUT
    strategy = distribute.build_strategy(
        config.training.strategy, tpu=config.training.tpu, connect_timeout=timeout
    )

    logging.getLogger("absl").setLevel(logging.WARNING)  # TF checkpointing chatter
    logging.getLogger("tensorflow").setLevel(logging.WARNING)  # "Assets written to ..."

    import warnings

    from keras_gan.callbacks import ModeCollapseWarning, TrainingDiverged

    # The monitor logs its own one-line warning; Python's would repeat it with a path.
    warnings.filterwarnings("ignore", category=ModeCollapseWarning)
    from keras_gan.training import train

    try:
        result = train(config, fresh=args.fresh, strategy=strategy)
    except TrainingDiverged as e:
        print(f"keras-gan train: error: {e}", file=sys.stderr)
        return 1
    except (tf.errors.UnavailableError, tf.errors.CancelledError) as e:
        if not distribute.is_multi_worker(strategy):
            raise
        raise CommandFailure(
            f"a worker of TF_CONFIG stopped or cannot be reached ({type(e).__name__}); start "
            "every worker again with the same command: the job resumes from the chief's last "
            "checkpoint"
        ) from None
    except (MemoryError, tf.errors.ResourceExhaustedError) as e:
        from keras_gan.io import errno_of_message

        if errno_of_message(str(e)) is not None:
            raise  # a full disk, not memory: reported as an OS error naming the path
        raise CommandFailure(
            "out of memory building or training the model; reduce the networks' widths, "
            "latent_dim or batch_size."
        ) from None
    if distribute.is_multi_worker(strategy):
        kind, index = distribute.task_id(strategy)
        print(
            f"Worker {kind} {index} done at step {result.final_step}; weights fingerprint "
            f"{distribute.weights_fingerprint(result.model)}"
            + ("" if result.chief else "; the chief wrote the files below, this worker's "
               "temporary directories were removed")
        )  # fmt: skip
    if result.data:
        from keras_gan.training import describe_data

        print(f"Trained on {describe_data(result.data)}")
    print(f"TensorBoard logs: {result.logdir}  (view: tensorboard --logdir {result.logdir})")
    print(f"Model: {result.model_path}")
    if result.export_path:
        print(f"Exported generator: {result.export_path}")
    if result.evaluations:
        last = result.evaluations[-1]
        scores = ", ".join(f"{key} {last[key]:.4g}" for key in _score_keys(last))
        print(
            f"Final scores ({last['num_fake']} samples vs {last['num_real']} "
            f"{last['reference'].get('split')} examples): {scores}"
        )
    if result.best_model_path:
        print(f"Best model: {result.best_model_path}")
    if result.best_export_path:
        print(f"Exported best generator: {result.best_export_path}")
    return 0


def _score_keys(record):
    from keras_gan.metrics.evaluation import METRICS

    return [k for spec in METRICS.values() for k in spec.keys if k in record]
