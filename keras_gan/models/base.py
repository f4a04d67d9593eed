"""The training skeleton shared by every adversarial model in the package.

:class:`AdversarialModel` implements Algorithm 1 of Goodfellow et al. (2014) as
a Keras ``train_step``: ``k`` discriminator (critic) updates, then one generator
update. Variants (GAN, WGAN, WGAN-GP, conditional GANs) override only what
differs, through a handful of hooks:

* :meth:`discriminator_objective` -- the D/critic loss and any extra metrics;
* :meth:`generator_objective` -- the G loss;
* :meth:`score_metrics` -- metrics computed from D's outputs (``d_real``...);
* :meth:`after_discriminator_update` -- e.g. WGAN's weight clipping;
* :meth:`generator_inputs` / :meth:`discriminator_inputs` -- what G and D are
  fed (a conditional model adds the labels);
* :meth:`default_optimizers`, ``default_d_steps`` and ``metric_names``.

How ``fit`` batches are used when ``d_steps = k > 1``
---------------------------------------------------
Each batch the dataset yields is split into ``k`` equal, consecutive
minibatches of ``m = batch // k`` examples; discriminator update ``i`` uses
minibatch ``i`` and its own fresh noise, and the generator update then uses a
fresh noise batch of ``m``. So a dataset batched at ``k * m`` trains with
minibatches of ``m``, exactly as Algorithm 1 with minibatch size ``m`` (the
CLI batches the data this way for you). A remainder of ``batch % k`` examples
is not used. One ``fit`` step is one generator update.

Alternating or simultaneous updates
-----------------------------------
``compile(updates="alternating")`` (the default) is Algorithm 1: the
generator's update sees the discriminator just updated, with fresh noise.
``updates="simultaneous"`` is what the authors' pylearn2 code does (one SGD
step on a cost holding both objectives, ``AdversaryCost2``): one forward pass
of a batch of noise through G and of real and generated data through D, then
D's gradient of its loss and G's gradient of its loss, both taken at the
current parameters and on the same D outputs (dropout masks included), and
both optimizers step. It costs one generator and one discriminator pass less
per step; it needs ``d_steps=1``.

An average of the generator's weights
-------------------------------------
With ``ema_decay=d`` (e.g. ``0.999``), the model keeps a copy of the generator,
:attr:`AdversarialModel.ema_generator`, whose weights follow
``average <- d_t * average + (1 - d_t) * weights`` after every generator update
(inside the compiled step, so several steps per call still work, and on both the
alternating and the simultaneous path), starting from the initial weights. The
decay warms up as TensorFlow's ``tf.train.ExponentialMovingAverage(num_updates=t)``
does: ``d_t = min(d, (1 + t) / (10 + t))`` with ``t`` the generator's update
count (``g_optimizer.iterations``), so the average of a short run is not mostly
the untrained initial generator (without the warm-up, 400 updates at
``d = 0.999`` leave ``0.999**400 = 67%`` of it); ``d_t`` reaches ``d = 0.999``
after about 9,000 updates. ``ema_warmup=False`` uses ``d`` from the first update.
Its non-trainable variables (batch-norm statistics,
a scheduled Gumbel-Softmax temperature) are copied, not averaged. Sampling
(``sample``, ``generate``, ``model(z)``, the callbacks that draw samples,
``export_generator``) then uses the average; training uses and updates
:attr:`AdversarialModel.generator` as before, and ``sample(..., average=False)``
(``generate`` likewise) draws from it. The diversity monitor
(:class:`keras_gan.callbacks.DiversityMonitor`) watches the generator being
trained: the average lags it by about ``1 / (1 - d)`` updates. It is saved with the model and
in checkpoints. Averaging the iterates smooths the
oscillation of the game (Yazici et al. 2019, "The Unusual Effectiveness of
Averaging in GAN Training"): on the paper's MNIST set-up it raised the Parzen
estimate by about 23 nats (BENCHMARKS.md).

One discriminator call on real and generated data
-------------------------------------------------
When the discriminator treats examples independently (no batch
normalization; see :mod:`keras_gan.models.per_example`), a discriminator
update calls it once on ``concat([real, fake])`` and splits the output, instead
of calling it twice: the same outputs (one larger matrix multiply, faster),
except that dropout draws one mask for the joint batch instead of one per half
(a different draw from the same distribution). ``compile(joint_discriminator_pass=
"auto")`` (the default) does this only for such discriminators; ``True`` forces
it (refused for a discriminator with batch-dependent layers) and ``False``
always makes two calls. The generator update calls the discriminator on
generated data only, as before.

Steps per execution
-------------------
``compile(steps_per_execution="auto")`` (the default) runs up to
:data:`AUTO_STEPS_PER_EXECUTION` training steps per call of the compiled
training function, which removes most of the per-step Python and dispatch
overhead of ``fit``. Results are identical to one step per call (the same
steps in the same order); only how often batch-level callbacks run changes, so
``fit`` falls back to one step per call when a callback has batch-level hooks
(``on_train_batch_begin/end``, ``on_batch_begin/end``; Keras' ``TensorBoard``
counts only if it writes per batch or profiles) unless the callback declares
which counts it works with: a method ``supports_steps_per_execution(n) -> bool``
(the package's ``Checkpoint`` accepts counts dividing its ``every_n_steps``, so
it still saves at exactly those steps; ``DivergenceGuard`` accepts any, and then
names the last step of the call in which a loss became non-finite), when the model runs eagerly
and under a ``tf.distribute`` strategy (where TensorFlow cannot run
cross-replica updates such as WGAN's weight clipping inside the loop). With
``steps_per_epoch`` set, the number of steps per call divides it (Keras would
otherwise run past it). ``fit`` with validation data, ``evaluate`` and
``predict`` run one step per call. An int keeps Keras' meaning.

Tracing
-------
The training step is traced once per input signature (``fit`` batches of a
fixed shape: once per model; a smaller last batch adds one trace, and
``MomentumSchedule`` retraces when it changes the momentum).
:attr:`AdversarialModel.train_step_traces` counts the traces.

Distribution
------------
Under a ``tf.distribute`` strategy every replica splits its share of the global
batch the same way, draws its own noise (the replica id is folded into the
seed), and the losses are summed and divided by the *global* minibatch size, so
the all-reduced (summed) gradients are those of the global mean.
"""

