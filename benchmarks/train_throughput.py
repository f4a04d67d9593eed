"""Training throughput: ``GAN.fit`` against a hand-written loop, PyTorch and the
machine's matrix-multiply bound, on MNIST from the IDX files.

Configurations (``--configs``): ``mnist_mlp``, the paper's MNIST GAN
(generator 100-1200-1200-784, maxout discriminator 240x5, 240x5 with dropout
0.2/0.5/0.5, batch 100, k = 1, SGD with momentum 0.5 and the decaying learning
rate of ``keras_gan/configs/mnist_mlp.yaml``), and ``mnist_dcgan``
(``keras_gan/configs/mnist_dcgan.yaml``: DCGAN with batch norm, batch 128,
Adam). Peers (``--peers``), each measured in a fresh process, in rounds whose
order rotates, ``--repeats`` times; the table shows the median:

* ``fit``: :meth:`keras_gan.models.GAN.fit` with the default settings, built
  as ``keras-gan train`` builds it (``keras_gan.training.build_model`` and
  ``build_dataset``), no callbacks, ``verbose=0``. Its samples/s is the
  reference every ratio is taken against.
* ``fit_jit``: the same with ``jit_compile=True`` (XLA).
* ``fit_bf16``: the same with ``training.dtype_policy: mixed_bfloat16``
  (bfloat16 products, float32 weights and losses; not the float32 step the
  bound counts, so it may exceed the bound).
* ``fit_before``: the same model with the defaults before the throughput work
  (unit-major Maxout, Keras' float dropout, two discriminator calls per update, one step per
  execution, a float32 input pipeline prefetched by tf.data's autotuner) --
  what this benchmark's changes gained.
* ``hand``: a hand-written ``tf.function`` step in a Python loop over the same
  ``tf.data`` pipeline, with the same networks and optimizers (the pattern of
  the official Keras GAN examples: one discriminator call on real and fake
  concatenated when the discriminator has no batch norm, else two calls;
  ``keras.losses.BinaryCrossentropy(from_logits=True)``; no metrics).
* ``torch``: the same networks, optimizer, initialisation and Algorithm 1 in
  PyTorch (``torch.set_num_threads`` = the core count), written the way its
  DCGAN tutorial does: ``TensorDataset`` + ``DataLoader(shuffle=True)``,
  ``BCEWithLogitsLoss``, separate discriminator calls on real and
  ``fake.detach()``, the generator's backward pass also filling the
  discriminator's gradients; maxout as ``linear(x).view(-1, units,
  pieces).max(-1)``. Skipped, with a message, when PyTorch is not installed
  (``pip install -e .[bench]``). ``torch_bf16``: the same loop with its
  forward passes under ``torch.autocast("cpu", dtype=torch.bfloat16)``, the
  peer of ``fit_bf16``.
* ``bound``: the matrix products of one training step counted from the layer
  shapes (:mod:`keras_gan.flops`; the formula and count are printed) divided
  by the rate this machine reaches on exactly those shapes, measured in the
  same run with ``tf.linalg.matmul`` (one product at a time on all cores) and
  NumPy (OpenBLAS), the faster of the two per shape. It ignores every
  element-wise operation, so no implementation can reach it. Also measured
  and printed: the optimizers' updates alone (``apply_gradients`` of the
  configured optimizers on fixed gradients, ``k`` for D and one for G), the
  memory-bound part every implementation pays on top of the products.
* ``floor``: the step's unavoidable float32 work and nothing else, as a step
  runs it: every product of the step one after another (each waiting for the
  one before, distinct operands) and the optimizers' updates on fixed
  gradients, free to overlap the products, in one ``tf.function`` per step
  with fit's threading, timed over as many steps as ``fit`` (also the products
  alone and the updates alone). Where the bound takes each product's best
  rate in isolation, the floor is what those products and updates sustain
  together over a run; the report gives fit's share of it and its share of
  the bound, both paired by round.
* ``pipeline``: iterating ``keras_gan.training.build_dataset`` alone (IDX
  files, shuffling over the whole split each epoch, uint8 -> float scaling
  after batching, prefetch), and ``pipeline_before``: the float32 pipeline it
  replaced.

Each run times ``--steps`` training steps (default: one epoch for
``mnist_mlp``, 100 for ``mnist_dcgan``) after ``--warmup`` steps that trace
and warm the step; the timed part starts a fresh pass over the data (so it
includes the shuffle buffer's refill, as every epoch does). samples/s counts
real examples consumed (``batch x k`` per step). Peak memory is the process'
peak resident set (``ru_maxrss``) and its growth while timing (psutil,
sampled every 20 ms). The load average is recorded before and after every run;
on a busy machine the figures are noisy (see ``load``). So is a machine probe
(:func:`machine_probe`: the NumPy rate of one product shape) just before and
after every run, which shows when the machine changed speed under a run.

``fit`` also records its best ``WINDOW_STEPS``-step window (from a callback
timing each call of the compiled step): the bound is a best-of statistic (the
best of 5 timings per product), so the report gives the bound's share of both
the run's average and that best window; on a VM whose speed drifts by 10-20%
the first compares an average with a best case.

``--profile`` adds, per configuration, one profiled ``fit`` run and prints
where its time goes by TensorFlow op type (matrix products vs the rest).

Full size (about 40 minutes on an idle 2-core machine)::

    python benchmarks/train_throughput.py --out train_throughput.json --profile

Quick validation (a few minutes)::

    python benchmarks/train_throughput.py --configs mnist_mlp --steps 100 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from _memory import PeakRSS  # noqa: E402  (benchmarks/, this script's directory)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not os.environ.get("KERAS_GAN_DATA_DIR"):
    _shared = os.path.join(os.path.dirname(REPO), "shared", "data")
    if os.path.isdir(_shared):
        os.environ["KERAS_GAN_DATA_DIR"] = _shared

CONFIGS = ("mnist_mlp", "mnist_dcgan")
PEERS = (
    "fit",
    "fit_jit",
    "fit_bf16",
    "fit_before",
    "hand",
    "torch",
    "torch_bf16",
    "bound",
    "floor",
    "pipeline",
    "pipeline_before",
)
DEFAULT_STEPS = {"mnist_mlp": None, "mnist_dcgan": 100}  # None: one epoch
TORCH_HINT = "PyTorch is not installed; `pip install -e .[bench]` installs torch==2.13.0"


# --------------------------------------------------------------------- common
def _record(samples, seconds, mem, **extra):
    return dict(
        samples=samples,
        seconds=seconds,
        samples_per_s=samples / seconds,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        rss_growth_mb=mem.growth / 2**20,
        **extra,
    )


def _config(name, **overrides):
    """The shipped config, reading MNIST from the IDX files (never a fallback)."""
    from keras_gan.config import load_config

    return load_config(name, overrides={"dataset.source": "idx", **overrides})


def _steps(config, args):
    """Timed steps of one run, and the batches in one epoch of the data."""
    cfg = _config(config)
    t = cfg.training
    per_epoch = _num_examples(cfg) // (t.batch_size * t.d_steps)
    steps = args.steps if args.steps else DEFAULT_STEPS[config] or per_epoch
    return min(steps, per_epoch), per_epoch


def _num_examples(cfg):
    from keras_gan.data.sources import load_image_arrays

    images, _, _ = load_image_arrays(cfg.dataset.name, cfg.dataset.split, cfg.dataset.source)
    return len(images)


def _threads(args):
    import tensorflow as tf

    if args.inter_op is not None:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    if args.intra_op is not None:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)


# ---------------------------------------------------------------- TF peers
def _float32_pipeline(cfg):
    """The input pipeline before the throughput work: float32 examples shuffled,
    prefetched by tf.data's autotuner (whose stalls ``finish_pipeline`` removed)."""
    import tensorflow as tf

    from keras_gan.data import load_arrays

    d, t = cfg.dataset, cfg.training
    x, _ = load_arrays(d.name, d.split, d.value_range, d.source)
    ds = tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=t.seed)
    return ds.batch(t.batch_size * t.d_steps, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _layers_before():
    """Make the networks use the layers of before (for ``fit_before``): Maxout's
    unit-major layout and max, and ``keras.layers.Dropout`` (a float per unit)."""
    import keras

    from keras_gan import layers
    from keras_gan.networks import dcgan, mlp

    init = layers.Maxout.__init__

    def unit_major_init(self, *a, layout="unit_major", **kw):
        init(self, *a, layout=layout, **kw)

    layers.Maxout.__init__ = unit_major_init
    mlp.PackedDropout = dcgan.PackedDropout = keras.layers.Dropout


#: Steps of the windows whose best ``fit`` reports next to its average.
WINDOW_STEPS = 50


def _best_window(start, ends, calls, steps_per_call=1):
    """Seconds per step of the fastest ``calls`` consecutive calls that ended at
    ``ends`` (the first started at ``start``), None when there are fewer."""
    times = [start] + list(ends)
    spans = [b - a for a, b in zip(times, times[calls:])]
    return min(spans) / (calls * steps_per_call) if spans else None


def _execution_clock():
    """A callback noting the time at the end of every call of the compiled step
    (it accepts any steps per execution, so ``fit`` keeps its default), for the
    best ``WINDOW_STEPS``-step window of a run: a best-of statistic like the
    bound's (the best of 5 timings per product), where the run's average also
    takes in the machine's slow spells. (Keras is imported in the child only.)"""
    import keras

    class ExecutionClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends = []

        def supports_steps_per_execution(self, n):
            return True

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.perf_counter())

        def best_window(self, start, steps_per_execution):
            calls = max(1, WINDOW_STEPS // steps_per_execution)
            return _best_window(start, self.ends, calls, steps_per_execution)

    return ExecutionClock()


def run_fit(config, args, variant):
    from keras_gan import training

    _threads(args)
    if variant == "before":
        _layers_before()
    overrides = {
        "jit": {"training.jit_compile": True},
        "bf16": {"training.dtype_policy": "mixed_bfloat16"},
    }.get(variant, {})
    cfg = _config(config, **overrides)
    model = training.build_model(cfg)
    if variant == "before":
        model.compile(
            model.d_optimizer,
            model.g_optimizer,
            d_steps=cfg.training.d_steps,
            generator_loss=cfg.training.generator_loss,
            joint_discriminator_pass=False,
            steps_per_execution=1,
        )
        dataset = _float32_pipeline(cfg)
    else:
        dataset = training.build_dataset(cfg)
    steps, _ = _steps(config, args)
    model.fit(dataset, epochs=1, steps_per_epoch=args.warmup, verbose=0)
    load = os.getloadavg()[0]
    clock = _execution_clock()
    with PeakRSS() as mem:
        start = time.perf_counter()
        model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[clock])
        seconds = time.perf_counter() - start
    batch = cfg.training.batch_size * cfg.training.d_steps
    return _record(
        steps * batch,
        seconds,
        mem,
        best_window_seconds_per_step=clock.best_window(start, model.steps_per_execution),
        steps=steps,
        traces=model.train_step_traces,
        steps_per_execution=model.steps_per_execution,
        joint_discriminator_pass=model.joint_discriminator_pass,
        load=[load, os.getloadavg()[0]],
    )


