"""The toy-distribution suite: GANs, WGAN and WGAN-GP on the WGAN-GP paper's toy sets.

Trains four models -- GAN with the minimax loss, GAN with the non-saturating
loss, WGAN with weight clipping, WGAN-GP -- on ``gaussians_8``, ``gaussians_25``
and ``swiss_roll`` with the same networks and the same budget. The networks
and game settings are those of Gulrajani et al. (2017, Figures 1-2 and
``gan_toy.py``): generator and critic/discriminator MLPs with three hidden
layers of 512 ReLU units, 2-D Gaussian noise, minibatches of 256, 5
discriminator/critic updates per generator update for every model, WGAN-GP
lambda 0.1 (``--gp-weight``; the toy code's "smaller lambda seems to help for
toy tasks"; its image experiments use 10), WGAN clipping at 0.01.

The budget is smaller than the paper's 100,000 generator updates at a
constant learning rate 1e-4: by default 10,000 updates with Adam(5e-4,
beta_1 = 0.5, beta_2 = 0.9) for the GANs and WGAN-GP and RMSprop(5e-5) for
WGAN (its paper's setting), every learning rate decayed to 5% over the run
(cosine; ``--lr-schedule constant`` keeps it fixed). The decay is what lets
samples settle inside the modes' 3-standard-deviation discs within a CPU
budget.

For every (data set, model) it reports, on 2,000 samples: modes covered and
the fraction of high-quality samples (within 3 standard deviations of a mode;
a mode is covered when it has >= 1% of the samples as high-quality samples),
the energy distance and the MMD (Gaussian kernels of widths 0.05, 0.2 and 1,
summed) to 2,000 held-out data points, plus a ``data`` reference row (two
independent draws of the data: the distances' noise floor). It plots each
critic/discriminator's value surface (its raw output: a logit for the GANs, a
score for the WGANs; dark = low, yellow = high) with data points (orange) and
samples (white) on top: one PNG per run, a montage ``toy_suite.png`` (rows:
data sets; columns: models) and TensorBoard images and scalars every
``--eval-every`` steps. Results go to ``results.json`` and ``results.md``.

Full size::

    python benchmarks/toy_suite.py --out runs/toy_suite

Quick validation (minutes)::

    python benchmarks/toy_suite.py --steps 300 --width 64 --batch-size 64 --out /tmp/toy
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _cli import positive_int  # noqa: E402  (benchmarks/, this script's directory)

from keras_gan import data, models, networks  # noqa: E402
from keras_gan.images import heatmap, make_grid, save_png, scatter_image  # noqa: E402
from keras_gan.metrics import energy_distance, mmd, mode_coverage  # noqa: E402

DATASETS = ("gaussians_8", "gaussians_25", "swiss_roll")
MODELS = ("gan_minimax", "gan_non_saturating", "wgan", "wgan_gp")
MMD_BANDWIDTHS = (0.05, 0.2, 1.0)
EXTENT = (-2.2, 2.2)
REAL_COLOR = (255, 127, 14)
FAKE_COLOR = (255, 255, 255)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--steps", type=positive_int, default=10000, help="generator updates per run")
    p.add_argument(
        "--d-steps", type=positive_int, default=5, help="critic updates per generator update"
    )
    p.add_argument("--batch-size", type=positive_int, default=256, help="minibatch of every update")
    p.add_argument("--width", type=positive_int, default=512, help="units per hidden layer")
    p.add_argument("--depth", type=positive_int, default=3, help="hidden layers per network")
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate (GANs, WGAN-GP)")
    p.add_argument("--wgan-lr", type=float, default=5e-5, help="RMSprop learning rate (WGAN)")
    p.add_argument("--lr-schedule", choices=("constant", "cosine"), default="cosine")
    p.add_argument("--gp-weight", type=float, default=0.1, help="WGAN-GP's lambda")
    p.add_argument("--clip-value", type=float, default=0.01, help="WGAN's clipping range")
    p.add_argument("--num-samples", type=positive_int, default=2000, help="samples per evaluation")
    p.add_argument("--eval-every", type=int, default=0, help="steps between TensorBoard evals")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jit-compile", action="store_true", help="compile the steps with XLA")
    p.add_argument("--out", default="runs/toy_suite", help="output directory")
    args = p.parse_args(argv)
    if args.eval_every <= 0:
        args.eval_every = max(args.steps // 10, 1)
    return args


def schedule(args, lr, updates):
    if args.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(lr, updates, alpha=0.05)
    return lr


def build(name, args):
    """A compiled model ``name`` with the suite's networks and optimizers."""
    hidden = (args.width,) * args.depth
    generator = networks.mlp_generator(args.latent_dim, hidden, (2,), output_activation="linear")
    critic = networks.mlp_discriminator((2,), hidden, activation="relu")
    d_updates, g_updates = args.steps * args.d_steps, args.steps

    def adam(updates):
        return keras.optimizers.Adam(schedule(args, args.lr, updates), beta_1=0.5, beta_2=0.9)

    options = dict(d_steps=args.d_steps, jit_compile=args.jit_compile)
    if name.startswith("gan_"):
        model = models.GAN(generator, critic, args.latent_dim, seed=args.seed)
        loss = "minimax" if name == "gan_minimax" else "non_saturating"
        model.compile(adam(d_updates), adam(g_updates), generator_loss=loss, **options)
    elif name == "wgan":
        model = models.WGAN(
            generator, critic, args.latent_dim, clip_value=args.clip_value, seed=args.seed
        )
        model.compile(
            keras.optimizers.RMSprop(schedule(args, args.wgan_lr, d_updates)),
            keras.optimizers.RMSprop(schedule(args, args.wgan_lr, g_updates)),
            **options,
        )
    else:
        model = models.WGANGP(
            generator,
            critic,
            args.latent_dim,
            gradient_penalty_weight=args.gp_weight,
            seed=args.seed,
        )
        model.compile(adam(d_updates), adam(g_updates), **options)
    return model


