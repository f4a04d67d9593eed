"""Evaluate the generator during training, log ``eval/...`` scalars and keep the best model."""

from __future__ import annotations

import json
import logging
import os
import time

import keras
import numpy as np

from keras_gan.io import atomic_save_model, atomic_write_text
from keras_gan.metrics.evaluation import best_key

logger = logging.getLogger("keras_gan.callbacks")

#: The prefix of the keys added to the epoch logs and of the TensorBoard tags.
PREFIX = "eval/"


class GeneratorEvaluation(keras.callbacks.Callback):
    """Score the generator with a :class:`keras_gan.metrics.evaluation.Evaluator` every
    ``every`` epochs (and after the last one).

    The values are added to the epoch logs as ``eval/<key>`` (``eval/fid``,
    ``eval/parzen_log_likelihood``...), so they are in ``fit``'s history (one
    entry per evaluation, like Keras' ``validation_freq``), and with ``logdir``
    written to TensorBoard under ``<logdir>/eval`` with the generator-update
    count as the step (the step-level loss curves use the same axis).

    With ``best`` (a metric name such as ``"fid"``, or a key such as
    ``"recall"``) the model is saved to ``best_path`` whenever an evaluation
    improves on the best so far (lower FID/KID/class KL, higher everything
    else), and ``<best_path>.json`` records the epoch, step and values; a
    resumed run reads it and keeps ranking against the earlier best.

    Example:

    ```python
    from keras_gan.callbacks import GeneratorEvaluation
    from keras_gan.metrics.evaluation import Evaluator

    evaluator = Evaluator(["fid", "is"], x_test, extractor="mnist", num_samples=5000)
    gan.fit(ds, epochs=20, callbacks=[
        GeneratorEvaluation(evaluator, every=5, logdir="runs/mnist", best="fid",
                            best_path="runs/mnist/best_model.keras"),
    ])
    ```
    """

    def __init__(self, evaluator, every=5, logdir=None, best=None, best_path=None):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"every must be an int >= 1 (epochs); got {every!r}.")
        self.evaluator = evaluator
        self.every = int(every)
        self.logdir = logdir
        self.best = None
        if best is not None:
            if best_path is None:
                raise ValueError("best needs best_path, where to save the best model.")
            self.best = best_key(best, evaluator.metrics)
        self.best_path = None if best_path is None else os.fspath(best_path)
        #: ``EvaluationResult`` of each evaluation, and the (0-based) epochs evaluated.
        self.results = []
        self.evaluated_epochs = []
        #: The best value so far of the ``best`` key (``None`` before any).
        self.best_value = self._read_best()
        #: Wall-clock seconds spent evaluating.
        self.seconds = 0.0
        self._writer = None

    def _read_best(self):
        if self.best is None:
            return None
        try:
            with open(self.best_path + ".json", encoding="utf-8") as f:
                record = json.load(f)
            value = record["values"][self.best[0]]
            return float(value) if record.get("key") == self.best[0] else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _improves(self, value):
        if self.best_value is None:
            return True
        return value > self.best_value if self.best[1] else value < self.best_value

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") if self.params else None
        if (epoch + 1) % self.every and (last is None or epoch + 1 != last):
            return
        start = time.perf_counter()
        result = self.evaluator(self.model)
        self.seconds += time.perf_counter() - start
        self.results.append(result)
        self.evaluated_epochs.append(epoch)
        values = {PREFIX + key: value for key, value in result.values.items()}
        if logs is not None:
            logs.update(values)
        step = (
            int(keras.ops.convert_to_numpy(self.model.g_optimizer.iterations))
            if self.model.g_optimizer
            else epoch
        )
        if self.logdir:
            self._write(values, step)
        if self.best is not None:
            key, _ = self.best
            value = result.values[key]
            if np.isfinite(value) and self._improves(value):
                self.best_value = value
                atomic_save_model(self.model, self.best_path)
                record = dict(key=key, epoch=epoch + 1, step=step, values=result.values)
                record.update(result.record)
                atomic_write_text(self.best_path + ".json", json.dumps(record, indent=1) + "\n")

    def _write(self, values, step):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.logdir, "eval"))
        with self._writer.as_default():
            for key, value in values.items():
                tf.summary.scalar(key, value, step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