def run_hand(config, args):
    """The hand-written loop: the official Keras GAN example's step, Algorithm 1."""
    import keras
    import tensorflow as tf

    from keras_gan import training
    from keras_gan.models.per_example import batch_dependent_layers

    _threads(args)
    cfg = _config(config)
    t = cfg.training
    if t.d_steps != 1:
        raise SystemExit("the hand-written loop implements k = 1")
    keras.utils.set_random_seed(t.seed)
    generator, discriminator = training.build_networks(cfg)
    d_optimizer = training.build_optimizer(cfg.d_optimizer)
    g_optimizer = training.build_optimizer(cfg.g_optimizer)
    joint = not batch_dependent_layers(discriminator)
    m, latent_dim = t.batch_size, cfg.latent_dim
    seed = keras.random.SeedGenerator(t.seed)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    def noise():
        if cfg.noise == "uniform":
            return keras.random.uniform((m, latent_dim), -math.sqrt(3), math.sqrt(3), seed=seed)
        return keras.random.normal((m, latent_dim), seed=seed)

    @tf.function
    def train_step(real):
        fake = generator(noise(), training=True)
        with tf.GradientTape() as tape:
            if joint:
                out = discriminator(tf.concat([real, fake], axis=0), training=True)
                real_out, fake_out = out[:m], out[m:]
            else:
                real_out = discriminator(real, training=True)
                fake_out = discriminator(fake, training=True)
            d_loss = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out), fake_out)
        grads = tape.gradient(d_loss, discriminator.trainable_weights)
        d_optimizer.apply_gradients(zip(grads, discriminator.trainable_weights))
        with tf.GradientTape() as tape:
            fake_out = discriminator(generator(noise(), training=True), training=True)
            g_loss = bce(tf.ones_like(fake_out), fake_out)
        grads = tape.gradient(g_loss, generator.trainable_weights)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_weights))
        return d_loss, g_loss

    dataset = training.build_dataset(cfg)
    steps, _ = _steps(config, args)
    for real in dataset.take(args.warmup):
        losses = train_step(real)
    float(losses[0])
    load = os.getloadavg()[0]
    with PeakRSS() as mem:
        start = time.perf_counter()
        for real in dataset.take(steps):
            losses = train_step(real)
        float(losses[0])  # wait for the last step
        seconds = time.perf_counter() - start
    return _record(
        steps * m,
        seconds,
        mem,
        steps=steps,
        traces=train_step.experimental_get_tracing_count(),
        joint_discriminator_pass=joint,
        load=[load, os.getloadavg()[0]],
    )


