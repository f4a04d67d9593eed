"""Discrete sequences: softmax WGAN-GP and Gumbel-Softmax GANs on a known grammar.

Trains, with the same networks, data and budget, five ways of generating
discrete sequences through a differentiable generator:

* ``wgan_gp_softmax``: WGAN-GP whose critic scores the generator's softmax
  distributions directly (Gulrajani et al. 2017, the character-level model);
* ``wgan_gp_gumbel`` / ``wgan_gp_straight_through``: WGAN-GP with a
  Gumbel-Softmax output layer, soft or straight-through (one-hot forward);
* ``gan_gumbel`` / ``gan_straight_through``: the original GAN (non-saturating
  loss) with the same outputs.

The data are strings of a shipped grammar (:mod:`keras_gan.data.grammar`):
``--grammar arithmetic`` (the default: expressions over single digits with
``+``, ``*`` and parentheses) or ``brackets`` (balanced ``()`` and ``[]``, the
harder one: matching two kinds of brackets over the whole string), padded to
``--length`` tokens. The networks
are the WGAN-GP language model's (:mod:`keras_gan.networks.sequence`): a dense
projection, ``--blocks`` residual blocks of 1-D convolutions with
``--channels`` channels, a 1x1 convolution to the vocabulary. Every model makes
``--steps`` generator updates with ``--d-steps`` critic/discriminator updates
each on minibatches of ``--batch-size``, with Adam(``--lr``, 0.5, 0.9) decayed
to 5% over the run (cosine). Gumbel-Softmax temperatures start at
``--temperature`` and decay exponentially per update to ``--min-temperature``,
reached halfway (:class:`keras_gan.callbacks.TemperatureSchedule`).

For each model, on ``--num-samples`` samples (decoded by argmax, from fixed
seeds): the validity rate (exact: the fraction of sequences the grammar
derives, :func:`keras_gan.metrics.validity_rate`), the Jensen-Shannon
divergences of the 1- to 4-gram distributions to held-out data
(:func:`keras_gan.metrics.ngram_jsd`, base 2, padding included), the fraction
of distinct samples (near 0: the generator has collapsed onto a few strings,
which can be "valid" without modelling the data) and the training time. A
``data`` row gives the reference: a second draw of the data against the
held-out draw (the JSDs' noise floor), and an ``untrained`` row the first
model's generator before training. Results go to
``results.json``/``results.md``, samples to ``samples_<model>.txt``, curves to
TensorBoard (``tensorboard/``).

The defaults (2,000 updates of 64-channel, 3-block networks at learning rate
2e-3) were chosen so that the five models together train in about 20-25
minutes on 2 shared CPU cores; larger networks or more updates did not fit
that budget. Each family uses ``--d-steps`` discriminator updates per
generator update (5 by default, for GAN too: the same number of updates).

Full size (the lead's command; about 20-25 minutes on 2 cores)::

    python benchmarks/discrete.py --out runs/discrete

Quick validation (about half a minute)::

    python benchmarks/discrete.py --steps 20 --channels 16 --blocks 1 --num-samples 500 \\
        --num-examples 2000 --out /tmp/discrete
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from _cli import positive_int  # noqa: E402  (benchmarks/, this script's directory)

from keras_gan import data, models, networks  # noqa: E402
from keras_gan.callbacks import TemperatureSchedule  # noqa: E402
from keras_gan.data.text import decode  # noqa: E402
from keras_gan.metrics import ngram_jsd, validity_rate  # noqa: E402

MODELS = (
    "wgan_gp_softmax",
    "wgan_gp_gumbel",
    "wgan_gp_straight_through",
    "gan_gumbel",
    "gan_straight_through",
)
OUTPUTS = {"softmax": "softmax", "gumbel": "gumbel_softmax", "straight_through": "straight_through"}
ORDERS = (1, 2, 3, 4)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--grammar", default="arithmetic", choices=("brackets", "arithmetic"))
    p.add_argument("--length", type=positive_int, default=16, help="tokens per sequence")
    p.add_argument("--num-examples", type=positive_int, default=50_000, help="training strings")
    p.add_argument("--steps", type=positive_int, default=2000, help="generator updates per model")
    p.add_argument(
        "--d-steps", type=positive_int, default=5, help="critic updates per generator update"
    )
    p.add_argument("--batch-size", type=positive_int, default=64, help="minibatch of every update")
    p.add_argument(
        "--channels", type=positive_int, default=64, help="channels of the residual blocks"
    )
    p.add_argument("--blocks", type=int, default=3, help="residual blocks per network")
    p.add_argument("--latent-dim", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (cosine-decayed)")
    p.add_argument("--gp-weight", type=float, default=10.0, help="WGAN-GP's lambda")
    p.add_argument("--temperature", type=float, default=1.0, help="initial Gumbel temperature")
    p.add_argument("--min-temperature", type=float, default=0.5, help="its floor")
    p.add_argument("--num-samples", type=int, default=5000, help="samples per evaluation")
    p.add_argument("--eval-every", type=int, default=0, help="steps between evaluations")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jit-compile", action="store_true", help="compile the steps with XLA")
    p.add_argument("--out", default="runs/discrete", help="output directory")
    args = p.parse_args(argv)
    if not 0 < args.min_temperature <= args.temperature:
        p.error("need 0 < --min-temperature <= --temperature")
    if args.eval_every <= 0:
        args.eval_every = max(args.steps // 4, 1)
    return args


def build(name, args, vocabulary):
    """The compiled model ``name`` with the benchmark's networks and optimizers."""
    family = "wgan_gp" if name.startswith("wgan_gp_") else "gan"
    output = name[len(family) + 1 :]
    shape = (args.length, len(vocabulary))
    generator = networks.sequence_generator(
        latent_dim=args.latent_dim,
        output_shape=shape,
        channels=args.channels,
        num_blocks=args.blocks,
        output=OUTPUTS[output],
        temperature=args.temperature,
    )
    critic = networks.sequence_critic(shape, channels=args.channels, num_blocks=args.blocks)

    def adam(updates):
        lr = keras.optimizers.schedules.CosineDecay(args.lr, updates, alpha=0.05)
        return keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.9)

    options = dict(d_steps=args.d_steps, jit_compile=args.jit_compile)
    if family == "gan":
        model = models.GAN(
            generator, critic, args.latent_dim, seed=args.seed, vocabulary=vocabulary
        )
    else:
        model = models.WGANGP(
            generator,
            critic,
            args.latent_dim,
            gradient_penalty_weight=args.gp_weight,
            seed=args.seed,
            vocabulary=vocabulary,
        )
    model.compile(adam(args.steps * args.d_steps), adam(args.steps), **options)
    return model


