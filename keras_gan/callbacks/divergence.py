"""Stop training when it diverges (a loss or a weight becomes NaN or Inf).

:class:`DivergenceGuard` checks the logged metrics after every ``fit`` step
(Keras logs the epoch's running means, so one NaN step shows at once) and the
weights at every epoch end. On the first NaN/Inf it stops training and, at the
end of ``fit``, raises :class:`TrainingDiverged` with one line naming the step
(generator updates so far), the epoch and the metric or weight, and the last
good checkpoint when a :class:`~keras_gan.callbacks.Checkpoint` is given. The
checkpoint callback refuses to write non-finite values by itself, and
``keras-gan train`` writes no ``model.keras`` and no export after a divergence
(it exits with status 1 and the message).

Example:

```python
from keras_gan.callbacks import Checkpoint, DivergenceGuard, TrainingDiverged

checkpoint = Checkpoint("runs/x/checkpoints", every_n_steps=100)
try:
    gan.fit(ds, epochs=10, callbacks=[checkpoint, DivergenceGuard(checkpoint)])
except TrainingDiverged as e:
    print(e)   # Training diverged at step 1234 (epoch 3): g_loss is nan. ...
```
"""

from __future__ import annotations

import logging

import keras

from keras_gan.callbacks.state import first_non_finite_log, first_non_finite_weight, training_step

logger = logging.getLogger("keras_gan.training")


class TrainingDiverged(RuntimeError):
    """Training stopped because a loss or a weight became NaN or Inf."""

    def __init__(self, message, step=None, epoch=None, metric=None):
        super().__init__(message)
        self.step = step
        self.epoch = epoch
        self.metric = metric


class DivergenceGuard(keras.callbacks.Callback):
    """Stop ``fit`` at the first NaN/Inf loss or weight and report where.

    Args:
        checkpoint: an optional :class:`~keras_gan.callbacks.Checkpoint`, named
            in the message as the last good state.
        check_weights: also check every weight at each epoch end.
        raise_error: raise :class:`TrainingDiverged` when ``fit`` ends (else
            only set :attr:`diverged` and log the message).

    Attributes:
        diverged: ``None``, or the :class:`TrainingDiverged` describing it.
    """

    def __init__(self, checkpoint=None, check_weights=True, raise_error=True):
        super().__init__()
        self.checkpoint = checkpoint
        self.check_weights = bool(check_weights)
        self.raise_error = bool(raise_error)
        self.diverged = None
        self._epoch = 0

    def supports_steps_per_execution(self, n):
        """Any number of steps per call: a non-finite loss is caught at the end of
        the call, and the message names the call's last step."""
        return True

    def on_train_begin(self, logs=None):
        self.diverged = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _stop(self, what):
        step = training_step(self.model)
        message = f"Training diverged at step {step} (epoch {self._epoch + 1}): {what}."
        if self.checkpoint is not None:
            latest = self.checkpoint.latest
            if latest:
                message += (
                    f" The last good checkpoint is {latest} (step "
                    f"{self.checkpoint.latest_step}); nothing non-finite was saved."
                )
            else:
                message += " No checkpoint had been written; nothing non-finite was saved."
        message += " Lower the learning rates or check the data."
        self.diverged = TrainingDiverged(message, step=step, epoch=self._epoch + 1, metric=what)
        self.model.stop_training = True
        logger.error(message)

    def _stopped_on_logs(self, logs):
        """Stop at a non-finite logged value; whether training is (now) stopped."""
        if self.diverged is None:
            bad = first_non_finite_log(logs)
            if bad:
                self._stop(f"{bad[0]} is {bad[1]}")
        return self.diverged is not None

    def on_train_batch_end(self, batch, logs=None):
        self._stopped_on_logs(logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._stopped_on_logs(logs):
            return
        if self.check_weights:
            weight = first_non_finite_weight(self.model)
            if weight:
                self._stop(f"weight {weight[0]} has {weight[1]} NaN/Inf value(s)")

    def on_train_end(self, logs=None):
        if self.diverged is not None and self.raise_error:
            raise self.diverged
