"""Warn when the generator's samples lose their diversity (mode collapse).

:class:`DiversityMonitor` draws a fixed batch of samples (the same noise each
time) every ``every`` epochs and computes their mean pairwise Euclidean
distance relative to that of a fixed batch of real data
(:func:`keras_gan.metrics.diversity.relative_diversity`): about 1 when the
samples spread like the data, 0 when every sample is the same. The samples
come from the generator being trained (``model.sample(..., average=False)``),
also when the model samples from a weight average (``ema_decay``): the average
lags the training by about ``1 / (1 - ema_decay)`` updates and starts from the
initial weights, so in the first epochs its samples are nearly all alike
(a false alarm), and a collapse shows in the trained generator first. It writes the
TensorBoard scalars ``diversity/relative`` and ``diversity/samples`` (to
``logdir/train``, beside ``keras.callbacks.TensorBoard``'s), and when the
relative diversity drops below ``threshold`` it logs a warning and issues a
:class:`ModeCollapseWarning` (a Python warning). It never stops training: a
GAN may recover.

Example:

```python
from keras_gan.callbacks import DiversityMonitor

monitor = DiversityMonitor(x_train[:256], logdir="runs/mnist", threshold=0.1)
gan.fit(ds, epochs=10, callbacks=[monitor])
monitor.history   # [(epoch, relative diversity), ...]
```
"""

from __future__ import annotations

import logging
import os
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_gan.metrics.diversity import mean_pairwise_distance

logger = logging.getLogger("keras_gan.training")


class ModeCollapseWarning(UserWarning):
    """The generator's samples are much less diverse than the data."""


def _real_batch(real, num_samples):
    """The first ``num_samples`` examples of an array or a (batched) dataset."""
    if isinstance(real, tf.data.Dataset):
        rows, count = [], 0
        for element in real:
            x = element[0] if isinstance(element, (tuple, list)) else element
            x = np.asarray(x)
            rows.append(x)
            count += len(x)
            if count >= num_samples:
                break
        real = np.concatenate(rows) if rows else np.zeros((0,))
    real = np.asarray(real, np.float32)[:num_samples]
    if len(real) < 2:
        raise ValueError(f"DiversityMonitor needs at least 2 real examples; got {len(real)}.")
    return real


