"""Linear momentum ramp per epoch (pylearn2's ``MomentumAdjustor``, used by the paper)."""

from __future__ import annotations

import keras

__all__ = ["MomentumSchedule", "momentum_at"]


def momentum_at(epoch, initial, final, start_epoch, saturate_epoch):
    """Momentum for (0-based) ``epoch``: ``initial`` until ``start_epoch``, then linear
    to ``final`` at ``saturate_epoch`` and constant after."""
    alpha = (epoch - start_epoch) / (saturate_epoch - start_epoch)
    return initial + (final - initial) * min(1.0, max(0.0, alpha))


class MomentumSchedule(keras.callbacks.Callback):
    """Ramp the momentum of SGD optimizers linearly over epochs.

    The original GAN code raised the momentum of SGD from 0.5 to 0.7 between
    epochs 1 and 250 (``MomentumAdjustor(start=1, saturate=250,
    final_momentum=.7)``). Keras' SGD reads ``momentum`` when the training step
    is traced, so a change only takes effect after a retrace; this callback
    therefore changes it (and retraces the training function, a few seconds)
    only when the scheduled value has moved by at least ``min_change`` since the
    last change, and once more when it saturates: 21 retraces for the paper's
    ramp at the default 0.01.

    Args:
        final_momentum: momentum reached at ``saturate_epoch``.
        start_epoch: the ramp starts here (0-based; the initial momentum is the
            optimizer's when training starts).
        saturate_epoch: the ramp ends here (> ``start_epoch``).
        optimizers: names of the model's optimizer attributes to adjust
            (default both of an AdversarialModel). The momentum is logged each
            epoch as ``momentum`` (``<name>/momentum`` for a single optimizer).
        min_change: smallest change applied.

    Example:

    ```python
    gan.compile(d_optimizer=keras.optimizers.SGD(0.1, momentum=0.5),
                g_optimizer=keras.optimizers.SGD(0.1, momentum=0.5))
    gan.fit(ds, epochs=300, callbacks=[MomentumSchedule(0.7, 1, 250)])
    ```
    """

    def __init__(
        self,
        final_momentum,
        start_epoch=1,
        saturate_epoch=250,
        optimizers=("d_optimizer", "g_optimizer"),
        min_change=0.01,
    ):
        super().__init__()
        final_momentum = float(final_momentum)
        if not 0.0 <= final_momentum < 1.0:
            raise ValueError(f"final_momentum must be in [0, 1); got {final_momentum}.")
        if not (int(start_epoch) >= 0 and int(saturate_epoch) > int(start_epoch)):
            raise ValueError(
                "MomentumSchedule needs 0 <= start_epoch < saturate_epoch; got "
                f"start_epoch={start_epoch}, saturate_epoch={saturate_epoch}."
            )
        if not min_change > 0:
            raise ValueError(f"min_change must be > 0; got {min_change}.")
        if isinstance(optimizers, str):
            optimizers = (optimizers,)
        self.final_momentum = final_momentum
        self.start_epoch = int(start_epoch)
        self.saturate_epoch = int(saturate_epoch)
        self.optimizer_names = tuple(optimizers)
        self.min_change = float(min_change)
        self.initial_momentum = None
        self.retraces = 0

    def _optimizers(self):
        found = []
        for name in self.optimizer_names:
            opt = getattr(self.model, name, None)
            if opt is None:
                raise ValueError(f"MomentumSchedule: the model has no optimizer {name!r}.")
            if not isinstance(opt, keras.optimizers.SGD) or not opt.momentum > 0:
                raise ValueError(
                    f"MomentumSchedule adjusts SGD optimizers with momentum > 0 (the momentum "
                    f"slots must exist); {name} is {type(opt).__name__} with momentum "
                    f"{getattr(opt, 'momentum', None)}."
                )
            found.append(opt)
        return found

    def on_train_begin(self, logs=None):
        optimizers = self._optimizers()
        if self.initial_momentum is None:
            self.initial_momentum = float(optimizers[0].momentum)
        self.retraces = 0

    def scheduled(self, epoch):
        return momentum_at(
            epoch, self.initial_momentum, self.final_momentum, self.start_epoch,
            self.saturate_epoch,
        )  # fmt: skip

    def on_epoch_begin(self, epoch, logs=None):
        optimizers = self._optimizers()
        target = self.scheduled(epoch)
        current = float(optimizers[0].momentum)
        saturated = epoch >= self.saturate_epoch and current != target
        if abs(target - current) >= self.min_change - 1e-12 or saturated:
            for opt in optimizers:
                opt.momentum = target
            self.model.make_train_function(force=True)
            self.retraces += 1

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:  # into the history: "momentum" or "<optimizer>/momentum"
            names = self.optimizer_names
            key = "momentum" if len(names) > 1 else f"{names[0]}/momentum"
            logs[key] = float(self._optimizers()[0].momentum)
