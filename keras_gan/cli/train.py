"""``keras-gan train``: train from a YAML config, log to TensorBoard, save and export."""

from __future__ import annotations


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
    p.set_defaults(func=run)


def overrides_from_args(args):
    return {
        "dataset.name": args.dataset,
        "training.epochs": args.epochs,
        "training.batch_size": args.batch_size,
        "training.steps_per_epoch": args.steps_per_epoch,
        "logging.logdir": args.logdir,
        "export.base_dir": args.export_dir,
    }


def run(args):
    from keras_gan.config import load_config

    config = load_config(args.config, overrides=overrides_from_args(args))
    from keras_gan.training import train  # heavy: TensorFlow

    result = train(config)
    print(f"TensorBoard logs: {result.logdir}  (view: tensorboard --logdir {result.logdir})")
    print(f"Model: {result.model_path}")
    if result.export_path:
        print(f"Exported generator: {result.export_path}")
    return 0
