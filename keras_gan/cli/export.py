"""``keras-gan export``: write a saved model's generator as a versioned SavedModel."""

from __future__ import annotations


def register(subparsers):
    p = subparsers.add_parser(
        "export",
        help="export a trained model's generator as a SavedModel for TF Serving",
        description="Write the generator of a saved model (.keras) as the next version "
        "(or --version) of BASE_DIR, the layout TensorFlow Serving and keras-gan serve poll. "
        "The write is atomic; NaN/Inf weights are refused.",
    )
    p.add_argument(
        "--model", required=True, help="the saved model, e.g. runs/mnist_mlp/model.keras"
    )
    p.add_argument(
        "--base-dir", required=True, help="the model's base path, e.g. saved_models/mnist_gan"
    )
    p.add_argument("--version", type=int, help="version number (default: the next one)")
    p.add_argument(
        "--config",
        help="the training config (name or YAML path): recorded in the metadata, and its "
        "dataset.value_range used",
    )
    p.add_argument(
        "--value-range",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="range of the generated data (default: the config's, else from the output activation)",
    )
    p.add_argument(
        "--max-num-samples",
        type=int,
        default=1024,
        help="largest num_samples the sample signature accepts (default 1024)",
    )
    p.set_defaults(func=run)


def run(args):
    import os

    from keras_gan.cli import CommandError

    if not os.path.isfile(args.model):
        raise CommandError(f"no model file {args.model!r} (expected a .keras file from training)")
    training_config = None
    value_range = args.value_range
    if args.config:
        from keras_gan.config import load_config

        config = load_config(args.config)
        training_config = config.model_dump(mode="json")
        if value_range is None:
            value_range = config.dataset.value_range

    from keras_gan.export import export_generator
    from keras_gan.loading import load_keras_model

    model = load_keras_model(args.model)
    try:
        path = export_generator(
            model,
            args.base_dir,
            version=args.version,
            value_range=value_range,
            training_config=training_config,
            max_num_samples=args.max_num_samples,
        )
    except TypeError as e:
        raise CommandError(str(e)) from None
    print(f"Exported generator: {path}")
    return 0
