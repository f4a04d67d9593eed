"""The last stage of every pipeline :func:`keras_gan.data.load_dataset` builds."""

from __future__ import annotations

import tensorflow as tf

__all__ = ["PREFETCH_BATCHES", "finish_pipeline"]

#: Batches a pipeline of :func:`keras_gan.data.load_dataset` prepares ahead of training.
PREFETCH_BATCHES = 2


def finish_pipeline(ds):
    """``ds`` prefetched by :data:`PREFETCH_BATCHES`, with tf.data's autotuner off.

    The autotuner's background thread sleeps for doubling periods (10 ms, 20 ms,
    ... up to seconds), and with TensorFlow 2.21 deleting an iterator while
    another one is live waits for its next wake-up: up to the iterator's age.
    ``fit`` replaces its iterator at every epoch, so with the autotuner on,
    epochs of the paper's MNIST GAN took 13 s or 19-21 s at random on 2 cores
    (4 epochs: 67.7 s; 54.8 s with it off). Batches here are gathered from
    memory (about 0.1 ms each), so a fixed prefetch of two batches with no
    parallel map keeps training fed (``benchmarks/train_throughput.py
    --peers pipeline``). A user who adds expensive ``map`` stages can turn
    the autotuner back on with ``tf.data.Options``.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(PREFETCH_BATCHES).with_options(options)
