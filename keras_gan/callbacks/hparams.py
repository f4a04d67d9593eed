"""A run's configuration in TensorBoard's HParams dashboard.

``keras-gan train`` adds this callback to every run: the run directory becomes
one session of the HParams dashboard, with the flattened training config
(``d_optimizer.learning_rate``, ``training.batch_size``, ...; not the
:data:`BOOKKEEPING` sections such as ``logging``) and the data the
run actually read (``data.source``, ``data.num_examples``) as hyperparameters.
The dashboard takes the metrics from the scalars under the run directory
(``train/epoch_g_loss``, ``eval/eval/fid``, ...) and shows their last values, so
runs under one ``tensorboard --logdir runs`` compare in one table.

The writer is TensorBoard's own ``hparams.api.KerasCallback``; this module
only turns a config into the values it accepts (bool, int, float, str).

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
    """TensorBoard's HParams Keras callback for a run in ``logdir``.

    Args:
        logdir: the run directory (the session's run in the dashboard).
        config: the training config as a dict (``config.model_dump(mode="json")``).
        data: the data the run read (:func:`keras_gan.training.training_data`),
            logged as ``data.*``.
        trial_id: the session's name; defaults to the run directory's name.
    """
    from tensorboard.plugins.hparams import api as hp

    values = {
        key: value
        for key, value in flatten_hparams(config).items()
        if not any(key == skip or key.startswith(f"{skip}.") for skip in BOOKKEEPING)
    }
    if data:
        values.update(flatten_hparams({"data": data}))
    trial_id = trial_id or os.path.basename(os.path.abspath(os.fspath(logdir)))

    class SessionCallback(hp.KerasCallback):
        """TensorBoard's callback, reusable by the several ``fit`` calls of one run
        (:func:`keras_gan.resume.resume_fit` finishes a resumed epoch, then runs the
        rest): TensorBoard's drops its writer when training ends."""

        def on_train_end(self, logs=None):
            writer = self._writer
            super().on_train_end(logs)
            self._writer = writer

    return SessionCallback(os.fspath(logdir), values, trial_id=trial_id)
