"""The game step by step in TensorBoard: the losses and D's scores every N generator updates."""

from __future__ import annotations

import os

import keras
import numpy as np

#: The prefix of the step-level tags (``game/d_loss``, ``game/d_real``...).
PREFIX = "game/"


class GameScalars(keras.callbacks.Callback):
    """Write every metric of the training step (``d_loss``, ``g_loss``, ``d_real``,
    ``d_fake``, WGAN's ``wasserstein``...) to TensorBoard every ``every_n_steps``
    generator updates, as ``game/<name>`` under ``<logdir>/train`` with the update
    count as the step: the oscillation of the game, which epoch curves average away.

    Each value is the mean over the updates since the previous point (or since
    the start of the epoch, for an epoch's first point), recovered exactly from
    the epoch's running means that ``fit`` reports
    (``(m_b * (b + 1) - m_a * (a + 1)) / (b - a)`` for batches ``a < b`` of one
    epoch). It works with several steps per execution: ``supports_steps_per_execution(n)``
    accepts every ``n`` dividing ``every_n_steps``, so the points fall on exactly
    those steps.

    Example:

    ```python
    gan.fit(ds, epochs=10, callbacks=[GameScalars("runs/mnist", every_n_steps=50)])
    ```
    """

    def __init__(self, logdir, every_n_steps=50):
        super().__init__()
        if (
            isinstance(every_n_steps, bool)
            or not isinstance(every_n_steps, (int, np.integer))
            or every_n_steps < 1
        ):
            raise ValueError(f"every_n_steps must be an int >= 1; got {every_n_steps!r}.")
        self.logdir = os.fspath(logdir)
        self.every_n_steps = int(every_n_steps)
        self._writer = None
        self._previous = None  # (batch index, {name: running mean}) of this epoch

    def supports_steps_per_execution(self, n):
        return self.every_n_steps % n == 0

    def on_epoch_begin(self, epoch, logs=None):
        self._previous = None

    def _step(self):
        optimizer = getattr(self.model, "g_optimizer", None) or self.model.optimizer
        return int(keras.ops.convert_to_numpy(optimizer.iterations))

    def on_train_batch_end(self, batch, logs=None):
        step = self._step()
        if step % self.every_n_steps or not logs:
            return
        means = {k: float(v) for k, v in logs.items() if np.ndim(v) == 0}
        if self._previous is None:
            window = means
        else:
            before, old = self._previous
            count = batch - before
            window = {
                k: (v * (batch + 1) - old[k] * (before + 1)) / count
                for k, v in means.items()
                if k in old
            }
        self._previous = (batch, means)
        self._write(window, step)

    def _write(self, values, step):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.logdir, "train"))
        with self._writer.as_default():
            for name, value in values.items():
                tf.summary.scalar(PREFIX + name, value, step=step)

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is not None:
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