from __future__ import annotations

import contextlib
import inspect
import json

import keras
import numpy as np
import tensorflow as tf

from keras_gan.models.per_example import batch_dependent_layers
from keras_gan.noise import check_noise, portable_sample_latent, sample_latent, seed_pair

__all__ = ["AdversarialModel", "AUTO_STEPS_PER_EXECUTION", "UPDATE_ORDERS"]

#: The values of ``compile(updates=...)``.
UPDATE_ORDERS = ("alternating", "simultaneous")
#: Most training steps per call of the training function with
#: ``steps_per_execution="auto"``.
AUTO_STEPS_PER_EXECUTION = 10
_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end")


def _num_replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def _has_batch_hooks(callback):
    """Whether ``callback`` acts per batch."""
    if isinstance(callback, keras.callbacks.TensorBoard):
        # Its batch hooks only count batches unless it writes per batch or profiles.
        return (
            callback.update_freq != "epoch"
            or callback.write_steps_per_second
            or bool(getattr(callback, "_should_trace", False))
        )
    base = keras.callbacks.Callback
    return any(
        getattr(type(callback), hook, None) is not getattr(base, hook) for hook in _BATCH_HOOKS
    )


def _allows_steps_per_execution(callback, n):
    """Whether ``callback`` works with ``n`` training steps per call: it says so
    (``supports_steps_per_execution(n)``), or it has no batch-level hooks."""
    if n == 1:
        return True
    supports = getattr(callback, "supports_steps_per_execution", None)
    if supports is not None:
        return bool(supports(n))
    return not _has_batch_hooks(callback)


def _replica_id():
    ctx = tf.distribute.get_replica_context()
    if ctx is None:
        return tf.constant(0, tf.int32)
    return tf.cast(ctx.replica_id_in_sync_group, tf.int32)


def _at_least_float32(x):
    """Samples of a generator under a ``mixed_bfloat16`` policy, as float32."""
    return tf.cast(x, tf.float32) if x.dtype.is_floating and x.dtype.size < 4 else x


def _check_compute_dtype(what, net):
    """float16 layers would need loss scaling, which the adversarial step does not do."""
    half = [
        layer.name
        for layer in net._flatten_layers(include_self=False)
        if layer.compute_dtype == "float16"
    ]
    if half:
        raise ValueError(
            f"The {what} computes in float16 (layers {half[:3]}); float16 gradients need "
            "loss scaling, which this model's step does not do. Build it under the "
            "'float32' or 'mixed_bfloat16' dtype policy (keras_gan.training.dtype_policy)."
        )