def run_pipeline(config, args, before=False):
    from keras_gan import training

    _threads(args)
    cfg = _config(config)
    dataset = _float32_pipeline(cfg) if before else training.build_dataset(cfg)
    steps, _ = _steps(config, args)
    for _ in dataset.take(2):  # build the pipeline's functions
        pass
    load = os.getloadavg()[0]
    with PeakRSS() as mem:
        start = time.perf_counter()
        n = 0
        for batch in dataset.take(steps):
            n += int(batch.shape[0])
        seconds = time.perf_counter() - start
    return _record(n, seconds, mem, steps=steps, load=[load, os.getloadavg()[0]])


# ------------------------------------------------------------------- bound
def _operand_shapes(gemm):
    """The shapes of ``gemm``'s two operands as stored (before any transpose)."""
    a_shape = (gemm.k, gemm.m) if gemm.transpose_a else (gemm.m, gemm.k)
    b_shape = (gemm.n, gemm.k) if gemm.transpose_b else (gemm.k, gemm.n)
    return a_shape, b_shape


def _step_gemms(cfg):
    """``(generator, discriminator, joint, gemms)``: freshly built networks of
    ``cfg`` and the matrix products of one of its training steps."""
    from keras_gan import flops, training
    from keras_gan.models.per_example import batch_dependent_layers

    t = cfg.training
    generator, discriminator = training.build_networks(cfg)
    joint = not batch_dependent_layers(discriminator)
    gemms = flops.training_step_gemms(generator, discriminator, t.batch_size, t.d_steps, joint)
    return generator, discriminator, joint, gemms


def _time_gemm(gemm, min_seconds=0.05, max_products=64, dtype="float32"):
    """Best FLOP rate of ``gemm`` with tf.linalg.matmul and with NumPy.

    With ``dtype="bfloat16"`` TensorFlow multiplies bfloat16 operands and the
    NumPy rate is 0 (it has no bfloat16 product). Each timed call runs ``r``
    products of *distinct* operand pairs (identical products would be merged
    by TensorFlow's graph optimizer), ``r`` chosen so that a call takes about
    ``min_seconds``; the best of 5 calls counts.
    """
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a_shape, b_shape = _operand_shapes(gemm)

    def product(a, b):
        return tf.linalg.matmul(a, b, transpose_a=gemm.transpose_a, transpose_b=gemm.transpose_b)

    def constant(x):
        return tf.cast(tf.constant(x), dtype)

    a0, b0 = (constant(rng.standard_normal(s, dtype=np.float32)) for s in (a_shape, b_shape))
    for _ in range(3):
        product(a0, b0).numpy()
    start = time.perf_counter()
    for _ in range(5):
        product(a0, b0).numpy()
    per_product = (time.perf_counter() - start) / 5
    reps = int(min(max_products, max(4, min_seconds / per_product)))
    side = math.ceil(math.sqrt(reps))
    a_list = [rng.standard_normal(a_shape, dtype=np.float32) for _ in range(side)]
    b_list = [rng.standard_normal(b_shape, dtype=np.float32) for _ in range(side)]
    pairs = [(i, j) for i in range(side) for j in range(side)][:reps]
    a_tf = [constant(a) for a in a_list]
    b_tf = [constant(b) for b in b_list]

    @tf.function
    def tf_products():
        # c[0, 0] keeps each product without returning it.
        return tf.stack([product(a_tf[i], b_tf[j])[0, 0] for i, j in pairs])

    def np_products():
        for i, j in pairs:
            a = a_list[i].T if gemm.transpose_a else a_list[i]
            b = b_list[j].T if gemm.transpose_b else b_list[j]
            a @ b

    def rate(run):
        run()  # warm-up
        best = math.inf
        for _ in range(5):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        return gemm.flops * len(pairs) / best

    tf_rate = rate(lambda: tf_products().numpy())
    return tf_rate, (rate(np_products) if dtype == "float32" else 0.0)


def _fixed_gradient_updates(cfg, generator, discriminator, d_steps):
    """A function applying the configured optimizers' updates of one training
    step on fixed gradients: ``d_steps`` ``apply_gradients`` of D's optimizer
    and one of G's (their variables and slots are built here)."""
    import tensorflow as tf

    from keras_gan import training

    pairs = []
    for ocfg, net, times in (
        (cfg.d_optimizer, discriminator, d_steps),
        (cfg.g_optimizer, generator, 1),
    ):
        optimizer = training.build_optimizer(ocfg)
        variables = net.trainable_variables
        optimizer.build(variables)
        grads = [tf.random.normal(v.shape, stddev=1e-6) for v in variables]
        pairs += [(optimizer, grads, variables)] * times

    def updates():
        for optimizer, grads, variables in pairs:
            optimizer.apply_gradients(zip(grads, variables))

    return updates


