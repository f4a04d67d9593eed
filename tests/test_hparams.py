"""The HParams callback: config flattening, and one callback across the two ``fit``
calls of a resumed run (TensorBoard's own KerasCallback allows one)."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import toy_gan
from tensorboard.plugins.hparams import metadata, plugin_data_pb2

from keras_gan.callbacks.hparams import HParams, flatten_hparams, hparams_callback


def test_flatten_hparams():
    flat = flatten_hparams({"a": {"b": 1, "c": None, "d": [1, 2]}, "e": "x", "f": True})
    assert flat == {"a.b": 1, "a.d": "[1, 2]", "e": "x", "f": True}


def _hparams_events(logdir):
    """(kind, content) of the HParams plugin's summaries in ``logdir``'s event files."""
    found = []
    for path in sorted(tf.io.gfile.glob(f"{logdir}/events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == metadata.PLUGIN_NAME:
                    data = plugin_data_pb2.HParamsPluginData.FromString(
                        value.metadata.plugin_data.content
                    )
                    kind = data.WhichOneof("data")
                    found.append((kind, getattr(data, kind)))
    return found


def test_one_callback_logs_each_fit_of_a_run(tmp_path):
    callback = hparams_callback(
        tmp_path,
        {"training": {"batch_size": 16, "verbose": 2}, "logging": {"logdir": "x"}, "noise": "u"},
        data={"source": "idx", "num_examples": 64},
    )
    assert callback.hparams == {
        "training.batch_size": 16, "noise": "u", "data.source": "idx", "data.num_examples": 64
    }  # fmt: skip
    x = tf.data.Dataset.from_tensor_slices(np.zeros((64, 2), "float32")).batch(16)
    gan = toy_gan(width=4, depth=1)
    gan.compile()
    gan.fit(x, epochs=1, verbose=0, callbacks=[callback])
    gan.fit(x, epochs=2, initial_epoch=1, verbose=0, callbacks=[callback])  # resumed
    events = _hparams_events(tmp_path)
    assert [kind for kind, _ in events] == ["session_start_info", "session_end_info"] * 2
    start = events[0][1]
    assert start.group_name == tmp_path.name
    assert start.hparams["training.batch_size"].number_value == 16
    assert start.hparams["data.source"].string_value == "idx"


def test_values_the_dashboard_cannot_take_fail_at_once():
    with pytest.raises(TypeError):
        HParams("x", {"a": object()})