def _check_ema_decay(decay):
    if decay is None:
        return None
    if isinstance(decay, bool) or not isinstance(decay, (int, float, np.floating)):
        raise ValueError(f"ema_decay must be a float in (0, 1) or None; got {decay!r}.")
    if not 0.0 < float(decay) < 1.0:
        raise ValueError(f"ema_decay must be in (0, 1) (e.g. 0.999) or None; got {decay!r}.")
    return float(decay)


def _averaged_copy(generator):
    """A copy of ``generator`` (same architecture, same weights) to hold the average."""
    try:
        copy = keras.models.clone_model(generator)
    except Exception as e:  # e.g. a subclassed generator Keras cannot clone
        raise ValueError(
            f"ema_decay needs a generator keras.models.clone_model can copy "
            f"(a functional or Sequential model); cloning {generator.name!r} failed: {e}"
        ) from None
    copy.set_weights(generator.get_weights())
    copy.trainable = False
    return copy


def _check_vocabulary(vocabulary, generator):
    """``vocabulary`` as a list of distinct strings, one per token of the generator's
    ``[length, vocab]`` output (``None`` passes)."""
    if vocabulary is None:
        return None
    if isinstance(vocabulary, str):
        vocabulary = list(vocabulary)
    tokens = list(vocabulary)
    if not tokens or not all(isinstance(t, str) for t in tokens):
        raise ValueError(f"vocabulary must be a non-empty list of strings; got {vocabulary!r}.")
    if len(set(tokens)) != len(tokens):
        raise ValueError("vocabulary must not list a token twice.")
    try:
        shape = tuple(generator.output_shape)
    except (AttributeError, ValueError):
        return tokens
    if len(shape) != 3 or shape[-1] != len(tokens):
        raise ValueError(
            f"A vocabulary of {len(tokens)} tokens needs a generator of sequences "
            f"[length, {len(tokens)}]; the generator's output shape is {shape[1:]}."
        )
    return tokens


