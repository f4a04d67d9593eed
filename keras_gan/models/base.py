"""The training skeleton shared by every adversarial model in the package.

:class:`AdversarialModel` implements Algorithm 1 of Goodfellow et al. (2014) as
a Keras ``train_step``: ``k`` discriminator (critic) updates, then one generator
update. Variants (GAN, WGAN, WGAN-GP, conditional GANs) override only what
differs, through a handful of hooks:

* :meth:`discriminator_objective` -- the D/critic loss and any extra metrics;
* :meth:`generator_objective` -- the G loss;
* :meth:`score_metrics` -- metrics computed from D's outputs (``d_real``...);
* :meth:`after_discriminator_update` -- e.g. WGAN's weight clipping;
* :meth:`after_generator_update` -- the one hook after the generator update
  (it updates the weight average);
* :meth:`augment_for_discriminator` -- what D sees of real and generated data
  (DiffAugment in :class:`~keras_gan.models.GAN`);
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
``ema_decay=d`` keeps an exponential moving average of the generator's weights,
updated by the hook after each generator update; sampling uses it
(:mod:`keras_gan.models.ema`).

One discriminator call on real and generated data
-------------------------------------------------
``compile(joint_discriminator_pass="auto")`` calls a discriminator that treats
examples independently once on ``concat([real, fake])`` (the same outputs, one
larger matrix multiply; dropout draws one mask for the joint batch); ``True``
forces it, ``False`` always makes two calls (:mod:`keras_gan.models.per_example`).

Steps per execution
-------------------
``compile(steps_per_execution="auto")`` (the default) runs up to 10 training
steps per call of the compiled function when the callbacks allow it
(:mod:`keras_gan.models.execution`).

Tracing and distribution
------------------------
The step is traced once per input signature (:attr:`AdversarialModel.train_step_traces`
counts the traces). Under a ``tf.distribute`` strategy every replica splits its
share of the batch the same way, draws its own noise (the replica id is folded
into the seed), and losses are divided by the *global* minibatch size, so the
all-reduced gradients are those of the global mean.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_gan.models.compiling import UPDATE_ORDERS, AdversarialCompile, check_compute_dtype
from keras_gan.models.ema import WeightAverage, averaged_copy, check_ema_decay
from keras_gan.models.execution import AUTO_STEPS_PER_EXECUTION, ExecutionPolicy
from keras_gan.models.sampling import Sampling, check_vocabulary
from keras_gan.noise import check_noise, portable_sample_latent

__all__ = ["AdversarialModel", "AUTO_STEPS_PER_EXECUTION", "UPDATE_ORDERS"]


def _num_replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def _replica_id():
    ctx = tf.distribute.get_replica_context()
    if ctx is None:
        return tf.constant(0, tf.int32)
    return tf.cast(ctx.replica_id_in_sync_group, tf.int32)


class AdversarialModel(AdversarialCompile, Sampling, WeightAverage, ExecutionPolicy, keras.Model):
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
            check_compute_dtype(what, net)
        latent_dim = int(latent_dim)
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive int; got {latent_dim}.")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.noise = check_noise(noise)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        self.vocabulary = check_vocabulary(vocabulary, generator)
        self.ema_decay = check_ema_decay(ema_decay)
        if not isinstance(ema_warmup, bool):
            raise ValueError(f"ema_warmup must be True or False; got {ema_warmup!r}.")
        self.ema_warmup = ema_warmup
        self.ema_generator = None if self.ema_decay is None else averaged_copy(generator)
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
    def train_step_traces(self):
        """How many times ``train_step`` has been traced into a graph (a Python
        counter that only tracing increments; eager steps do not count)."""
        return self._train_step_traces

    def after_generator_update(self):
        """Called after every generator update, on every step path (alternating
        and simultaneous): updates the weight average of ``ema_decay``."""
        if self.ema_generator is not None:
            self._update_ema()

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

    def generator_objective(self, fake_out, batch, real_out=None):
        """Return the generator loss given D's outputs on generated data (and on
        the step's real minibatch when :attr:`generator_needs_real`)."""
        raise NotImplementedError

    #: Whether :meth:`generator_objective` reads D's outputs on real data (a
    #: relativistic loss): the generator update then also runs D on real data.
    generator_needs_real = False

    def adversarial_output(self, out):
        """The part of D's output the adversarial loss and the regularizers read
        (all of it here; the logit of an auxiliary-classifier D)."""
        return out

    def augment_for_discriminator(self, x):
        """What D sees of a batch of real or generated data (identity here;
        DiffAugment with :class:`~keras_gan.models.GAN`'s ``augment``)."""
        return x

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
        real = self.augment_for_discriminator(real)
        fake = self.augment_for_discriminator(fake)
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
        return tf.nest.map_structure(lambda o: o[:n], out), tf.nest.map_structure(
            lambda o: o[n:], out
        )

    def _generator_loss(self, fake_out, global_batch, real_out, conditions=None):
        if self.generator_needs_real:
            return self.generator_objective(fake_out, global_batch, real_out=real_out)
        return self.generator_objective(fake_out, global_batch)

    def _generator_update(self, num_samples, conditions, global_batch, real):
        z = self.draw_noise(num_samples)
        g_vars = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake = self.generator(self.generator_inputs(z, conditions), training=True)
            fake = self.augment_for_discriminator(fake)  # differentiable: G learns through it
            fake_out = self.discriminator(
                self.discriminator_inputs(fake, conditions), training=True
            )
            real_out = None
            if self.generator_needs_real:
                real_in = self.discriminator_inputs(
                    self.augment_for_discriminator(real), conditions
                )
                real_out = self.discriminator(real_in, training=True)
            loss = self._generator_loss(fake_out, global_batch, real_out, conditions)
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
        real = self.augment_for_discriminator(real)
        with tf.GradientTape(persistent=True) as tape:
            fake = self.generator(self.generator_inputs(z, conditions), training=True)
            fake = self.augment_for_discriminator(fake)
            real_out, fake_out = self._discriminate(real, fake, conditions)
            d_loss, extra = self.discriminator_objective(
                real, fake, real_out, fake_out, conditions, global_batch
            )
            g_loss = self._generator_loss(fake_out, global_batch, real_out, conditions)
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
        g_values = self._generator_update(m, conditions, global_batch, real)
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
            "g_loss": self._generator_loss(fake_out, global_batch, real_out, conditions)
            * _num_replicas(),
        }
        values.update(extra)
        values.update(self.score_metrics(real_out, fake_out))
        self._update_metrics(values)
        return self._metric_results()
