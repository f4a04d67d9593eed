"""``keras-gan sample``: ask a serving endpoint for samples and write a PNG grid (or, for a
sequence generator, whose metadata has a ``vocabulary``, a text file: one decoded sequence a
line, the padding token removed from its end)."""

from __future__ import annotations


def register(subparsers):
    p = subparsers.add_parser(
        "sample",
        help="query a TF Serving endpoint (REST or gRPC) and save a grid of samples",
        description="Draw samples from a served generator (the real TensorFlow Serving or "
        "keras-gan serve) and write them as a PNG grid, or, for a sequence generator (one "
        "exported with a vocabulary), as text, one sequence a line. --server http://host:8501 "
        "talks REST; grpc://host:8500 or host:8500 talks gRPC.",
    )
    p.add_argument("--server", default="http://localhost:8501", help="endpoint URL")
    p.add_argument(
        "--model",
        help="model name on the server (default: the served model when keras-gan serve "
        "holds exactly one, else 'default', TF Serving's default --model_name)",
    )
    p.add_argument("-n", "--num-samples", type=int, default=64, help="number of samples")
    p.add_argument("--seed", type=int, help="seed (default: a random one, printed)")
    p.add_argument("--version", type=int, help="model version (default: the newest)")
    p.add_argument("--labels", type=int, nargs="+", help="class label(s) for a conditional model")
    p.add_argument(
        "--out",
        help="output file (default samples.png, or samples.txt for a sequence generator)",
    )
    p.add_argument("--ncols", type=int, help="grid columns (default: a square)")
    p.add_argument(
        "--value-range",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="data range to map to pixels (default: from the model metadata, else 0 1)",
    )
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    p.set_defaults(func=run)


def run(args):
    import numpy as np

    from keras_gan.cli import CommandError
    from keras_gan.images import samples_to_image, save_png
    from keras_gan.serving import ServingError, connect

    if args.num_samples < 1:
        raise CommandError(f"-n must be >= 1; got {args.num_samples}.")
    seed = args.seed
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))
    labels = None
    if args.labels:
        labels = args.labels[0] if len(args.labels) == 1 else args.labels
        if len(args.labels) not in (1, args.num_samples):
            raise CommandError(
                f"--labels needs one label or one per sample ({args.num_samples}); "
                f"got {len(args.labels)}."
            )
    client = connect(args.server, model=args.model or "default", timeout=args.timeout)
    try:
        if args.model is None:
            client.model = _served_model(client, args.server)
        metadata = client.metadata(args.version)
        vocabulary = metadata.get("vocabulary")
        if vocabulary:
            ids = client.sample_tokens(
                args.num_samples, seed=seed, version=args.version, labels=labels
            )
        else:
            value_range = args.value_range or metadata.get("value_range") or (0.0, 1.0)
            images = _sample_images(client, metadata, args, seed, labels)
    except ServingError as e:
        hint = ""
        if args.model is None and e.code == "NOT_FOUND":
            hint = " (name the model with --model NAME)"
        raise CommandError(f"{args.server}: {e.code}: {e.message}{hint}") from None
    finally:
        client.close()
    if vocabulary:
        out = args.out or "samples.txt"
        _write_text(ids, vocabulary, out)
        print(f"Wrote {len(ids)} sequences of {ids.shape[1]} tokens (seed {seed}) to {out}")
        return 0
    out = args.out or "samples.png"
    save_png(samples_to_image(images, value_range, ncols=args.ncols), out)
    print(f"Wrote {len(images)} samples of shape {list(images.shape[1:])} (seed {seed}) to {out}")
    return 0


def _served_model(client, server):
    """The model to ask when --model is not given: the only one the server lists
    (keras-gan serve's ``GET /v1/models``), ``default`` when it cannot list them
    (TF Serving) or serves one by that name; several others are an error that
    names them."""
    from keras_gan.cli import CommandError

    names = client.served_models()
    if names is None or "default" in names:
        return "default"
    if len(names) == 1:
        print(f"Sampling {names[0]!r}, the one model on {server}.")
        return names[0]
    listed = ", ".join(names) if names else "none"
    raise CommandError(f"{server} serves {len(names)} models ({listed}); pick one with --model.")


def _sample_images(client, metadata, args, seed, labels):
    """The images to picture: the 8-bit PNGs of ``sample_png`` when the model
    has it (a fraction of the bytes; the picture is 8-bit anyway) and no
    --value_range overrides the exported one, else the float ``sample``."""
    from keras_gan.serving.client import decode_pngs, has_png

    n, version = args.num_samples, args.version
    if has_png(metadata) and not args.value_range:
        pixels = decode_pngs(client.sample_png(n, seed=seed, version=version, labels=labels))
        low, high = metadata.get("value_range") or (0.0, 1.0)
        return low + pixels.astype("float32") / 255.0 * (high - low)
    return client.sample(n, seed=seed, version=version, labels=labels)


def _write_text(ids, vocabulary, path):
    """One line per sequence of token ids, the padding token (id 0) stripped from the end."""
    from keras_gan.cli import CommandError
    from keras_gan.io import atomic_write_text

    if ids.size and (ids.min() < 0 or ids.max() >= len(vocabulary)):
        raise CommandError(
            f"the server returned token ids outside the vocabulary of {len(vocabulary)} tokens."
        )
    pad = vocabulary[0]
    lines = ["".join(vocabulary[i] for i in row).rstrip(pad) for row in ids]
    atomic_write_text(path, "\n".join(lines) + "\n")
