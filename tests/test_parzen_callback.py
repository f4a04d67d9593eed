"""ParzenEvaluation: evaluates during fit, logs to the history and to TensorBoard."""

import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import toy_gan

from keras_gan import data
from keras_gan.callbacks import ParzenEvaluation
from keras_gan.metrics import parzen_evaluate

SIGMAS = np.logspace(-2, 0.5, 11)


def _tensorboard_scalars(logdir):
    values = {}
    for path in glob.glob(os.path.join(logdir, "train", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") else None
                values.setdefault(value.tag, []).append((event.step, number))
    return values


def test_logs_to_history_tensorboard_and_later_callbacks(tmp_path):
    ring = data.toy_distribution("gaussians_8")
    validation, _ = ring.sample(300, seed=10)
    test, _ = ring.sample(300, seed=11)
    gan = toy_gan(seed=0)
    gan.compile()
    seen_by_later = []
    parzen = ParzenEvaluation(
        validation, test, every=2, num_samples=400, sigmas=SIGMAS, seed=5, logdir=str(tmp_path)
    )
    recorder = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen_by_later.append(
            (epoch, logs.get("parzen/log_likelihood"))
        )
    )
    history = gan.fit(
        data.load_dataset("gaussians_8", batch_size=64, num_examples=640),
        epochs=3,
        callbacks=[parzen, recorder],
        verbose=0,
    ).history
    # Every 2nd epoch and the last one: epochs 1 and 2 (0-based).
    assert parzen.evaluated_epochs == [1, 2] and parzen.seconds > 0
    for key in ("parzen/log_likelihood", "parzen/stderr", "parzen/sigma"):
        assert len(history[key]) == 2, key
    assert history["parzen/log_likelihood"] == [r.mean for r in parzen.results]
    assert history["parzen/sigma"] == [r.sigma for r in parzen.results]
    assert all(s > 0 for s in history["parzen/stderr"])
    assert [v is not None for _, v in seen_by_later] == [False, True, True]
    # The last logged value is the protocol run on the final model.
    final = parzen_evaluate(gan, test, validation, num_samples=400, sigmas=SIGMAS, seed=5)
    assert history["parzen/log_likelihood"][-1] == pytest.approx(final.mean, abs=1e-6)
    scalars = _tensorboard_scalars(str(tmp_path))
    for key in ("parzen/log_likelihood", "parzen/stderr", "parzen/sigma"):
        assert [step for step, _ in scalars[key]] == [1, 2]
        np.testing.assert_allclose([v for _, v in scalars[key]], history[key], rtol=1e-6)


def test_bad_arguments():
    x = np.zeros((10, 2), np.float32)
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        ParzenEvaluation(x, x, every=0)
    with pytest.raises(ValueError, match="validation and test examples differ"):
        ParzenEvaluation(x, np.zeros((10, 3)), every=1)
    with pytest.raises(ValueError, match="test is empty"):
        ParzenEvaluation(x, np.zeros((0, 2)))
