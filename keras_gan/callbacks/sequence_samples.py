"""Text samples (and their grammar validity) of a sequence generator during training."""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from keras_gan.data.text import decode
from keras_gan.io import atomic_write_text

__all__ = ["SequenceSamples"]


class SequenceSamples(keras.callbacks.Callback):
    """Decode samples from *fixed* seeds every ``every`` epochs.

    The decoded strings go to TensorBoard as a text summary ``samples`` in
    ``logdir/train`` and optionally to ``text_dir/samples_epoch_XXXX.txt``.
    With a ``grammar``, the fraction of valid samples
    (:func:`keras_gan.metrics.validity_rate`) is added to the epoch's logs as
    ``validity`` (so it reaches the ``History`` and, when this callback comes
    before ``keras.callbacks.TensorBoard``, TensorBoard).

    Args:
        vocabulary: the tokens (default: the model's ``vocabulary``).
        logdir: TensorBoard log directory (``None``: no summaries).
        num_samples: sequences drawn each time (all are scored; the first 32
            are written).
        every: epochs between draws.
        text_dir: directory of text files (``None``: none).
        grammar: a grammar name or :class:`~keras_gan.data.grammar.Grammar`
            to score validity under (``None``: no score).
        seed: seed of the fixed noise.

    Example:

    ```python
    gan.fit(ds, epochs=10, callbacks=[
        SequenceSamples(logdir="runs/brackets", grammar="brackets"),
        keras.callbacks.TensorBoard("runs/brackets"),
    ])
    ```
    """

    def __init__(
        self,
        vocabulary=None,
        logdir=None,
        num_samples=256,
        every=1,
        text_dir=None,
        grammar=None,
        seed=0,
        shown=32,
    ):
        super().__init__()
        if int(every) < 1 or int(num_samples) < 1 or int(shown) < 1:
            raise ValueError("SequenceSamples needs every, num_samples and shown >= 1.")
        self.vocabulary = None if vocabulary is None else list(vocabulary)
        self.logdir = logdir
        self.num_samples = int(num_samples)
        self.every = int(every)
        self.text_dir = text_dir
        self.grammar = grammar
        self.seed = seed
        self.shown = int(shown)
        self._writer = None

    def _vocabulary(self):
        vocabulary = self.vocabulary or getattr(self.model, "vocabulary", None)
        if not vocabulary:
            raise ValueError(
                "SequenceSamples needs a vocabulary: pass vocabulary=... or give the model one "
                "(e.g. models.WGANGP(..., vocabulary=data.sequence_vocabulary('grammar')))."
            )
        return list(vocabulary)

    def on_train_begin(self, logs=None):
        self._vocabulary()  # fail before the first epoch, not after it

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        samples = self.model.sample(self.num_samples, seed=self.seed)
        vocabulary = self._vocabulary()
        pad = vocabulary[0]
        strings = decode(samples, vocabulary, strip_padding=pad)
        if self.grammar is not None and logs is not None:
            from keras_gan.metrics.discrete import validity_rate

            logs["validity"] = validity_rate(samples, self.grammar)
        shown = [repr(s) for s in strings[: self.shown]]
        if self.logdir:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.logdir, "train"))
            with self._writer.as_default():
                tf.summary.text("samples", "\n\n".join(f"`{s}`" for s in shown), step=epoch)
            self._writer.flush()
        if self.text_dir:
            os.makedirs(self.text_dir, exist_ok=True)
            path = os.path.join(self.text_dir, f"samples_epoch_{epoch + 1:04d}.txt")
            _write_text(path, "\n".join(shown) + "\n")

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _write_text(path, text):
    """Write ``text`` to ``path`` atomically (temporary sibling file, then rename)."""
    atomic_write_text(path, text)