def evaluate(samples, real, args):
    jsd = ngram_jsd(samples, real, n=ORDERS)
    ids = samples.argmax(-1) if samples.ndim == 3 else samples
    return {
        "validity": validity_rate(samples, args.grammar),
        **{f"jsd_{n}": jsd[n] for n in ORDERS},
        "distinct": len({row.tobytes() for row in ids}) / len(ids),
    }


def temperature_callbacks(name, args):
    if name.endswith("softmax"):
        return []
    half = max(args.steps // 2, 1)
    rate = (args.min_temperature / args.temperature) ** (1.0 / half)
    return [TemperatureSchedule(rate, args.min_temperature, per="step")]


def run_one(name, args, real, vocabulary, writer):
    keras.utils.set_random_seed(args.seed)
    train = data.load_dataset(
        "grammar",
        batch_size=args.batch_size * args.d_steps,
        num_examples=args.num_examples,
        seed=args.seed,
        grammar=args.grammar,
        length=args.length,
    ).repeat()
    model = build(name, args, vocabulary)
    untrained = evaluate(model.sample(args.num_samples, seed=args.seed), real, args)
    callbacks = temperature_callbacks(name, args)
    done, train_seconds = 0, 0.0
    while done < args.steps:
        chunk = min(args.eval_every, args.steps - done)
        start = time.perf_counter()
        logs = model.fit(
            train, epochs=1, steps_per_epoch=chunk, callbacks=callbacks, verbose=0
        ).history
        train_seconds += time.perf_counter() - start
        done += chunk
        samples = model.sample(args.num_samples, seed=args.seed)
        row = evaluate(samples, real, args)
        with writer.as_default(step=done):
            for key, value in {**row, **{k: v[-1] for k, v in logs.items()}}.items():
                tf.summary.scalar(f"{name}/{key}", value)
        temperature = f", temperature {logs['temperature'][-1]:.3f}" if callbacks else ""
        print(f"  {name} step {done}: {format_row(row)}{temperature}", flush=True)
    strings = decode(samples[:200], vocabulary, strip_padding=vocabulary[0])
    with open(os.path.join(args.out, f"samples_{name}.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(strings) + "\n")
    row.update(model=name, steps=args.steps, train_seconds=train_seconds)
    row["ms_per_step"] = 1000.0 * train_seconds / args.steps
    return row, untrained


def reference_row(args, real):
    other = data.load_arrays(
        "grammar",
        split="train",
        num_examples=args.num_samples,
        seed=args.seed + 1000,
        grammar=args.grammar,
        length=args.length,
    )[1]
    row = evaluate(other, real, args)
    row.update(model="data", steps=0, train_seconds=0.0, ms_per_step=0.0)
    return row


def format_row(row):
    jsd = " ".join(f"{row[f'jsd_{n}']:.4f}" for n in ORDERS)
    return (
        f"{100 * row['validity']:.1f}% valid, JSD 1-4 {jsd}, {100 * row['distinct']:.1f}% distinct"
    )


def markdown(rows, args):
    lines = [
        f"Settings: grammar {args.grammar}, length {args.length}, {args.num_examples} training "
        f"strings; {args.steps} generator updates with {args.d_steps} critic updates each, "
        f"minibatch {args.batch_size}, {args.blocks} residual blocks x {args.channels} channels, "
        f"latent {args.latent_dim}, Adam({args.lr}, 0.5, 0.9) cosine-decayed, WGAN-GP lambda "
        f"{args.gp_weight}, temperature {args.temperature} -> {args.min_temperature}, "
        f"{args.num_samples} samples, seed {args.seed}.",
        "",
        "| model | valid | JSD 1-gram | JSD 2-gram | JSD 3-gram | JSD 4-gram | distinct "
        "| train time (s) | ms / step |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {100 * r['validity']:.1f}% | "
            + " | ".join(f"{r[f'jsd_{n}']:.4f}" for n in ORDERS)
            + f" | {100 * r['distinct']:.1f}% | {r['train_seconds']:.0f} | {r['ms_per_step']:.1f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    vocabulary = data.sequence_vocabulary("grammar", grammar=args.grammar, length=args.length)
    real = data.load_arrays(
        "grammar",
        split="test",
        num_examples=args.num_samples,
        seed=args.seed,
        grammar=args.grammar,
        length=args.length,
    )[1]
    writer = tf.summary.create_file_writer(os.path.join(args.out, "tensorboard"))
    load_start = [round(x, 2) for x in os.getloadavg()]
    rows = [reference_row(args, real)]
    start = time.perf_counter()
    for name in args.models:
        print(name, flush=True)
        row, untrained = run_one(name, args, real, vocabulary, writer)
        if len(rows) == 1:
            untrained.update(model="untrained", steps=0, train_seconds=0.0, ms_per_step=0.0)
            rows.append(untrained)
        rows.append(row)
    writer.close()
    total = time.perf_counter() - start
    load = [round(x, 2) for x in os.getloadavg()]
    table = markdown(rows, args)
    footer = (
        f"Total time {total:.0f} s on {os.cpu_count()} CPU cores; load average (1, 5, 15 min) "
        f"at the start {load_start}, at the end {load}."
    )
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(
            {
                "args": vars(args),
                "rows": rows,
                "total_seconds": total,
                "load_start": load_start,
                "load_end": load,
            },
            f,
            indent=2,
        )
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(table + "\n\n" + footer + "\n")
    print(table)
    print(f"\n{footer} Outputs in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
