"""What each tool of the GAN toolbox buys on Fashion-MNIST, at the same budget.

Every row trains for the same number of generator updates (``--updates``) with
minibatches of 64 and Adam(2e-4, beta_1 = 0.5) unless the row is about its
recipe, on the same networks unless the row is about the network, then scores
``--num-samples`` samples (10,000) with the shipped Fashion-MNIST classifier's
features against the 10,000 test images: FID and KID (classifier features, so
comparable between rows of this script, not with Inception FIDs). Rows:

1. ``dcgan``: the DCGAN baseline (``dcgan_generator``, ``dcgan_discriminator``
   with batch norm), non-saturating loss;
2. ``dcgan_sn``: the same with spectral norm in D (and no batch norm);
3. ``hinge_sn``: hinge loss + SN D (SNGAN's losses on the DCGAN networks);
4. ``sngan_resnet``: hinge loss, SNGAN's ResNet G and SN ResNet D;
5. ``ns_r1``: non-saturating + R1 (gamma 10, lazy every 4), D without batch norm;
6. ``wgan_gp``: Wasserstein + gradient penalty (10), 5 critic updates per
   generator update, Adam(1e-4, 0.5, 0.9), D without batch norm;
7. ``least_squares``; 8. ``relativistic`` (RaSGAN), both on the baseline networks;
9. ``small_data`` / ``small_data_diffaugment``: 2,000 training images, without and
   with DiffAugment (translation, cutout, color) on SN D with the hinge loss;
10. ``cgan_concat`` / ``cgan_projection``: conditional MNIST, the concatenation D
    (``conditional_dcgan_discriminator``) against the projection D, scored also by
    the fraction of samples the MNIST classifier assigns to the requested class.

Two data rows are scored the same way: ``real_train`` (10,000 training images in
place of samples) and ``untrained`` (the baseline G at its initial weights).
Each row also reports the seconds per generator update (training only).

Cost per generator update (``keras_gan.flops.training_step_flops``, minibatch
64): the DCGAN rows 16 GFLOP, ``wgan_gp`` 53 GFLOP (5 critic updates) plus the
penalty's second derivative, ``sngan_resnet`` at 64 channels 92 GFLOP. The
default budget of 4,000 updates takes ~10 minutes per DCGAN row on 2 shared CPU
cores (measured 0.145 s per update for ``dcgan``, 0.100 for ``hinge_sn``;
BENCHMARKS.md); the WGAN-GP and ResNet rows take several times longer at the
same budget.

Usage::

    python benchmarks/toolbox.py --rows dcgan hinge_sn --seeds 0 --out toolbox.json
    python benchmarks/toolbox.py --tiny          # every row in a minute: checks the script
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

DATA_ROWS = ("real_train", "untrained")
ROWS = (
    "dcgan", "dcgan_sn", "hinge_sn", "sngan_resnet", "ns_r1", "wgan_gp",
    "least_squares", "relativistic", "small_data", "small_data_diffaugment",
    "cgan_concat", "cgan_projection",
)  # fmt: skip
BATCH = 64
LATENT = 100
VALUE_RANGE = (-1.0, 1.0)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", nargs="*", default=list(DATA_ROWS + ROWS),
                   choices=DATA_ROWS + ROWS)  # fmt: skip
    p.add_argument("--updates", type=int, default=4000, help="generator updates per row")
    p.add_argument("--num-samples", type=int, default=10_000)
    p.add_argument("--seeds", type=int, nargs="*", default=[0])
    p.add_argument("--filters", type=int, default=64, help="DCGAN base_filters")
    p.add_argument("--channels", type=int, default=64, help="SNGAN ResNet channels")
    p.add_argument("--tiny", action="store_true",
                   help="20 updates, 500 samples, small networks: check the script")  # fmt: skip
    p.add_argument("--out", help="also write the records as JSON to this file")
    args = p.parse_args(argv)
    if args.tiny:
        args.updates, args.num_samples, args.filters, args.channels = 20, 500, 8, 8
    return args


def build_row(name, args, seed):
    """``(model, dataset, split, d_steps)`` of a training row, compiled."""
    import keras

    from keras_gan import models, networks
    from keras_gan import regularizers as R
    from keras_gan.augment import DiffAugment

    keras.utils.set_random_seed(seed)
    shape = (28, 28, 1)
    f = args.filters

    def dcgan_g():
        return networks.dcgan_generator(LATENT, shape, base_filters=f)

    def dcgan_d(normalization="batch", sn=False):
        return networks.dcgan_discriminator(shape, f, normalization=normalization, spectral_norm=sn)

    def adam(lr=2e-4, b1=0.5, b2=0.999):
        return keras.optimizers.Adam(lr, beta_1=b1, beta_2=b2)

    d_steps, split, dataset, opts = 1, "train", "fashion_mnist", {}
    kwargs = dict(latent_dim=LATENT, seed=seed)
    if name in ("dcgan", "untrained"):
        model = models.GAN(dcgan_g(), dcgan_d(), **kwargs)
    elif name == "dcgan_sn":
        model = models.GAN(dcgan_g(), dcgan_d("none", sn=True), **kwargs)
    elif name == "hinge_sn":
        model = models.GAN(dcgan_g(), dcgan_d("none", sn=True), loss="hinge", **kwargs)
    elif name == "sngan_resnet":
        c = args.channels
        g = networks.sngan_generator(LATENT, shape, channels=c)
        d = networks.sngan_discriminator(shape, channels=c)
        model = models.GAN(g, d, loss="hinge", **kwargs)
    elif name == "ns_r1":
        model = models.GAN(dcgan_g(), dcgan_d("none"), regularizers=[R.R1(10.0, every=4)],
                           **kwargs)  # fmt: skip
    elif name == "wgan_gp":
        model = models.GAN(dcgan_g(), dcgan_d("none"), loss="wasserstein",
                           regularizers=[R.GradientPenalty(10.0)], **kwargs)  # fmt: skip
        d_steps, opts = 5, dict(d_optimizer=adam(1e-4, 0.5, 0.9), g_optimizer=adam(1e-4, 0.5, 0.9))
    elif name == "least_squares":
        model = models.GAN(dcgan_g(), dcgan_d(), loss="least_squares", **kwargs)
    elif name == "relativistic":
        model = models.GAN(dcgan_g(), dcgan_d(), loss="relativistic_average", **kwargs)
    elif name in ("small_data", "small_data_diffaugment"):
        augment = DiffAugment(["translation", "cutout", "color"]) if "diff" in name else None
        model = models.GAN(dcgan_g(), dcgan_d("none", sn=True), loss="hinge", augment=augment,
                           **kwargs)  # fmt: skip
        split = "train[:2000]"
    elif name in ("cgan_concat", "cgan_projection"):
        dataset = "mnist"
        g = networks.conditional_dcgan_generator(LATENT, 10, shape, base_filters=f)
        if name == "cgan_concat":
            d = networks.conditional_dcgan_discriminator(shape, 10, base_filters=f)
        else:
            d = networks.projection_discriminator(shape, 10, channels=args.channels)
        model = models.ConditionalGAN(g, d, num_classes=10, loss="hinge", **kwargs)
    else:
        raise ValueError(name)
    model.compile(d_optimizer=opts.get("d_optimizer", adam()),
                  g_optimizer=opts.get("g_optimizer", adam()), d_steps=d_steps)  # fmt: skip
    return model, dataset, split, d_steps


def class_accuracy(model, num_samples, seed):
    """Fraction of conditional samples the shipped MNIST classifier assigns to the
    requested class (labels cycle through 0..9)."""
    import numpy as np

    from keras_gan.metrics.features import mnist_classifier

    labels = np.arange(num_samples) % 10
    images = model.sample(num_samples, labels=labels, seed=seed)
    images = (images - VALUE_RANGE[0]) / (VALUE_RANGE[1] - VALUE_RANGE[0])
    return float((mnist_classifier().logits(images).argmax(1) == labels).mean())


def main(argv=None):
    args = parse_args(argv)
    from keras_gan.data import load_arrays, load_dataset
    from keras_gan.metrics.evaluation import Evaluator

    evaluators = {}

    def evaluator(dataset):
        if dataset not in evaluators:
            test, _ = load_arrays(dataset, "test", value_range=VALUE_RANGE)
            evaluators[dataset] = Evaluator(
                "fid,kid", test, extractor=dataset, num_samples=args.num_samples,
                seed=0, value_range=VALUE_RANGE, reference={"dataset": dataset, "split": "test"},
            )  # fmt: skip
        return evaluators[dataset]

    records = []
    print(f"{'row':24s}{'seed':>5s}{'fid':>10s}{'kid':>10s}{'s/update':>10s}{'class acc':>10s}")
    for name in args.rows:
        for seed in args.seeds if name not in DATA_ROWS else args.seeds[:1]:
            record = dict(row=name, seed=seed, updates=0, seconds_per_update=None)
            if name == "real_train":
                dataset = "fashion_mnist"
                split = f"train[:{args.num_samples}]"
                sampler = load_arrays(dataset, split, value_range=VALUE_RANGE)[0]
            else:
                model, dataset, split, d_steps = build_row(name, args, seed)
                conditional = name.startswith("cgan")
                if name != "untrained":
                    ds = load_dataset(dataset, split=split, batch_size=BATCH * d_steps,
                                      value_range=VALUE_RANGE, with_labels=conditional,
                                      seed=seed)  # fmt: skip
                    start = time.perf_counter()
                    model.fit(ds.repeat(), epochs=1, steps_per_epoch=args.updates, verbose=0)
                    seconds = time.perf_counter() - start
                    record.update(updates=args.updates, seconds_per_update=seconds / args.updates)
                if conditional:  # sample(n) cycles the labels 0..9
                    record["class_accuracy"] = class_accuracy(model, args.num_samples, seed)
                sampler = model
            values = evaluator(dataset)(sampler).values
            record.update(fid=float(values["fid"]), kid=float(values["kid"]), dataset=dataset)
            records.append(record)
            spu = record["seconds_per_update"]
            acc = record.get("class_accuracy")
            print(f"{name:24s}{seed:5d}{record['fid']:10.3f}{record['kid']:10.4f}"
                  f"{'' if spu is None else f'{spu:10.3f}':>10s}"
                  f"{'' if acc is None else f'{acc:10.3f}':>10s}", flush=True)  # fmt: skip
    meta = run_metadata(argv, updates=args.updates, num_samples=args.num_samples)
    print(json.dumps(meta))
    if args.out:
        write_records(args.out, meta, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