def _time_updates(cfg, generator, discriminator, d_steps, repeats=50):
    """Seconds per training step of the optimizers' updates alone (best of 5):
    memory traffic over every parameter and its slots that no implementation of
    the step avoids."""
    import tensorflow as tf

    updates = tf.function(_fixed_gradient_updates(cfg, generator, discriminator, d_steps))
    for _ in range(5):
        updates()
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            updates()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def run_bound(config, args):
    import tensorflow as tf

    # One product at a time, each on all cores: the products of a step depend
    # on each other, so they run one after another there too.
    tf.config.threading.set_inter_op_parallelism_threads(1)
    if args.intra_op is not None:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
    cfg = _config(config)
    t = cfg.training
    generator, discriminator, joint, gemms = _step_gemms(cfg)
    total = sum(g.flops * c for g, c, _ in gemms)
    rates = {}
    for gemm, _, _ in gemms:
        if gemm not in rates:
            rates[gemm] = _time_gemm(gemm)
    seconds = sum(c * g.flops / max(rates[g]) for g, c, _ in gemms)
    tf_seconds = sum(c * g.flops / rates[g][0] for g, c, _ in gemms)
    np_seconds = sum(c * g.flops / rates[g][1] for g, c, _ in gemms)
    # What fit_bf16 (training.dtype_policy: mixed_bfloat16) multiplies: bfloat16 operands.
    bf16_rates = {g: _time_gemm(g, dtype="bfloat16")[0] for g in rates}
    bf16_seconds = sum(c * g.flops / bf16_rates[g] for g, c, _ in gemms)
    batch = t.batch_size * t.d_steps
    terms = _formula_terms(generator, discriminator, t.batch_size)
    update_seconds = _time_updates(cfg, generator, discriminator, t.d_steps)
    return dict(
        update_seconds_per_step=update_seconds,
        parameters=generator.count_params() + discriminator.count_params(),
        flops_per_step=total,
        products_per_step=sum(c for _, c, _ in gemms),
        formula=terms,
        joint_discriminator_pass=joint,
        bound_seconds_per_step=seconds,
        samples_per_s=batch / seconds,
        effective_gflops=total / seconds / 1e9,
        tf_gflops=total / tf_seconds / 1e9,
        numpy_gflops=total / np_seconds / 1e9,
        bf16_seconds_per_step=bf16_seconds,
        bf16_gflops=total / bf16_seconds / 1e9,
        shapes=[
            dict(
                m=g.m,
                k=g.k,
                n=g.n,
                transpose_a=g.transpose_a,
                transpose_b=g.transpose_b,
                count=c,
                phase=phase,
                tf_gflops=rates[g][0] / 1e9,
                numpy_gflops=rates[g][1] / 1e9,
                bf16_gflops=bf16_rates[g] / 1e9,
            )
            for g, c, phase in gemms
        ],
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def _formula_terms(generator, discriminator, m):
    from keras_gan import flops

    def terms(net):
        per_layer = [
            g.k * g.n * (g.m // m)
            for layer in net._flatten_layers(include_self=False, recursive=True)
            if (g := flops.layer_gemm(layer, m)) is not None
        ]
        return sum(per_layer), per_layer[0]

    s_g, f_g = terms(generator)
    s_d, f_d = terms(discriminator)
    return dict(m=m, S_G=s_g, F_G=f_g, S_D=s_d, F_D=f_d)


def _timed_calls(step, steps, warmup=20):
    """Run ``step`` (returning a scalar tensor) ``warmup`` then ``steps`` times,
    waiting for each result; ``(mean seconds per call, best WINDOW_STEPS-call
    window per call)`` of the timed calls."""
    for _ in range(warmup):
        step().numpy()
    start = time.perf_counter()
    ends = []
    for _ in range(steps):
        step().numpy()
        ends.append(time.perf_counter())
    return (ends[-1] - start) / steps, _best_window(start, ends, min(WINDOW_STEPS, steps))


def run_floor(config, args):
    """The step's unavoidable float32 work and nothing else: every matrix
    product of a training step (``count`` times each, in the order of
    :func:`keras_gan.flops.training_step_gemms`, each waiting for the one
    before as in the step, distinct operands so none is merged or finds its
    operands in cache from the previous product of its shape) and the
    optimizers' updates on fixed gradients, in one ``tf.function`` per step,
    with fit's threading, timed over as many steps as ``fit``. The updates do
    not wait for the products (in a real step they wait for their gradients),
    so they overlap them as far as the machine allows. Also timed in the same
    process: the products alone and the updates alone, over as many steps."""
    import numpy as np
    import tensorflow as tf

    _threads(args)
    cfg = _config(config)
    t = cfg.training
    generator, discriminator, _, gemms = _step_gemms(cfg)
    rng = np.random.default_rng(1)
    products = []
    for gemm, count, _ in gemms:
        for _ in range(count):
            a, b = (
                tf.constant(rng.standard_normal(s, dtype=np.float32)) for s in _operand_shapes(gemm)
            )
            products.append((gemm, a, b))
    updates = _fixed_gradient_updates(cfg, generator, discriminator, t.d_steps)

    def chain():
        # Every product's corner is summed into the result: a product whose
        # output only fed a control dependency would be pruned by Grappler.
        previous = tf.constant(0.0)
        corners = []
        for gemm, a, b in products:
            with tf.control_dependencies([previous]):
                c = tf.linalg.matmul(
                    a, b, transpose_a=gemm.transpose_a, transpose_b=gemm.transpose_b
                )
            previous = c[0, 0]
            corners.append(previous)
        return tf.add_n(corners)

    @tf.function
    def products_only():
        return chain()

    @tf.function
    def updates_only():
        updates()
        return tf.constant(0.0)

    @tf.function
    def both():
        updates()
        return chain()

    steps, _ = _steps(config, args)
    products_seconds, products_window = _timed_calls(products_only, steps)
    updates_seconds, _ = _timed_calls(updates_only, steps)
    load = os.getloadavg()[0]
    with PeakRSS() as mem:
        seconds, window = _timed_calls(both, steps)
    batch = t.batch_size * t.d_steps
    return _record(
        steps * batch,
        seconds * steps,
        mem,
        steps=steps,
        best_window_seconds_per_step=window,
        products_seconds_per_step=products_seconds,
        products_best_window_seconds_per_step=products_window,
        updates_seconds_per_step=updates_seconds,
        flops_per_step=sum(g.flops * c for g, c, _ in gemms),
        load=[load, os.getloadavg()[0]],
    )


# ------------------------------------------------------------------- torch
def _data_dir():
    return os.environ.get("KERAS_GAN_DATA_DIR", "").split(os.pathsep)[0]


def _read_idx_images(name, split):
    """``uint8 [n, 28, 28]`` from the IDX files, as a PyTorch user would read them."""
    import gzip

    import numpy as np

    base, _, rest = split.partition("[")
    stem = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}[base]
    with gzip.open(os.path.join(_data_dir(), name, stem + ".gz"), "rb") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    if rest:  # "train[:50000]"-style slices
        start, stop = (int(v) if v else None for v in rest.rstrip("]").split(":"))
        images = images[start:stop]
    return images


def run_torch(config, args, bf16=False):
    import contextlib

    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    cfg = _config(config)
    t, d = cfg.training, cfg.dataset
    lo, hi = d.value_range
    images = _read_idx_images(d.name, d.split)
    x = torch.from_numpy(images.astype(np.float32)[:, None] * ((hi - lo) / 255.0) + lo)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x), batch_size=t.batch_size, shuffle=True, drop_last=True
    )
    generator, discriminator = _torch_networks(cfg, x)
    d_opt, d_sched = _torch_optimizer(cfg.d_optimizer, discriminator)
    g_opt, g_sched = _torch_optimizer(cfg.g_optimizer, generator)
    criterion = nn.BCEWithLogitsLoss()
    m, latent_dim = t.batch_size, cfg.latent_dim
    ones, zeros = torch.ones(m, 1), torch.zeros(m, 1)

    def noise():
        if cfg.noise == "uniform":
            return (torch.rand(m, latent_dim) * 2 - 1) * math.sqrt(3)
        return torch.randn(m, latent_dim)

    def amp():
        if bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def step(real):
        discriminator.zero_grad()
        with amp():
            err_real = criterion(discriminator(real), ones)
        err_real.backward()
        with amp():
            fake = generator(noise())
            err_fake = criterion(discriminator(fake.detach()), zeros)
        err_fake.backward()
        d_opt.step()
        generator.zero_grad()
        with amp():
            err_g = criterion(discriminator(generator(noise())), ones)
        err_g.backward()
        g_opt.step()
        for sched in (d_sched, g_sched):
            if sched is not None:
                sched.step()
        return err_real + err_fake, err_g

    if t.d_steps != 1:
        raise SystemExit("the PyTorch loop implements k = 1")
    steps, _ = _steps(config, args)
    generator.train()
    discriminator.train()
    for i, (real,) in enumerate(loader):
        if i >= args.warmup:
            break
        step(real)
    load = os.getloadavg()[0]
    with PeakRSS() as mem:
        start = time.perf_counter()
        for i, (real,) in enumerate(loader):
            if i >= steps:
                break
            step(real)
        seconds = time.perf_counter() - start
    return _record(
        steps * m,
        seconds,
        mem,
        steps=steps,
        torch_version=torch.__version__,
        torch_threads=torch.get_num_threads(),
        load=[load, os.getloadavg()[0]],
    )