class AdversarialModel(keras.Model):
    """Base class: a generator and a discriminator (critic) trained by ``fit``.

    Args:
        generator: Keras model mapping ``z`` of shape ``[batch, latent_dim]``
            to data.
        discriminator: Keras model mapping data to one logit (or critic score)
            per example, shape ``[batch, 1]`` or ``[batch]``.
        latent_dim: size of ``z``.
        noise: the prior ``p_z``: ``"normal"`` or ``"uniform"`` (see
            :mod:`keras_gan.noise`).
        seed: seed of the training noise (``None`` for a random one).
        vocabulary: for a generator of discrete sequences ``[length, vocab]``,
            the token of each index of the last axis (``None`` otherwise). It is
            saved with the model; :func:`keras_gan.export.export_generator`
            then adds token ids to the ``sample`` signature and the vocabulary
            to the metadata.
        ema_decay: keep an exponential moving average of the generator's
            weights with this decay (e.g. ``0.999``), updated after every
            generator update, and sample from it (``None``: off). See the
            module docstring.
        ema_warmup: warm the decay up as ``min(ema_decay, (1 + t) / (10 + t))``
            after ``t`` generator updates (default), or use ``ema_decay`` from
            the first update (``False``).
    """

    #: Names of the metrics ``fit`` reports, in order.
    metric_names = ("d_loss", "g_loss")
    #: Discriminator updates per generator update when ``compile`` is not told.
    default_d_steps = 1

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        noise="normal",
        seed=None,
        vocabulary=None,
        ema_decay=None,
        ema_warmup=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for what, net in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(net, keras.Model):
                raise TypeError(f"`{what}` must be a keras.Model; got {type(net).__name__}.")
            _check_compute_dtype(what, net)
        latent_dim = int(latent_dim)
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive int; got {latent_dim}.")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.noise = check_noise(noise)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        self.vocabulary = _check_vocabulary(vocabulary, generator)
        self.ema_decay = _check_ema_decay(ema_decay)
        if not isinstance(ema_warmup, bool):
            raise ValueError(f"ema_warmup must be True or False; got {ema_warmup!r}.")
        self.ema_warmup = ema_warmup
        self.ema_generator = None if self.ema_decay is None else _averaged_copy(generator)
        self._trackers = {name: keras.metrics.Mean(name=name) for name in self.metric_names}
        self.d_optimizer = None
        self.g_optimizer = None
        self.d_steps = self.default_d_steps
        self.joint_discriminator_pass = False
        self.updates = "alternating"
        self._sample_fns = {}
        self._train_step_traces = 0
        self.built = True

    @property
    def training_data(self):
        """What the model was trained on, as ``keras-gan train`` records it
        (``{dataset, split, source, location, num_examples}``), or ``None``; saved
        with the model."""
        text = getattr(self, "_training_data_json", None)
        return None if text is None else json.loads(text)

    @training_data.setter
    def training_data(self, value):
        # kept as JSON text: Keras would wrap a dict attribute in a tracked structure
        self._training_data_json = None if value is None else json.dumps(value)

    @property
    def train_step_traces(self):
        """How many times ``train_step`` has been traced into a graph (a Python
        counter that only tracing increments; eager steps do not count)."""
        return self._train_step_traces

    @property
    def sampling_generator(self):
        """The generator that :meth:`sample`, :meth:`generate`, ``model(z)`` and
        :func:`keras_gan.export.export_generator` use: the weight average when
        ``ema_decay`` is set, else :attr:`generator`."""
        return self.generator if self.ema_generator is None else self.ema_generator

    def ema_decay_at(self, updates):
        """The decay the weight average uses after ``updates`` generator updates
        (``min(ema_decay, (1 + t) / (10 + t))`` with the warm-up; a float or tensor)."""
        if not self.ema_warmup:
            return self.ema_decay
        t = tf.cast(updates, tf.float32)
        return tf.minimum(tf.constant(self.ema_decay, tf.float32), (1.0 + t) / (10.0 + t))

    def after_generator_update(self):
        """Called after every generator update, on every step path (alternating
        and simultaneous): updates the weight average of ``ema_decay``."""
        if self.ema_generator is not None:
            self._update_ema()

    def _update_ema(self):
        """``average <- decay * average + (1 - decay) * weights`` for the generator's
        trainable weights (``decay`` from :meth:`ema_decay_at`); its other variables
        (batch-norm statistics, a Gumbel-Softmax temperature set by a schedule, random
        seed states) are copied."""
        decay = self.ema_decay_at(self.g_optimizer.iterations)
        pairs = list(zip(self.ema_generator.weights, self.generator.weights))

        def update(*_):
            for average, weight in pairs:
                if weight.trainable:
                    d = tf.cast(decay, average.dtype)
                    average.assign(d * average + (1.0 - d) * weight)
                else:
                    average.assign(weight)

        context = tf.distribute.get_replica_context()
        if context is None or _num_replicas() == 1:
            update()
        else:  # the generator's weights agree across replicas after the update
            context.merge_call(update)

    # ------------------------------------------------------------------ hooks
    def default_optimizers(self):
        """Fresh ``(d_optimizer, g_optimizer)`` used when ``compile`` gets none."""
        return (
            keras.optimizers.Adam(2e-4, beta_1=0.5),
            keras.optimizers.Adam(2e-4, beta_1=0.5),
        )

    def discriminator_objective(self, real, fake, real_out, fake_out, conditions, batch):
        """Return ``(loss, extra_metrics)`` for one discriminator update.

        ``real_out``/``fake_out`` are D's outputs on ``real``/``fake``; ``batch`` is
        the global minibatch size to divide summed per-example losses by.
        """
        raise NotImplementedError

    def generator_objective(self, fake_out, batch):
        """Return the generator loss given D's outputs on generated data."""
        raise NotImplementedError

    def score_metrics(self, real_out, fake_out):
        """Metrics computed from D's outputs during a discriminator update."""
        return {}

    def after_discriminator_update(self):
        """Called after every discriminator update (e.g. to clip weights)."""

    def unpack(self, data):
        """Split a dataset element into ``(x, conditions)``; labels are ignored here."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return x, None

    def generator_inputs(self, z, conditions):
        return z

    def discriminator_inputs(self, x, conditions):
        return x

    # --------------------------------------------------------------- compile
    def compile(
        self,
        d_optimizer=None,
        g_optimizer=None,
        d_steps=None,
        jit_compile="auto",
        run_eagerly=False,
        steps_per_execution="auto",
        joint_discriminator_pass="auto",
        updates="alternating",
        **options,
    ):
        """Configure training.

        Args:
            d_optimizer: optimizer of the discriminator (instance, name or
                config; default per model, see :meth:`default_optimizers`).
            g_optimizer: optimizer of the generator (must not be the same
                object as ``d_optimizer``).
            d_steps: ``k``, discriminator updates per generator update.
            jit_compile: compile the training step with XLA (``"auto"``
                follows Keras: off on CPU-only machines).
            run_eagerly: as in ``keras.Model.compile``.
            steps_per_execution: training steps per call of the compiled
                training function: ``"auto"`` (see the module docstring) or
                an int (as in ``keras.Model.compile``).
            joint_discriminator_pass: call the discriminator once on real and
                generated data concatenated (``"auto"``: when it treats
                examples independently; see the module docstring).
            updates: ``"alternating"`` (Algorithm 1: D's update, then G's
                against the updated D) or ``"simultaneous"`` (one gradient step
                of both players from one forward pass; needs ``d_steps=1``; see
                the module docstring).
            **options: model-specific options (see the subclass).
        """
        d_default, g_default = self.default_optimizers()
        d_optimizer = keras.optimizers.get(d_optimizer) if d_optimizer is not None else d_default
        g_optimizer = keras.optimizers.get(g_optimizer) if g_optimizer is not None else g_default
        if d_optimizer is g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer must be two different optimizer objects "
                "(each keeps its own state); pass two instances."
            )
        d_steps = self.default_d_steps if d_steps is None else d_steps
        if isinstance(d_steps, bool) or not isinstance(d_steps, (int, np.integer)) or d_steps < 1:
            raise ValueError(f"d_steps must be an int >= 1; got {d_steps!r}.")
        joint = self._resolve_joint_pass(joint_discriminator_pass)
        if updates not in UPDATE_ORDERS:
            raise ValueError(f"updates must be one of {list(UPDATE_ORDERS)}; got {updates!r}.")
        if updates == "simultaneous" and d_steps != 1:
            raise ValueError(
                f"updates='simultaneous' takes one step of each player per batch, so d_steps "
                f"must be 1; got d_steps={d_steps}. Use updates='alternating' for k > 1."
            )
        auto_steps = isinstance(steps_per_execution, str) and steps_per_execution == "auto"
        if not auto_steps and (
            isinstance(steps_per_execution, bool)
            or not isinstance(steps_per_execution, (int, np.integer))
            or steps_per_execution < 1
        ):
            raise ValueError(
                f"steps_per_execution must be 'auto' or an int >= 1; got {steps_per_execution!r}."
            )
        self.configure(**options)
        super().compile(
            optimizer=None,
            jit_compile=jit_compile,
            run_eagerly=run_eagerly,
            steps_per_execution=1 if auto_steps else int(steps_per_execution),
        )
        self._auto_steps_per_execution = auto_steps
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_steps = int(d_steps)
        self.joint_discriminator_pass = joint
        self.updates = updates
        # Create the optimizers' slot variables now, under the model's
        # distribution strategy, rather than lazily inside the traced step.
        with self.distribute_strategy.scope():
            for optimizer, net in (
                (d_optimizer, self.discriminator),
                (g_optimizer, self.generator),
            ):
                if not optimizer.built:
                    optimizer.build(net.trainable_variables)
        self._adversarial_compile_config = dict(
            d_steps=self.d_steps,
            jit_compile=jit_compile,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            joint_discriminator_pass=joint_discriminator_pass,
            updates=updates,
            **options,
        )

    def _resolve_joint_pass(self, value):
        if isinstance(value, str) and value == "auto":
            return not batch_dependent_layers(self.discriminator)
        if not isinstance(value, bool):
            raise ValueError(
                f"joint_discriminator_pass must be True, False or 'auto'; got {value!r}."
            )
        if value:
            found = batch_dependent_layers(self.discriminator)
            if found:
                raise ValueError(
                    "joint_discriminator_pass=True needs a discriminator that treats examples "
                    "independently (a joint call on real and generated data would change its "
                    f"outputs); these layers are not known to: {found}. Use False or 'auto'."
                )
        return value

    def configure(self, **options):
        """Accept model-specific ``compile`` options (none in the base class)."""
        if options:
            raise TypeError(
                f"{type(self).__name__}.compile() got unexpected argument(s) {sorted(options)}."
            )

    def get_compile_config(self):
        if not self.compiled or self.d_optimizer is None:
            return {}
        return dict(
            d_optimizer=keras.optimizers.serialize(self.d_optimizer),
            g_optimizer=keras.optimizers.serialize(self.g_optimizer),
            **self._adversarial_compile_config,
        )

    def compile_from_config(self, config):
        config = dict(config)
        d_optimizer = keras.optimizers.deserialize(config.pop("d_optimizer"))
        g_optimizer = keras.optimizers.deserialize(config.pop("g_optimizer"))
        self.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer, **config)

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            latent_dim=self.latent_dim,
            noise=self.noise,
            seed=self.seed,
        )
        if self.vocabulary is not None:
            config["vocabulary"] = list(self.vocabulary)
        if self.ema_decay is not None:
            config["ema_decay"] = self.ema_decay
            config["ema_warmup"] = self.ema_warmup
        if self.training_data is not None:
            config["training_data"] = self.training_data
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("generator", "discriminator", "critic"):  # WGANs name D "critic"
            if key in config:
                config[key] = keras.saving.deserialize_keras_object(
                    config[key], custom_objects=custom_objects
                )
        data = config.pop("training_data", None)
        model = cls(**config)
        model.training_data = data
        return model

    # --------------------------------------------------------------- metrics
    @property
    def metrics(self):
        return list(self._trackers.values())

    def _update_metrics(self, values):
        for name, value in values.items():
            self._trackers[name].update_state(value)

    def _metric_results(self):
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    # ------------------------------------------------------------ the step
    def call(self, inputs, training=False):
        """``model(z)`` is ``generator(z)`` (the average with ``ema_decay``, unless training)."""
        generator = self.generator if training else self.sampling_generator
        return generator(inputs, training=training)

    def next_seed(self):
        """A fresh ``[2]`` int32 seed for a stateless random op, distinct per replica.

        Use it for any randomness of a training step (noise, interpolation
        weights...), so that runs are reproducible from ``seed`` and replicas
        draw independent values.
        """
        seed = tf.cast(tf.math.floormod(self.seed_generator.next(), 2**31 - 1), tf.int32)
        return seed + tf.stack([tf.constant(0, tf.int32), _replica_id()])

    def draw_noise(self, num_samples):
        """Fresh training noise ``[num_samples, latent_dim]`` (stateful, per replica;
        the same values with and without XLA, see :mod:`keras_gan.noise`)."""
        shape = tf.stack([tf.cast(num_samples, tf.int32), tf.constant(self.latent_dim, tf.int32)])
        return portable_sample_latent(shape, self.next_seed(), self.noise)

    def _discriminator_update(self, real, conditions, global_batch):
        z = self.draw_noise(tf.shape(real)[0])
        fake = self.generator(self.generator_inputs(z, conditions), training=True)
        d_vars = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_out, fake_out = self._discriminate(real, fake, conditions)
            loss, extra = self.discriminator_objective(
                real, fake, real_out, fake_out, conditions, global_batch
            )
        if d_vars:
            self.d_optimizer.apply_gradients(zip(tape.gradient(loss, d_vars), d_vars))
        self.after_discriminator_update()
        values = {"d_loss": loss * _num_replicas()}
        values.update(extra)
        values.update(self.score_metrics(real_out, fake_out))
        return values

    def _discriminate(self, real, fake, conditions):
        """D's training-mode outputs on ``real`` and on ``fake``."""
        real_in = self.discriminator_inputs(real, conditions)
        fake_in = self.discriminator_inputs(fake, conditions)
        if not self.joint_discriminator_pass:
            return (
                self.discriminator(real_in, training=True),
                self.discriminator(fake_in, training=True),
            )

        def join(a, b):
            b = tf.convert_to_tensor(b)
            a = tf.cast(a, b.dtype)  # e.g. integer images: D casts its input anyway
            return tf.concat([a, b], axis=0)

        n = tf.shape(real)[0]
        out = self.discriminator(tf.nest.map_structure(join, real_in, fake_in), training=True)
        return out[:n], out[n:]

    def _generator_update(self, num_samples, conditions, global_batch):
        z = self.draw_noise(num_samples)
        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake = self.generator(self.generator_inputs(z, conditions), training=True)
            fake_out = self.discriminator(
                self.discriminator_inputs(fake, conditions), training=True
            )
            loss = self.generator_objective(fake_out, global_batch)
        if g_vars:  # a fixed (non-trainable) generator is allowed, e.g. to study D
            self.g_optimizer.apply_gradients(zip(tape.gradient(loss, g_vars), g_vars))
        return {"g_loss": loss * _num_replicas()}

    def _simultaneous_update(self, real, conditions, global_batch):
        """One step of both players from one forward pass (``updates="simultaneous"``):
        both gradients are taken at the current parameters, on the same generated
        batch and the same discriminator outputs (dropout masks included)."""
        z = self.draw_noise(tf.shape(real)[0])
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        with tf.GradientTape(persistent=True) as tape:
            fake = self.generator(self.generator_inputs(z, conditions), training=True)
            real_out, fake_out = self._discriminate(real, fake, conditions)
            d_loss, extra = self.discriminator_objective(
                real, fake, real_out, fake_out, conditions, global_batch
            )
            g_loss = self.generator_objective(fake_out, global_batch)
        d_grads = tape.gradient(d_loss, d_vars) if d_vars else []
        g_grads = tape.gradient(g_loss, g_vars) if g_vars else []
        del tape
        if d_vars:
            self.d_optimizer.apply_gradients(zip(d_grads, d_vars))
        if g_vars:
            self.g_optimizer.apply_gradients(zip(g_grads, g_vars))
        self.after_discriminator_update()
        self.after_generator_update()
        values = {"d_loss": d_loss * _num_replicas(), "g_loss": g_loss * _num_replicas()}
        values.update(extra)
        values.update(self.score_metrics(real_out, fake_out))
        return values

    def _minibatches(self, data):
        """Split one ``fit`` batch into ``d_steps`` minibatches (see module doc)."""
        x, conditions = self.unpack(data)
        k = self.d_steps
        m = tf.shape(x)[0] // k
        for i in range(k):
            part = slice(i * m, (i + 1) * m)
            yield x[part], None if conditions is None else conditions[part], m

    def train_step(self, data):
        if not tf.executing_eagerly():  # runs once per trace, never in the graph
            self._train_step_traces += 1
        if self.updates == "simultaneous":
            ((real, conditions, m),) = self._minibatches(data)
            self._update_metrics(self._simultaneous_update(real, conditions, m * _num_replicas()))
            return self._metric_results()
        values = []
        for real, conditions, m in self._minibatches(data):
            global_batch = m * _num_replicas()
            values.append(self._discriminator_update(real, conditions, global_batch))
        # The generator update uses the last minibatch's conditions (labels),
        # so a conditional model generates for the data's label distribution.
        g_values = self._generator_update(m, conditions, global_batch)
        self.after_generator_update()
        averaged = {name: tf.add_n([v[name] for v in values]) / len(values) for name in values[0]}
        averaged.update(g_values)
        self._update_metrics(averaged)
        return self._metric_results()

    def test_step(self, data):
        """Evaluate the game's losses on held-out data without any update."""
        x, conditions = self.unpack(data)
        n = tf.shape(x)[0]
        global_batch = n * _num_replicas()
        z = self.draw_noise(n)
        fake = self.generator(self.generator_inputs(z, conditions), training=False)
        real_out = self.discriminator(self.discriminator_inputs(x, conditions), training=False)
        fake_out = self.discriminator(self.discriminator_inputs(fake, conditions), training=False)
        d_loss, extra = self.discriminator_objective(
            x, fake, real_out, fake_out, conditions, global_batch
        )
        values = {
            "d_loss": d_loss * _num_replicas(),
            "g_loss": self.generator_objective(fake_out, global_batch) * _num_replicas(),
        }
        values.update(extra)
        values.update(self.score_metrics(real_out, fake_out))
        self._update_metrics(values)
        return self._metric_results()

    # ------------------------------------------------------------- sampling
    def _generate_batch(self, z, conditions=None, average=True):
        generator = self.sampling_generator if average else self.generator
        fn = self._sample_fns.get(id(generator))
        if fn is None:
            fn = self._sample_fns[id(generator)] = tf.function(
                lambda z, c: _at_least_float32(
                    generator(self.generator_inputs(z, c), training=False)
                ),
                reduce_retracing=True,
            )
        return fn(z, conditions)

    def generate(self, z, conditions=None, batch_size=1024, average=True):
        """Run the generator on given latent vectors; returns a NumPy array.

        ``average=False`` runs :attr:`generator`, the one being trained, instead
        of the weight average of ``ema_decay`` (without it the two are the same).
        """
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape [n, {self.latent_dim}]; got {list(z.shape)}.")
        if not np.isfinite(z).all():
            raise ValueError("z contains NaN or Inf values.")
        out = []
        for start in range(0, len(z), batch_size):
            c = None if conditions is None else conditions[start : start + batch_size]
            batch = self._generate_batch(z[start : start + batch_size], c, average=average)
            out.append(np.asarray(batch))
        if not out:
            return np.zeros((0,) + tuple(self.generator.output_shape[1:]), np.float32)
        return np.concatenate(out)

    def sample_latent(self, num_samples, seed=None):
        """Latent vectors from the prior: deterministic for a given ``seed``.

        Uses the same stateless generator as the exported ``sample`` signature,
        so ``model.sample(n, seed=s)`` equals what a server returns for ``s``.
        """
        num_samples = int(num_samples)
        if num_samples < 0:
            raise ValueError(f"num_samples must be >= 0; got {num_samples}.")
        if seed is None:
            seed = int(np.random.default_rng().integers(0, 2**63 - 1))
        shape = tf.constant([num_samples, self.latent_dim], tf.int32)
        return sample_latent(shape, seed_pair(seed), self.noise).numpy()

    def sample(self, num_samples, seed=None, batch_size=1024, average=True):
        """Generate ``num_samples`` examples; the same ``seed`` gives the same ones.

        ``average=False`` samples :attr:`generator`, the one being trained,
        instead of the weight average of ``ema_decay`` (see :meth:`generate`).

        Example:

        ```python
        images = gan.sample(64, seed=0)   # NumPy array [64, 28, 28, 1]
        ```
        """
        z = self.sample_latent(num_samples, seed)
        return self.generate(z, batch_size=batch_size, average=average)

    # ------------------------------------------------------- input checking
    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit`` after checking the training data against the model.

        Checked before any training: the data's example shape equals the
        generator's output shape, the batch holds at least ``d_steps``
        examples, and the data is finite (all of an array; the first batch of
        a ``tf.data.Dataset``).
        """
        self.check_training_data(x, y)
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)  # a Dataset shuffles itself
        if getattr(self, "_auto_steps_per_execution", False):
            params = inspect.signature(keras.Model.fit).bind(self, x, y, *args, **kwargs)
            arguments = params.arguments
            self._set_steps_per_execution(
                1
                if arguments.get("validation_data") is not None or arguments.get("validation_split")
                else self.choose_steps_per_execution(
                    arguments.get("callbacks"), arguments.get("steps_per_epoch")
                )
            )
        return super().fit(x, y, *args, **kwargs)

    def choose_steps_per_execution(self, callbacks=None, steps_per_epoch=None):
        """The steps per call ``steps_per_execution="auto"`` uses for a ``fit``
        with these ``callbacks`` and ``steps_per_epoch`` (see the module docstring)."""
        if isinstance(callbacks, keras.callbacks.CallbackList):
            callbacks = callbacks.callbacks
        if (
            self.run_eagerly
            or self._distribute_strategy is not None  # built under a tf.distribute strategy
            or tf.distribute.has_strategy()
        ):
            return 1
        limit = AUTO_STEPS_PER_EXECUTION
        if steps_per_epoch:
            limit = min(limit, int(steps_per_epoch))
        return max(
            n
            for n in range(1, limit + 1)
            # a divisor, so that an epoch runs exactly steps_per_epoch steps
            if not (steps_per_epoch and steps_per_epoch % n)
            and all(_allows_steps_per_execution(cb, n) for cb in callbacks or ())
        )

    def _set_steps_per_execution(self, n):
        if self.steps_per_execution != n:
            self.steps_per_execution = n
            self.train_function = None  # rebuilt (and retraced) by fit

    @contextlib.contextmanager
    def _one_step_per_execution(self):
        """Evaluation and prediction run one step per call under ``"auto"``
        (their speed matters little, and Keras would run past ``steps``)."""
        if not getattr(self, "_auto_steps_per_execution", False):
            yield
            return
        saved, self.steps_per_execution = self.steps_per_execution, 1
        try:
            yield
        finally:
            self.steps_per_execution = saved

    def evaluate(self, *args, **kwargs):
        with self._one_step_per_execution():
            return super().evaluate(*args, **kwargs)

    def predict(self, *args, **kwargs):
        with self._one_step_per_execution():
            return super().predict(*args, **kwargs)

    def check_training_data(self, x, y=None):
        """Raise a ``ValueError`` naming the problem if ``x`` (and the targets ``y``
        given to ``fit``, e.g. a conditional model's labels) cannot train this model."""
        from keras_gan.data.checks import check_training_data

        check_training_data(x, self)
