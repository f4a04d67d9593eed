"""An exponential moving average of the generator's weights.

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
Its non-trainable variables (batch-norm statistics, a scheduled Gumbel-Softmax
temperature) are copied, not averaged. Sampling (``sample``, ``generate``,
``model(z)``, the callbacks that draw samples, ``export_generator``) then uses the
average; training uses and updates :attr:`AdversarialModel.generator` as before,
and ``sample(..., average=False)`` (``generate`` likewise) draws from it. The
diversity monitor (:class:`keras_gan.callbacks.DiversityMonitor`) watches the
generator being trained: the average lags it by about ``1 / (1 - d)`` updates. It
is saved with the model and in checkpoints. Averaging the iterates smooths the
oscillation of the game (Yazici et al. 2019, "The Unusual Effectiveness of
Averaging in GAN Training"): on the paper's MNIST set-up it raised the Parzen
estimate by about 23 nats (BENCHMARKS.md).

Example:

```python
gan = models.GAN(generator, discriminator, latent_dim=100, ema_decay=0.999)
gan.sample(16, seed=0)                 # from the average
gan.sample(16, seed=0, average=False)  # from the generator being trained
```
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

__all__ = ["WeightAverage", "check_ema_decay", "averaged_copy"]


def check_ema_decay(decay):
    """``decay`` as a float in (0, 1), or ``None``."""
    if decay is None:
        return None
    if isinstance(decay, bool) or not isinstance(decay, (int, float, np.floating)):
        raise ValueError(f"ema_decay must be a float in (0, 1) or None; got {decay!r}.")
    if not 0.0 < float(decay) < 1.0:
        raise ValueError(f"ema_decay must be in (0, 1) (e.g. 0.999) or None; got {decay!r}.")
    return float(decay)


def averaged_copy(generator):
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


class WeightAverage:
    """Mixin of :class:`~keras_gan.models.AdversarialModel`: the average's decay,
    its update and the generator sampling uses (see the module docstring)."""

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
        if context is None or tf.distribute.get_strategy().num_replicas_in_sync == 1:
            update()
        else:  # the generator's weights agree across replicas after the update
            context.merge_call(update)