def surface(model, size=256, extent=EXTENT):
    """The critic's raw output on a ``size x size`` grid (row 0 = top = high y)."""
    xs = np.linspace(extent[0], extent[1], size, dtype=np.float32)
    gx, gy = np.meshgrid(xs, xs[::-1])
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    values = np.concatenate(
        [
            np.asarray(model.discriminator(points[i : i + 16384], training=False))
            for i in range(0, len(points), 16384)
        ]
    )
    return values.reshape(size, size)


def picture(model, real, fake, size=256):
    image = heatmap(surface(model, size))
    image = scatter_image(real, size, EXTENT, background=image, color=REAL_COLOR)
    return scatter_image(fake, size, EXTENT, background=image, color=FAKE_COLOR)


def evaluate(samples, real, dist):
    row = {
        "energy_distance": energy_distance(samples, real),
        "mmd": mmd(samples, real, bandwidth=MMD_BANDWIDTHS),
    }
    if dist.centers is not None:
        cov = mode_coverage(samples, dist.centers, dist.std)
        row.update(
            modes_covered=cov.covered,
            num_modes=cov.num_modes,
            high_quality_fraction=cov.high_quality_fraction,
        )
    return row


def run_one(dataset, name, args, writer):
    keras.utils.set_random_seed(args.seed)
    dist = data.toy_distribution(dataset)
    real, _ = data.load_arrays(dataset, split="test", num_examples=args.num_samples, seed=args.seed)
    train = data.load_dataset(
        dataset,
        batch_size=args.batch_size * args.d_steps,
        num_examples=100_000,
        seed=args.seed,
    ).repeat()
    model = build(name, args)
    tag = f"{dataset}/{name}"
    done, train_seconds = 0, 0.0
    while done < args.steps:
        chunk = min(args.eval_every, args.steps - done)
        start = time.perf_counter()
        logs = model.fit(train, epochs=1, steps_per_epoch=chunk, verbose=0).history
        train_seconds += time.perf_counter() - start
        done += chunk
        samples = model.sample(args.num_samples, seed=args.seed)
        row = evaluate(samples, real, dist)
        with writer.as_default(step=done):
            for key, value in {**row, **{k: v[-1] for k, v in logs.items()}}.items():
                tf.summary.scalar(f"{tag}/{key}", value)
            tf.summary.image(f"{tag}/surface", picture(model, real, samples, 192)[None])
        print(f"  {tag} step {done}: {format_row(row)}", flush=True)
    image = picture(model, real, samples)
    save_png(image, os.path.join(args.out, f"{dataset}_{name}.png"))
    row.update(dataset=dataset, model=name, steps=args.steps, train_seconds=train_seconds)
    row["ms_per_step"] = 1000.0 * train_seconds / args.steps
    return row, image


def reference_row(dataset, args):
    """Distances between two independent draws of the data: the noise floor."""
    dist = data.toy_distribution(dataset)
    real, _ = data.load_arrays(dataset, split="test", num_examples=args.num_samples, seed=args.seed)
    other, _ = dist.sample(args.num_samples, seed=args.seed + 1000)
    row = evaluate(other, real, dist)
    row.update(dataset=dataset, model="data", steps=0, train_seconds=0.0, ms_per_step=0.0)
    return row


def format_row(row):
    parts = []
    if "modes_covered" in row:
        parts.append(f"{row['modes_covered']}/{row['num_modes']} modes")
        parts.append(f"{100 * row['high_quality_fraction']:.1f}% high quality")
    parts.append(f"energy {row['energy_distance']:.4f}")
    parts.append(f"MMD {row['mmd']:.5f}")
    return ", ".join(parts)


def markdown(rows, args):
    lines = [
        f"Settings: {args.steps} generator updates, {args.d_steps} critic updates each, "
        f"minibatch {args.batch_size}, MLPs {args.depth} x {args.width} ReLU, "
        f"lr schedule {args.lr_schedule}, WGAN-GP lambda {args.gp_weight}, "
        f"WGAN clip {args.clip_value}, seed {args.seed}.",
        "",
        "| data set | model | modes covered | high-quality | energy distance | MMD "
        "| train time (s) | ms / step |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        modes = f"{r['modes_covered']}/{r['num_modes']}" if "modes_covered" in r else "n/a"
        quality = (
            f"{100 * r['high_quality_fraction']:.1f}%" if "high_quality_fraction" in r else "n/a"
        )
        lines.append(
            f"| {r['dataset']} | {r['model']} | {modes} | {quality} | "
            f"{r['energy_distance']:.4f} | {r['mmd']:.5f} | {r['train_seconds']:.0f} | "
            f"{r['ms_per_step']:.1f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    writer = tf.summary.create_file_writer(os.path.join(args.out, "tensorboard"))
    rows, images = [], []
    start = time.perf_counter()
    for dataset in args.datasets:
        rows.append(reference_row(dataset, args))
        for name in args.models:
            print(f"{dataset} / {name}", flush=True)
            row, image = run_one(dataset, name, args, writer)
            rows.append(row)
            images.append(image)
    writer.close()
    save_png(
        make_grid(np.stack(images), ncols=len(args.models)), os.path.join(args.out, "toy_suite.png")
    )
    table = markdown(rows, args)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"args": vars(args), "rows": rows}, f, indent=2)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(table + "\n")
    print(table)
    print(f"\nTotal time: {time.perf_counter() - start:.0f} s. Outputs in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
