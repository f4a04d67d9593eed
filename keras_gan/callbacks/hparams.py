"""A run's configuration in TensorBoard's HParams dashboard.

``keras-gan train`` adds this callback to every run: the run directory becomes
one session of the HParams dashboard, with the flattened training config
(``d_optimizer.learning_rate``, ``training.batch_size``, ...; not the
:data:`BOOKKEEPING` sections such as ``logging``) and the data the
run actually read (``data.source``, ``data.num_examples``) as hyperparameters.
The dashboard takes the metrics from the scalars under the run directory
(``train/epoch_g_loss``, ``eval/eval/fid``, ...) and shows their last values, so
runs under one ``tensorboard --logdir runs`` compare in one table.

The summaries are TensorBoard's own (``hparams.api``, as its ``KerasCallback``
writes them, but for every ``fit`` of a resumed run); :func:`flatten_hparams`
turns a config into the values they accept (bool, int, float, str).

Example:

```python
from keras_gan.callbacks.hparams import hparams_callback

callback = hparams_callback("runs/demo", {"training": {"batch_size": 100}})
# gan.fit(dataset, callbacks=[callback, keras.callbacks.TensorBoard("runs/demo")])
```
"""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf
from tensorboard.plugins.hparams import api as hp
from tensorboard.plugins.hparams import api_pb2, summary

#: Config sections and keys left out of the hparams: where files go and how often
#: things are logged or checked, not what the run trains.
BOOKKEEPING = ("logging", "checkpoint", "monitoring", "export", "training.verbose")


def flatten_hparams(config, prefix=""):
    """``{"a": {"b": 1}, "c": [1, 2]}`` -> ``{"a.b": 1, "c": "[1, 2]"}``.

    Values the dashboard takes (bool, int, float, str) stay as they are; lists
    and other values become their JSON text; ``None`` is left out (the
    dashboard has no null).
    """
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_hparams(value, prefix=f"{name}."))
        elif value is None:
            continue
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        else:
            flat[name] = json.dumps(value, sort_keys=True, default=str)
    return flat


def hparams_callback(logdir, config, data=None, trial_id=None):
    """An :class:`HParams` callback for a run in ``logdir`` with this config.

    Args:
        logdir: the run directory (the session's run in the dashboard).
        config: the training config as a dict (``config.model_dump(mode="json")``).
        data: the data the run read (:func:`keras_gan.training.training_data`),
            logged as ``data.*``.
        trial_id: the session's name; defaults to the run directory's name.
    """
    values = {
        key: value
        for key, value in flatten_hparams(config).items()
        if not any(key == skip or key.startswith(f"{skip}.") for skip in BOOKKEEPING)
    }
    if data:
        values.update(flatten_hparams({"data": data}))
    trial_id = trial_id or os.path.basename(os.path.abspath(os.fspath(logdir)))
    return HParams(logdir, values, trial_id)


class HParams(keras.callbacks.Callback):
    """Writes ``hparams`` as a session of the HParams dashboard in ``logdir``.

    The summaries of TensorBoard's ``hparams.api.KerasCallback``, but the
    callback serves several ``fit`` calls of one run (a resumed run calls
    ``fit`` again): each writes the session's start, and its end as a success.
    """

    def __init__(self, logdir, hparams, trial_id=None):
        super().__init__()
        hp.hparams_pb(hparams, trial_id=trial_id)  # invalid values fail here
        self.logdir, self.hparams, self.trial_id = os.fspath(logdir), dict(hparams), trial_id
        self._writer = None

    def on_train_begin(self, logs=None):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.logdir)
        with self._writer.as_default():
            hp.hparams(self.hparams, trial_id=self.trial_id)
        self._writer.flush()

    def on_train_end(self, logs=None):
        end = summary.session_end_pb(api_pb2.STATUS_SUCCESS).SerializeToString()
        with self._writer.as_default():
            tf.summary.experimental.write_raw_pb(end, step=0)
        self._writer.flush()
