"""Interleaved A/B of the paper's MNIST GAN training step against its older layers.

On a shared 2-core VM the machine's speed drifts by 10-20% from minute to minute,
more than the few per cent a change to one layer is worth, so separate runs
(`train_throughput.py`) cannot tell such changes apart. This script builds
every variant in one process and alternates short ``fit`` calls between them
(order reversed every round), then reports each variant's time per step and its
ratio to the defaults *within the same round* (median and interquartile range):
drift then hits both sides of each ratio alike.

Variants (all built as ``keras-gan train`` builds ``--config``, by default
``mnist_mlp``, the paper's set-up):

* ``defaults``: the package as it is.
* ``keras_dropout``: ``keras.layers.Dropout`` (one float per unit) in place of
  :class:`keras_gan.layers.PackedDropout`.
* ``reduce_max``: Maxout's max through ``keras.ops.max`` (whose gradient
  splits among ties in five ops) in place of Theano's gradient.
* ``before``: both, i.e. the layers before these changes.
* ``max_pool``: Maxout's max as a max pool of width ``pieces`` (tried; slower).
* ``no_dropout``, ``no_max``, ``no_both``: what the layers' element-wise work
  costs at most: dropout as the identity, and/or each maxout unit as its first
  piece (the same matrix products, no max); not GANs anyone should train.
* ``bf16``: the defaults under ``training.dtype_policy: mixed_bfloat16`` (any
  ``--config``; the layer variants need the maxout discriminator).

Example::

    python benchmarks/step_ab.py --rounds 30 --steps 50   # ~6 min on 2 cores
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time

from _cli import positive_int  # benchmarks/, this script's directory

VARIANTS = (
    "defaults",
    "keras_dropout",
    "reduce_max",
    "before",
    "max_pool",
    "no_dropout",
    "no_max",
    "no_both",
    "bf16",
)


def _maxout_variant(kind):
    from keras import ops

    from keras_gan.layers import Maxout

    class ReduceMaxMaxout(Maxout):
        def call(self, inputs):
            z = ops.matmul(inputs, self.kernel) + self.bias
            return ops.max(ops.reshape(z, (-1, self.pieces, self.units)), axis=1)

    class PoolMaxout(Maxout):
        def call(self, inputs):
            z = ops.matmul(inputs, self.kernel) + self.bias
            z = ops.reshape(z, (-1, self.pieces, self.units))
            y = ops.max_pool(z, pool_size=self.pieces, strides=self.pieces, padding="valid")
            return ops.reshape(y, (-1, self.units))

    class FirstPieceMaxout(Maxout):
        def call(self, inputs):
            z = ops.matmul(inputs, self.kernel) + self.bias
            return z[:, : self.units]

    return {"reduce_max": ReduceMaxMaxout, "max_pool": PoolMaxout, "no_max": FirstPieceMaxout}[kind]


def _identity_dropout(rate, seed=None, **kwargs):
    import keras

    return keras.layers.Identity(**kwargs)


@contextlib.contextmanager
def layers_of(variant):
    """While building: the networks' layers of ``variant``."""
    import keras

    from keras_gan.networks import mlp

    saved = mlp.Maxout, mlp.PackedDropout
    try:
        if variant in ("keras_dropout", "before"):
            mlp.PackedDropout = keras.layers.Dropout
        if variant in ("reduce_max", "before"):
            mlp.Maxout = _maxout_variant("reduce_max")
        if variant == "max_pool":
            mlp.Maxout = _maxout_variant("max_pool")
        if variant in ("no_dropout", "no_both"):
            mlp.PackedDropout = _identity_dropout
        if variant in ("no_max", "no_both"):
            mlp.Maxout = _maxout_variant("no_max")
        yield
    finally:
        mlp.Maxout, mlp.PackedDropout = saved


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="mnist_mlp", help="a config with the maxout discriminator")
    p.add_argument("--variants", default="defaults,keras_dropout,reduce_max,before")
    p.add_argument("--rounds", type=positive_int, default=30, help="at least 2 (quartiles)")
    p.add_argument("--steps", type=positive_int, default=50, help="fit steps per variant and round")
    p.add_argument("--out", help="write the timings as JSON here")
    args = p.parse_args(argv)
    names = args.variants.split(",")
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown or names[0] != "defaults":
        p.error(f"variants start with 'defaults' and come from {list(VARIANTS)}; got {names}")
    if args.rounds < 2:
        p.error(f"--rounds must be >= 2 (the ratios' quartiles need two); got {args.rounds}")

    from keras_gan import training
    from keras_gan.config import load_config

    overrides = {"dataset.source": "idx"}
    cfg = load_config(args.config, overrides=overrides)
    bf16 = load_config(args.config, {**overrides, "training.dtype_policy": "mixed_bfloat16"})
    runs = {}
    for name in names:
        with layers_of(name):
            model = training.build_model(bf16 if name == "bf16" else cfg)
        dataset = training.build_dataset(cfg)
        model.fit(dataset, epochs=1, steps_per_epoch=args.steps, verbose=0)  # trace, warm up
        runs[name] = model, dataset
    ms = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            model, dataset = runs[name]
            start = time.perf_counter()
            model.fit(dataset, epochs=1, steps_per_epoch=args.steps, verbose=0)
            ms[name].append((time.perf_counter() - start) / args.steps * 1e3)
    load = os.getloadavg()[0]
    print(f"{args.config}: {args.rounds} rounds of {args.steps} steps, load {load:.2f}")
    print("| variant | ms/step (median) | min | vs defaults, same round (median, IQR) |")
    print("| --- | ---: | ---: | --- |")
    for name in names:
        ratios = [a / b for a, b in zip(ms[name], ms["defaults"])]
        q1, med, q3 = statistics.quantiles(ratios, n=4)
        print(
            f"| {name} | {statistics.median(ms[name]):.2f} | {min(ms[name]):.2f} "
            f"| {med:.3f} ({q1:.3f}-{q3:.3f}) |"
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "ms_per_step": ms}, f, indent=1)


if __name__ == "__main__":
    main()