class DiversityMonitor(keras.callbacks.Callback):
    """Log the relative sample diversity and warn below ``threshold``.

    Args:
        real: real examples (an array ``[n, ...]`` or a dataset; its first
            ``num_samples`` examples are the reference).
        every: epochs between checks.
        num_samples: samples (and real examples) compared (>= 2).
        threshold: warn when the relative diversity is below it.
        seed: seed of the fixed noise.
        logdir: TensorBoard log directory (``None``: no summaries).

    With ``classifier`` (an extractor with logits, e.g. ``"mnist"``; ``keras-gan
    train`` passes the data set's shipped classifier for MNIST and Fashion-MNIST),
    the warning is about classes instead: fewer than ``min_classes`` (default: all
    but 2) classes predicted for at least ``min_fraction`` of the samples each,
    after they had been covered (an early generator that has not learnt every class
    yet is no collapse), or by the final generator; ``diversity/classes_covered``
    is logged too. A check runs every ``every``
    epochs and after the last one. Its warning (a log
    line and a :class:`ModeCollapseWarning`) is given when the next epoch begins or
    training ends, after the epoch's progress bar has finished its line.

    Attributes:
        reference: mean pairwise distance of the real batch.
        history: ``[(epoch, relative diversity)]`` of every check.
    """

    def __init__(
        self,
        real,
        every=1,
        num_samples=256,
        threshold=0.1,
        seed=0,
        logdir=None,
        classifier=None,
        value_range=(0.0, 1.0),
        min_classes=None,
        min_fraction=0.01,
    ):
        super().__init__()
        self.classifier = classifier
        self.value_range = value_range
        self.min_fraction = float(min_fraction)
        self.min_classes = min_classes
        #: ``[(epoch, classes covered)]`` of every check with a ``classifier``.
        self.class_history = []
        self._best_classes = 0
        self._last_classes = None
        if int(every) < 1 or int(num_samples) < 2 or not float(threshold) >= 0:
            raise ValueError("DiversityMonitor needs every >= 1, num_samples >= 2, threshold >= 0.")
        self.every = int(every)
        self.num_samples = int(num_samples)
        self.threshold = float(threshold)
        self.seed = seed
        self.logdir = logdir
        real = _real_batch(real, self.num_samples)
        self.num_samples = min(self.num_samples, len(real))
        if not np.all(np.isfinite(real[: self.num_samples])):
            raise ValueError(
                "DiversityMonitor: the real examples contain non-finite values (NaN or inf); "
                "the data must be finite."
            )
        self.reference = mean_pairwise_distance(real[: self.num_samples])
        if not self.reference > 0:
            raise ValueError("DiversityMonitor: the real examples are all equal.")
        self.history = []
        self._writer = None
        self._pending = None
        self._last_epoch = None

    def relative_diversity(self):
        """The current relative diversity of the trained generator's fixed-noise samples."""
        samples = self.model.sample(self.num_samples, seed=self.seed, average=False)
        return mean_pairwise_distance(samples) / self.reference

    def on_epoch_begin(self, epoch, logs=None):
        self._emit()

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch
        if (epoch + 1) % self.every:
            return
        self._check(epoch)

    def _emit(self):
        """Say the pending warning now that the epoch's progress bar has ended its line
        (said at once, it would be glued to the bar)."""
        message, self._pending = self._pending, None
        if message is not None:
            logger.warning(message)
            warnings.warn(message, ModeCollapseWarning, stacklevel=1)

    def _check(self, epoch, final=False):
        score = self.relative_diversity()
        self.history.append((epoch, score))
        if self.logdir:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.logdir, "train"))
            with self._writer.as_default():
                tf.summary.scalar("diversity/relative", score, step=epoch)
                tf.summary.scalar("diversity/samples", score * self.reference, step=epoch)
            self._writer.flush()
        if self.classifier is not None:
            self._check_classes(epoch, final)
        elif np.isfinite(score) and score < self.threshold:
            self._pending = (
                f"Possible mode collapse at epoch {epoch + 1}: the samples' mean pairwise "
                f"distance is {score:.3f} of the data's (threshold {self.threshold})."
            )

    def _check_classes(self, epoch, final=False):
        """Classes covered by at least ``min_fraction`` of the samples, as the
        classifier sees them (the MNIST mode-collapse measure). During training it
        warns when classes once covered are lost (early epochs that have not learnt
        every class yet are no collapse); the final generator is held to it anyway."""
        from keras_gan.metrics.features import class_distribution

        samples = self.model.sample(self.num_samples, seed=self.seed, average=False)
        result = class_distribution(
            self.classifier, samples, min_fraction=self.min_fraction,
            value_range=self.value_range,
        )  # fmt: skip
        self.class_history.append((epoch, result.classes_covered))
        if self._writer is not None:
            with self._writer.as_default():
                tf.summary.scalar("diversity/classes_covered", result.classes_covered, step=epoch)
            self._writer.flush()
        least = self.min_classes or max(1, result.num_classes - 2)
        reached = self._best_classes >= least  # had it covered them, and lost them?
        self._best_classes = max(self._best_classes, result.classes_covered)
        self._last_classes = (epoch, result, least)
        if result.classes_covered < least and (reached or final):
            self._pending = self._class_message(epoch, result, least)

    def _class_message(self, epoch, result, least):
        return (
            f"Possible mode collapse at epoch {epoch + 1}: the samples cover "
            f"{result.classes_covered} of {result.num_classes} classes (at least "
            f"{self.min_fraction:.0%} of them each, by the {self.classifier} classifier; "
            f"missing {result.missing}); expected at least {least}."
        )

    def on_train_end(self, logs=None):
        checked = self.history[-1][0] if self.history else None
        if self._last_epoch is not None and checked != self._last_epoch:
            self._check(self._last_epoch, final=True)  # the final generator is checked too
        elif self._last_classes is not None and self._pending is None:
            epoch, result, least = self._last_classes  # checked at the last epoch already
            if result.classes_covered < least:  # the final generator's rule
                self._pending = self._class_message(epoch, result, least)
        self._emit()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
