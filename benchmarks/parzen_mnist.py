"""Reproduce Table 1's MNIST row: Parzen-window log-likelihood of a trained GAN.

Trains on the first 50,000 MNIST training digits, chooses the Parzen bandwidth
on the other 10,000 (``train[50000:]``), and reports the mean log-likelihood of
the 10,000 test digits under 10,000 samples, with its standard error, plus the
wall-clock training time on this machine. The paper: 225 +/- 2 nats.

Configurations (``--config``):

* ``paper``: ``keras_gan/configs/mnist_mlp.yaml``, the authors' pylearn2 set-up
  (maxout D, 1200-1200 ReLU G, uniform noise, SGD lr 0.1 decaying by 1/1.000004
  per update, momentum 0.5 ramped to 0.7 over epochs 1-250, batch 100, k = 1;
  kernels initialised U(-0.05, 0.05) in G and U(-0.005, 0.005) in D, G's output
  biases from the data marginals), for ``--epochs`` (default 300, about 50 min
  at ~10 s per epoch on an idle 2-core machine).
* ``fast``: ``keras_gan/configs/mnist_mlp_quick.yaml``, the paper's networks and
  initialisation with Adam on two time scales (D 1e-4, G 3e-4, beta_1 0.5),
  sampled from an exponential moving average of the generator's weights
  (``ema_decay`` 0.999).
* any other name or path: a config file, as ``keras-gan train --config``.

``--time-budget MINUTES`` stops training at the end of the epoch that exceeds it.
The best configuration the package offers is ``fast``: 222.7 nats after 300
epochs (60 min), 217.9 after 125 epochs (30 min); ``paper`` gives 194.2 after 300
(see BENCHMARKS.md). Every run also prints the same protocol with 10,000 real
training digits as the samples (241.7 nats), a reference measured in the same run.

Full size (see BENCHMARKS.md)::

    python benchmarks/parzen_mnist.py --config paper --epochs 300 --eval-every 25
    python benchmarks/parzen_mnist.py --config fast --epochs 300 --eval-every 25
    python benchmarks/parzen_mnist.py --config fast --epochs 1000 --time-budget 30
    python benchmarks/parzen_mnist.py --config paper --epochs 1000 --time-budget 30 \
        --logdir runs/parzen_paper30

Validation of the script (about a minute)::

    python benchmarks/parzen_mnist.py --config paper --epochs 1 --steps-per-epoch 50 \
        --num-samples 2000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIGS = {"paper": "mnist_mlp", "fast": "mnist_mlp_quick"}
VALIDATION_SPLIT = "train[50000:]"
PAPER = "225 +/- 2"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="paper", help="paper, fast, or a config name/path")
    p.add_argument("--epochs", type=int, help="epochs (default: the config's)")
    p.add_argument("--time-budget", type=float, help="stop training after this many minutes")
    p.add_argument("--steps-per-epoch", type=int, help="limit steps per epoch (script checks)")
    p.add_argument("--num-samples", type=int, default=10_000, help="Parzen samples (10,000)")
    p.add_argument(
        "--eval-every", type=int, default=0, help="also evaluate every N epochs (0: only at end)"
    )
    p.add_argument("--eval-samples", type=int, default=10_000, help="samples of those evaluations")
    p.add_argument("--logdir", help="run directory (default runs/parzen_<config>)")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--out", help="append the JSON result to this file")
    return p.parse_args(argv)


class TimeBudget:
    """Keras callback: stop training at the end of the epoch that exceeds ``minutes``."""

    def __new__(cls, minutes):
        import keras

        class _TimeBudget(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                if time.perf_counter() - self.start > minutes * 60:
                    print(f"time budget of {minutes} min reached after epoch {epoch + 1}")
                    self.model.stop_training = True

        return _TimeBudget()


def main(argv=None):
    args = parse_args(argv)
    import keras

    from keras_gan.callbacks import ParzenEvaluation
    from keras_gan.config import load_config
    from keras_gan.data import load_arrays
    from keras_gan.metrics import parzen_evaluate
    from keras_gan.training import build_dataset, build_model, schedule_callbacks

    name = CONFIGS.get(args.config, args.config)
    logdir = args.logdir or os.path.join("runs", f"parzen_{args.config}")
    config = load_config(
        name,
        overrides={
            "training.epochs": args.epochs,
            "training.steps_per_epoch": args.steps_per_epoch,
            "training.seed": args.seed,
            "training.verbose": 2,
            "logging.logdir": logdir,
        },
    )
    if config.dataset.split != "train[:50000]" or config.dataset.name != "mnist":
        print(f"note: the config trains on mnist {config.dataset.split!r}, not 'train[:50000]'")
    x_valid, _ = load_arrays("mnist", VALIDATION_SPLIT, value_range=config.dataset.value_range)
    x_test, _ = load_arrays("mnist", "test", value_range=config.dataset.value_range)

    model = build_model(config)
    dataset = build_dataset(config)
    if config.training.steps_per_epoch:
        dataset = dataset.repeat()
    callbacks = schedule_callbacks(config) + [keras.callbacks.TensorBoard(logdir)]
    parzen = None
    if args.eval_every:
        parzen = ParzenEvaluation(
            x_valid, x_test, every=args.eval_every, num_samples=args.eval_samples, logdir=logdir
        )
        callbacks.insert(0, parzen)
    if args.time_budget:
        callbacks.append(TimeBudget(args.time_budget))
    print(f"training {name} for up to {config.training.epochs} epochs -> {logdir}")
    start = time.perf_counter()
    history = model.fit(
        dataset,
        epochs=config.training.epochs,
        steps_per_epoch=config.training.steps_per_epoch,
        callbacks=callbacks,
        verbose=2,
    )
    # Training time without the evaluations made during training (the time budget
    # counts them: it is wall clock).
    train_seconds = time.perf_counter() - start - (parzen.seconds if parzen else 0.0)
    epochs_done = len(history.history["d_loss"])
    os.makedirs(logdir, exist_ok=True)
    model_path = os.path.join(logdir, "model.keras")
    model.save(model_path)

    start = time.perf_counter()
    result = parzen_evaluate(model, x_test, x_valid, num_samples=args.num_samples, seed=0)
    eval_seconds = time.perf_counter() - start
    record = dict(
        config=name,
        epochs=epochs_done,
        steps_per_epoch=config.training.steps_per_epoch,
        train_seconds=round(train_seconds, 1),
        seconds_per_epoch=round(train_seconds / max(epochs_done, 1), 2),
        eval_seconds=round(eval_seconds, 1),
        model=model_path,
        during_training={k: v for k, v in history.history.items() if k.startswith("parzen/")},
        **result.to_dict(),
    )
    # The same protocol with real training digits as the "samples": what a model that
    # reproduced its training set would get (a reference measured in the same run).
    x_train, _ = load_arrays("mnist", "train[:50000]", value_range=config.dataset.value_range)
    reference = parzen_evaluate(x_train[: args.num_samples], x_test, x_valid)
    record["real_digits_reference"] = reference.to_dict()
    print(
        f"{name}: {epochs_done} epochs in {train_seconds / 60:.1f} min "
        f"({record['seconds_per_epoch']} s/epoch); test {result} [paper: {PAPER} nats]"
    )
    print(f"reference, {args.num_samples} real training digits as samples: {reference}")
    print(json.dumps(record))
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(record) + "\n")
    return record


if __name__ == "__main__":
    main()