def _torch_networks(cfg, x):
    import torch
    from torch import nn

    class Maxout(nn.Module):
        def __init__(self, d_in, units, pieces):
            super().__init__()
            self.linear = nn.Linear(d_in, units * pieces)
            self.units, self.pieces = units, pieces

        def forward(self, h):
            return self.linear(h).view(-1, self.units, self.pieces).max(dim=-1).values

    def irange(net, r):
        if r:
            for mod in net.modules():
                if isinstance(mod, (nn.Linear,)):
                    nn.init.uniform_(mod.weight, -r, r)
                    nn.init.zeros_(mod.bias)

    gk, dk = cfg.generator.kwargs(), cfg.discriminator.kwargs()
    latent = cfg.latent_dim
    if (cfg.generator.name, cfg.discriminator.name) == ("mlp_generator", "maxout_discriminator"):
        widths = list(gk.get("hidden", (1200, 1200)))
        layers, d_in = [], latent
        for w in widths:
            layers += [nn.Linear(d_in, w), nn.ReLU()]
            d_in = w
        out = nn.Linear(d_in, 784)
        generator = nn.Sequential(*layers, out, nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28)))
        irange(generator, gk.get("init_range"))
        if gk.get("output_bias") == "data_marginals":
            mean = x.mean(0).reshape(-1).clamp(1e-7, 1 - 1e-7)
            with torch.no_grad():
                out.bias.copy_(torch.log(mean) - torch.log1p(-mean))
        units, pieces = list(dk.get("units", (240, 240))), dk.get("pieces", 5)
        rates = list(dk.get("dropout", (0.2, 0.5, 0.5)))
        layers, d_in = [nn.Flatten()], 784
        for i, u in enumerate(units):
            layers += [nn.Dropout(rates[i]), Maxout(d_in, u, pieces)]
            d_in = u
        layers += [nn.Dropout(rates[-1]), nn.Linear(d_in, 1)]
        discriminator = nn.Sequential(*layers)
        irange(discriminator, dk.get("init_range"))
        return generator, discriminator
    if (cfg.generator.name, cfg.discriminator.name) == ("dcgan_generator", "dcgan_discriminator"):
        f = gk.get("base_filters", 64)
        generator = nn.Sequential(
            nn.Linear(latent, 7 * 7 * 2 * f, bias=False),
            nn.BatchNorm1d(7 * 7 * 2 * f),
            nn.ReLU(),
            nn.Unflatten(1, (2 * f, 7, 7)),
            nn.ConvTranspose2d(2 * f, f, 5, 2, padding=2, output_padding=1, bias=False),
            nn.BatchNorm2d(f),
            nn.ReLU(),
            nn.ConvTranspose2d(f, 1, 5, 2, padding=2, output_padding=1),
            nn.Tanh(),
        )
        f = dk.get("base_filters", 64)
        discriminator = nn.Sequential(
            nn.Conv2d(1, f, 5, 2, padding=2),
            nn.LeakyReLU(0.2),
            nn.Conv2d(f, 2 * f, 5, 2, padding=2),
            nn.BatchNorm2d(2 * f),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(2 * f * 7 * 7, 1),
        )
        return generator, discriminator
    raise SystemExit(f"no PyTorch version of {cfg.generator.name} / {cfg.discriminator.name}")


