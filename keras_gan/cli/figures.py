"""``keras-gan figures``: the paper's Figures 2 (nearest neighbours) and 3 (interpolation)."""

from __future__ import annotations


def register(subparsers):
    from keras_gan.cli.evaluate import add_common_arguments

    p = subparsers.add_parser(
        "figures",
        help="the paper's sample figures: nearest training neighbours and z interpolation",
        description="Write samples_nearest.png (random samples; the rightmost column shows the "
        "nearest training example of the sample next to it) and interpolation.png (rows of "
        "samples along straight lines in z space) to --out, and to TensorBoard with --logdir.",
    )
    p.add_argument(
        "--model", required=True, help="a .keras file, or an exported SavedModel directory"
    )
    p.add_argument("--out", required=True, help="directory for the PNG files")
    p.add_argument("--logdir", help="also write the figures to TensorBoard here")
    p.add_argument("--dataset", default="mnist", help="training data set (default: mnist)")
    p.add_argument(
        "--train-split",
        default="train",
        help="split searched for nearest neighbours (default: train, all 60,000 digits)",
    )
    p.add_argument("--rows", type=int, default=6, help="rows of samples (default 6)")
    p.add_argument("--cols", type=int, default=6, help="samples per row (default 6)")
    p.add_argument("--interpolation-rows", type=int, default=5, help="interpolations (default 5)")
    p.add_argument("--steps", type=int, default=10, help="images per interpolation (default 10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and end points")
    add_common_arguments(p)
    p.set_defaults(func=run)


def run(args):
    from keras_gan.cli.evaluate import value_range_for
    from keras_gan.data import load_arrays
    from keras_gan.figures import write_figures
    from keras_gan.loading import load_generator

    for name in ("rows", "cols", "interpolation_rows"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1; got {getattr(args, name)}.")
    if args.steps < 2:
        raise ValueError(f"--steps must be >= 2; got {args.steps}.")
    generator = load_generator(args.model, noise=args.noise)
    value_range = value_range_for(args, generator)
    train, _ = load_arrays(
        args.dataset, args.train_split, value_range=value_range, source=args.source
    )
    paths = write_figures(
        generator,
        train,
        args.out,
        logdir=args.logdir,
        rows=args.rows,
        cols=args.cols,
        interpolation_rows=args.interpolation_rows,
        steps=args.steps,
        seed=args.seed,
        value_range=value_range,
    )
    for name in ("samples_nearest", "interpolation"):
        if name in paths:
            print(f"{name}: {paths[name]}")
    for name, why in paths["skipped"].items():
        print(f"{name}: skipped ({why})")
    if args.logdir:
        print(f"TensorBoard images: {args.logdir}  (view: tensorboard --logdir {args.logdir})")
    return 0
