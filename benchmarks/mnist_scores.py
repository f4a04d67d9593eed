"""The package's MNIST generators in the field's terms, next to real data and an untrained one.

Scores each ``--models`` file (a ``.keras`` file or an exported SavedModel) with the
shipped MNIST classifier's features against the 10,000 test digits: FID, KID,
the classifier score (IS with the classifier's logits, 10 splits),
precision/recall (k=3), density/coverage (k=5) and the class balance (classes
covered, KL of the predicted classes to the test labels). Two reference rows are
scored the same way in the same run:

* ``real train[:10000]``: 10,000 real training digits in place of samples,
  what a perfect generator would score (up to the train/test difference);
* ``untrained``: the ``mnist_mlp_quick`` networks at their initial weights.

These are classifier-feature scores: they compare runs of this package with each
other, not with Inception FIDs of other papers.

Usage (see BENCHMARKS.md)::

    keras-gan train --config mnist_mlp_quick --logdir runs/mnist_mlp_quick
    python benchmarks/mnist_scores.py --models runs/mnist_mlp_quick/model.keras
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _record import run_metadata, write_records  # noqa: E402  (benchmarks/)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

METRICS = "fid,kid,is,pr,dc,classes"
COLUMNS = ("fid", "kid", "is", "precision", "recall", "density", "coverage",
           "classes_covered", "class_kl")  # fmt: skip


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="*", default=[], help=".keras files or SavedModels")
    p.add_argument("--num-samples", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also write the records as JSON to this file")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras

    from keras_gan.config import load_config
    from keras_gan.data import load_arrays
    from keras_gan.loading import load_generator
    from keras_gan.metrics.evaluation import Evaluator
    from keras_gan.training import build_model

    test, labels = load_arrays("mnist", "test")
    evaluate = Evaluator(
        METRICS, test, extractor="mnist", num_samples=args.num_samples, seed=args.seed,
        reference_labels=labels, reference={"dataset": "mnist", "split": "test"},
    )  # fmt: skip
    real, _ = load_arrays("mnist", f"train[:{args.num_samples}]")
    keras.utils.set_random_seed(args.seed)
    untrained = build_model(load_config("mnist_mlp_quick"))
    rows = [("real train[:10000]", real), ("untrained (mnist_mlp_quick)", untrained)]
    rows += [(path, load_generator(path)) for path in args.models]
    records = []
    print(f"{' ':32s}" + "".join(f"{c:>16s}" for c in COLUMNS))
    for name, sampler in rows:
        start = time.perf_counter()
        result = evaluate(sampler)
        seconds = time.perf_counter() - start
        records.append(dict(name=name, seconds=seconds, **result.to_dict()))
        print(f"{name[-32:]:32s}" + "".join(f"{result.values[c]:16.4g}" for c in COLUMNS))
    meta = run_metadata(argv)
    print(json.dumps(meta))
    if args.out:
        write_records(args.out, meta, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