def _torch_optimizer(ocfg, net):
    import torch

    if ocfg.name == "sgd":
        opt = torch.optim.SGD(
            net.parameters(), lr=ocfg.learning_rate, momentum=ocfg.momentum or 0.0
        )
    elif ocfg.name == "adam":
        opt = torch.optim.Adam(
            net.parameters(),
            lr=ocfg.learning_rate,
            betas=(ocfg.beta_1 or 0.9, ocfg.beta_2 or 0.999),
        )
    else:
        raise SystemExit(f"no PyTorch optimizer for {ocfg.name}")
    sched = None
    if ocfg.decay_rate is not None and ocfg.decay_rate < 1:
        floor = ocfg.min_learning_rate / ocfg.learning_rate
        rate = ocfg.decay_rate
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: max(rate**step, floor))
    return opt, sched


# ----------------------------------------------------------------- profile
MATMUL_OPS = ("MatMul", "Conv2D", "Conv2DBackprop", "_MklMatMul", "_MklNativeFusedMatMul",
              "_MklConv", "_MklNativeConv", "_FusedConv2D", "_MklFusedConv", "BatchMatMul",
              "_MklNativeFusedConv2D", "_FusedMatMul")  # fmt: skip


def run_profile(config, args):
    """One profiled ``fit`` run: op time by type (TensorFlow's profiler trace)."""
    import collections
    import glob
    import shutil
    import tempfile

    import tensorflow as tf

    from keras_gan import training

    _threads(args)
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError:
        raise SystemExit("this TensorFlow has no xplane_pb2; cannot read the profile") from None
    cfg = _config(config)
    model = training.build_model(cfg)
    dataset = training.build_dataset(cfg).take(args.warmup + args.profile_steps).cache().repeat()
    model.fit(dataset, epochs=1, steps_per_epoch=args.warmup, verbose=0)
    logdir = tempfile.mkdtemp(prefix="keras_gan_profile_")
    steps = args.profile_steps
    tf.profiler.experimental.start(logdir)
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    wall = time.perf_counter() - start
    tf.profiler.experimental.stop()
    path = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))[-1]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    shutil.rmtree(logdir, ignore_errors=True)
    by_type = collections.Counter()
    count = collections.Counter()
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" in name and "/" in name:  # "scope/op_name:OpType"
                    op_type = name.rsplit(":", 1)[1]
                    by_type[op_type] += event.duration_ps / 1e9 / steps  # ms per step
                    count[op_type] += 1 / steps
    matmul = sum(v for k, v in by_type.items() if k.startswith(MATMUL_OPS))
    return dict(
        wall_ms_per_step=wall / steps * 1e3,
        op_ms_per_step=sum(by_type.values()),
        matmul_ms_per_step=matmul,
        top=[(k, v, count[k]) for k, v in by_type.most_common(15)],
        note="op times are summed over threads and inflated by the profiler",
    )


# ------------------------------------------------------------------ driver
PROBE_SHAPE = (200, 1200, 1200)  # m, k, n: a product of the paper's MLP GAN


def machine_probe(batches=7, products=10):
    """This machine's speed now: GFLOP/s of NumPy float32 products of
    ``PROBE_SHAPE`` (the best of ``batches`` timings of ``products`` each;
    about 0.3 s), without TensorFlow. Every run measures it just before and
    just after itself, so a change of the machine's speed shows in the record
    instead of passing for a property of a peer. (The factor-2 "modes" once
    blamed on the machine were tf.data's autotuner stalling the run, which the
    probe does not see; see BENCHMARKS.md.) It is an indicator, not a
    normaliser: on an idle machine it varies by about 15% from second to
    second."""
    import numpy as np

    m, k, n = PROBE_SHAPE
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    a @ b  # warm-up: thread pool, pages
    times = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(products):
            a @ b
        times.append(time.perf_counter() - start)
    return 2 * m * k * n * products / min(times) / 1e9


def child(peer, config, args):
    runners = {
        "fit": lambda: run_fit(config, args, "default"),
        "fit_jit": lambda: run_fit(config, args, "jit"),
        "fit_bf16": lambda: run_fit(config, args, "bf16"),
        "fit_before": lambda: run_fit(config, args, "before"),
        "hand": lambda: run_hand(config, args),
        "torch": lambda: run_torch(config, args),
        "torch_bf16": lambda: run_torch(config, args, bf16=True),
        "bound": lambda: run_bound(config, args),
        "floor": lambda: run_floor(config, args),
        "pipeline": lambda: run_pipeline(config, args),
        "pipeline_before": lambda: run_pipeline(config, args, before=True),
        "profile": lambda: run_profile(config, args),
    }
    before = machine_probe()
    record = runners[peer]()
    record.update(peer=peer, config=config, probe_gflops=[before, machine_probe()])
    print("RESULT " + json.dumps(record), flush=True)


def _torch_available():
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _launch(peer, config, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", peer, "--configs", config]
    for flag in ("steps", "warmup", "inter_op", "intra_op", "profile_steps"):
        value = getattr(args, flag)
        if value is not None:
            cmd += ["--" + flag.replace("_", "-"), str(value)]
    env = dict(os.environ)
    if args.omp_passive:  # idle OpenMP threads sleep instead of spinning
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=args.timeout, check=False, env=env
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        tail = (proc.stderr or proc.stdout)[-2500:]
        return dict(peer=peer, config=config, error=f"exit {proc.returncode}: {tail}")
    return json.loads(lines[-1][len("RESULT ") :])


def _runs_by_round(records, config):
    """``{round: {peer: record}}`` of the completed runs of ``config``."""
    by_round = {}
    for r in records:
        if r["config"] == config and "samples_per_s" in r and "round" in r:
            by_round.setdefault(r["round"], {})[r["peer"]] = r
    return by_round


def _paired_ratios(records, config, peer):
    """``peer / fit`` samples/s of the runs made in the same round (minutes apart),
    which a change of the machine's speed between rounds does not bias."""
    return [
        runs[peer]["samples_per_s"] / runs["fit"]["samples_per_s"]
        for runs in _runs_by_round(records, config).values()
        if peer in runs and "fit" in runs
    ]


def _probe(record):
    """Mean of the machine probe before and after a run (None for old records)."""
    probe = record.get("probe_gflops")
    return sum(probe) / len(probe) if probe else None


def summarize(records, configs, peers):
    """Median samples/s per (config, peer) and ratios to ``fit``."""
    table = {}
    for config in configs:
        for peer in peers:
            runs = [
                r
                for r in records
                if r["config"] == config and r["peer"] == peer and "samples_per_s" in r
            ]
            if not runs:
                continue
            rates = [r["samples_per_s"] for r in runs]
            table[config, peer] = dict(
                probe=[p for r in runs if (p := _probe(r))],
                paired=_paired_ratios(records, config, peer),
                median=statistics.median(rates),
                low=min(rates),
                high=max(rates),
                runs=len(rates),
                peak_rss_mb=statistics.median(r.get("peak_rss_mb", 0.0) for r in runs),
                rss_growth_mb=statistics.median(r.get("rss_growth_mb", 0.0) for r in runs),
                last=runs[-1],
            )
    return table


def _print_floor(records, config):
    """fit against the floor peer (products in sequence plus updates) and the
    floor against the bound, each paired by round."""
    rounds = [
        runs for runs in _runs_by_round(records, config).values() if {"fit", "floor"} <= runs.keys()
    ]
    if not rounds:
        return

    def median(values):
        return statistics.median(list(values))

    def per_step(run):
        return run["seconds"] / run["steps"]

    floor_s = median(per_step(r["floor"]) for r in rounds)
    products_s = median(r["floor"]["products_seconds_per_step"] for r in rounds)
    updates_s = median(r["floor"]["updates_seconds_per_step"] for r in rounds)
    flops_per_step = rounds[0]["floor"]["flops_per_step"]
    shares = [per_step(r["floor"]) / per_step(r["fit"]) for r in rounds]
    windows = [
        r["floor"]["best_window_seconds_per_step"] / r["fit"]["best_window_seconds_per_step"]
        for r in rounds
        if r["fit"].get("best_window_seconds_per_step")
    ]
    print(
        "floor (every product of the step one after another and the optimizers' updates, "
        f"nothing else, one function per step with fit's threading): {floor_s * 1e3:.2f} ms "
        f"per step on average; the products alone {products_s * 1e3:.2f} ms "
        f"({flops_per_step / products_s / 1e9:.0f} GFLOP/s), the updates alone "
        f"{updates_s * 1e3:.2f} ms: together they take {(floor_s - products_s) * 1e3:.2f} ms "
        "more than the products alone (medians over runs). fit's average reaches "
        f"{median(shares):.1%} of the floor's in the same round "
        f"({min(shares):.1%}-{max(shares):.1%})"
        + (f", its best window {median(windows):.1%} of the floor's." if windows else ".")
    )
    bounds = [
        r["bound"]["bound_seconds_per_step"] / per_step(r["floor"]) for r in rounds if "bound" in r
    ]
    if bounds:
        print(
            f"The floor itself reaches {median(bounds):.1%} of the bound of the same round "
            f"({min(bounds):.1%}-{max(bounds):.1%}) on average: a ceiling for a float32 step "
            "with these products and updates on this machine before its element-wise work "
            "(not a strict one: a layer's independent products may also run at once)."
        )


def print_report(table, records, configs, peers, loads, skipped):
    print(f"\nload average (1 min): {loads[0]:.2f} at start, {loads[1]:.2f} at end "
          f"on {os.cpu_count()} cores")  # fmt: skip
    if max(loads) > 0.5 * (os.cpu_count() or 1):
        print("WARNING: the machine was busy; figures are noisy.")
    for reason in sorted(set(skipped)):
        print(f"skipped: {reason}")
    probes = [p for r in records if (p := _probe(r))]
    if probes:
        low, high = min(probes), max(probes)
        print(
            f"machine probe (NumPy {'x'.join(map(str, PROBE_SHAPE))} products, before and "
            f"after each run): median {statistics.median(probes):.0f} GFLOP/s, range "
            f"{low:.0f}-{high:.0f} (per peer in the tables)."
        )
    for config in configs:
        fit = table.get((config, "fit"))
        bound = table.get((config, "bound"))
        print(f"\n### {config}\n")
        if bound:
            b = bound["last"]
            f = b["formula"]
            print(
                f"Matrix products per training step ({b['products_per_step']}): "
                f"FLOPs = 2 m [4 S_G - F_G + 8 S_D - 2 F_D] (k = 1) with m = {f['m']}, "
                f"S_G = {f['S_G']:,}, F_G = {f['F_G']:,}, S_D = {f['S_D']:,}, F_D = {f['F_D']:,}"
                f": {b['flops_per_step'] / 1e9:.3f} GFLOP per step. Machine rate on these "
                f"shapes: {b['effective_gflops']:.0f} GFLOP/s (tf.linalg.matmul "
                f"{b['tf_gflops']:.0f}, NumPy {b['numpy_gflops']:.0f}); bound "
                f"{b['bound_seconds_per_step'] * 1e3:.2f} ms per step."
            )
            if "update_seconds_per_step" in b:
                print(
                    f"The optimizers' updates alone ({b['parameters']:,} parameters, one "
                    f"apply_gradients per network on fixed gradients): "
                    f"{b['update_seconds_per_step'] * 1e3:.2f} ms per step; matrix products "
                    f"plus updates: "
                    f"{(b['bound_seconds_per_step'] + b['update_seconds_per_step']) * 1e3:.2f} "
                    "ms per step."
                )
            print()
        print(
            "| peer | samples/s (median) | range | runs | vs fit | vs fit, same round "
            "(median, range) | probe GFLOP/s (range) | peak RSS MB | RSS growth MB |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for peer in peers:
            row = table.get((config, peer))
            if row is None:
                continue
            ratio = f"{row['median'] / fit['median']:.3f}" if fit else "-"
            growth = f"{row['rss_growth_mb']:.0f}" if peer != "bound" else "-"
            rng = f"{row['low']:.0f}-{row['high']:.0f}"
            paired = row["paired"]
            same_round = (
                f"{statistics.median(paired):.3f} ({min(paired):.3f}-{max(paired):.3f})"
                if paired and peer != "fit"
                else "-"
            )
            probe = row["probe"]
            print(
                f"| {peer} | {row['median']:.0f} | {rng} | {row['runs']} | {ratio} | "
                f"{same_round} | {f'{min(probe):.0f}-{max(probe):.0f}' if probe else '-'} | "
                f"{row['peak_rss_mb']:.0f} | {growth} |"
            )
        if fit and bound:
            b = bound["last"]
            batch = fit["last"]["samples"] / fit["last"]["steps"]
            achieved = fit["median"] / batch * b["flops_per_step"] / 1e9
            print(
                f"\nfit reaches {fit['median'] / bound['median']:.1%} of the matrix-multiply "
                f"bound ({achieved:.0f} GFLOP/s of matrix products)."
            )
            # Each run's best window against the bound of the same round (paired, as
            # the table's same-round ratios), not against the last run's bound.
            windows = [
                (
                    runs["fit"]["best_window_seconds_per_step"],
                    runs["bound"]["bound_seconds_per_step"],
                )
                for runs in _runs_by_round(records, config).values()
                if "bound" in runs and runs.get("fit", {}).get("best_window_seconds_per_step")
            ]
            if windows:
                shares = [bound_s / window for window, bound_s in windows]
                print(
                    f"fit's best {WINDOW_STEPS}-step window: "
                    f"{statistics.median(w for w, _ in windows) * 1e3:.2f} ms per step (median "
                    f"over runs), {statistics.median(shares):.1%} of the bound of the same round "
                    f"({min(shares):.1%}-{max(shares):.1%}); both are best-of statistics (the "
                    "bound takes the best of 5 timings per product)."
                )
            _print_floor(records, config)
            if "update_seconds_per_step" in b:
                with_updates = b["bound_seconds_per_step"] + b["update_seconds_per_step"]
                fit_seconds = batch / fit["median"]
                print(
                    f"fit: {fit_seconds * 1e3:.2f} ms per step, {with_updates / fit_seconds:.1%} "
                    "of the bound with the optimizers' updates added."
                )
        fit_bf16 = table.get((config, "fit_bf16"))
        if fit_bf16 and bound and "bf16_seconds_per_step" in bound["last"]:
            b = bound["last"]
            batch = fit_bf16["last"]["samples"] / fit_bf16["last"]["steps"]
            print(
                f"fit_bf16: {batch / fit_bf16['median'] * 1e3:.2f} ms per step; the same "
                f"products in bfloat16 run at {b['bf16_gflops']:.0f} GFLOP/s "
                f"(tf.linalg.matmul), a bound of {b['bf16_seconds_per_step'] * 1e3:.2f} ms per "
                f"step: fit_bf16 reaches "
                f"{b['bf16_seconds_per_step'] * fit_bf16['median'] / batch:.1%} of it."
            )
        if fit:
            last = fit["last"]
            print(
                f"fit: {last.get('traces')} trace(s) of the training step, "
                f"steps_per_execution={last.get('steps_per_execution')}, "
                f"joint discriminator pass: {last.get('joint_discriminator_pass')}."
            )
        for r in records:
            if r["config"] == config and r["peer"] == "profile" and "top" in r:
                print(
                    f"\nProfile of fit: {r['wall_ms_per_step']:.2f} ms/step wall; op time "
                    f"{r['op_ms_per_step']:.2f} ms/step summed over threads, of which matrix "
                    f"products {r['matmul_ms_per_step']:.2f} ({r['note']}):"
                )
                for name, ms, n in r["top"]:
                    print(f"  {ms:7.3f} ms/step  {n:5.1f} ops/step  {name}")
        for r in records:
            if r["config"] == config and "error" in r:
                print(f"\nERROR {r['peer']}: {r['error']}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated")
    p.add_argument("--peers", default=",".join(PEERS), help="comma-separated")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, help="timed steps per run (default: see above)")
    p.add_argument("--warmup", type=int, default=20, help="untimed steps first (tracing)")
    p.add_argument("--inter-op", type=int, help="TensorFlow inter-op threads (default: TF's)")
    p.add_argument("--intra-op", type=int, help="TensorFlow intra-op threads (default: TF's)")
    p.add_argument(
        "--omp-passive",
        action="store_true",
        help="OMP_WAIT_POLICY=PASSIVE in every run: on a machine shared with other jobs, "
        "PyTorch's spinning OpenMP threads otherwise lose most of their speed",
    )
    p.add_argument("--profile", action="store_true", help="add one profiled fit per config")
    p.add_argument("--profile-steps", type=int, default=40)
    p.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    p.add_argument("--out", help="write all records as JSON")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    configs = [c for c in args.configs.split(",") if c]
    peers = [x for x in args.peers.split(",") if x]
    for c in configs:
        if c not in CONFIGS:
            p.error(f"unknown config {c!r}; allowed: {', '.join(CONFIGS)}")
    for x in peers:
        if x not in PEERS:
            p.error(f"unknown peer {x!r}; allowed: {', '.join(PEERS)}")
    if args.child:
        return child(args.child, configs[0], args)
    if not os.path.isfile(os.path.join(_data_dir(), "mnist", "train-images-idx3-ubyte.gz")):
        p.error("set KERAS_GAN_DATA_DIR to a directory with mnist/train-images-idx3-ubyte.gz")

    skipped = []
    torch_peers = {"torch", "torch_bf16"}
    if torch_peers & set(peers) and not _torch_available():
        skipped.append(TORCH_HINT)
        peers = [x for x in peers if x not in torch_peers]
    tasks = [(c, x) for c in configs for x in peers]
    records = []
    loads = [os.getloadavg()[0]]
    print(f"{len(tasks)} runs per round, {args.repeats} rounds; load {loads[0]:.2f}", flush=True)
    for r in range(args.repeats):
        shift = r % len(tasks)
        for config, peer in tasks[shift:] + tasks[:shift]:
            record = _launch(peer, config, args)
            record["round"] = r
            records.append(record)
            status = (
                f"{record['samples_per_s']:.0f} samples/s"
                if "samples_per_s" in record
                else "FAILED"
            )
            print(f"  round {r + 1} {config} {peer}: {status}", flush=True)
    if args.profile:
        for config in configs:
            records.append(_launch("profile", config, args))
    loads.append(os.getloadavg()[0])
    table = summarize(records, configs, peers)
    if args.omp_passive:
        print("\nruns used OMP_WAIT_POLICY=PASSIVE (--omp-passive)")
    print_report(table, records, configs, peers, loads, skipped)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(
                dict(records=records, load=loads, cpu_count=os.cpu_count(), args=vars(args)),
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
