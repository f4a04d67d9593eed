"""Anneal the temperature of Gumbel-Softmax layers during training."""

from __future__ import annotations

import math

import keras

__all__ = ["TemperatureSchedule", "temperature_at", "gumbel_softmax_layers"]


def temperature_at(t, initial, decay_rate, min_temperature):
    """``max(min_temperature, initial * decay_rate ** t)``."""
    return max(float(min_temperature), float(initial) * float(decay_rate) ** t)


def gumbel_softmax_layers(model):
    """The :class:`~keras_gan.layers.GumbelSoftmax` layers anywhere inside ``model``."""
    from keras_gan.layers import GumbelSoftmax

    found = model._flatten_layers(include_self=True, recursive=True)
    return [layer for layer in found if isinstance(layer, GumbelSoftmax)]


class TemperatureSchedule(keras.callbacks.Callback):
    """Exponential decay of the Gumbel-Softmax temperature to a floor.

    At epoch ``t`` (``per="epoch"``: the epoch index ``fit`` passes, so it
    follows ``initial_epoch``) or update ``t`` (``per="step"``: the generator
    updates done so far, ``model.g_optimizer.iterations``, so it carries on
    across ``fit`` calls and through a checkpoint's resumption) every
    :class:`~keras_gan.layers.GumbelSoftmax` layer of the model gets the
    temperature ``max(min_temperature, initial * decay_rate ** t)``, as in Jang
    et al. (2017), who annealed ``tau = max(0.5, exp(-r t))``. The temperature
    is a variable of the layer, so changing it does not retrace the compiled
    training step.

    The value in effect is written to the ``fit`` logs as ``temperature`` at the
    end of each epoch (and each batch with ``per="step"``), so it appears in the
    ``History`` and, when this callback comes *before*
    ``keras.callbacks.TensorBoard`` in the callback list, in TensorBoard as
    ``epoch_temperature``.

    Args:
        decay_rate: factor per epoch/step, in ``(0, 1]``.
        min_temperature: the floor, ``> 0``.
        initial: the temperature at ``t = 0`` (default: the first layer's
            configured temperature, :attr:`GumbelSoftmax.initial_temperature`,
            which a restored checkpoint does not change, so a resumed run
            continues the same schedule).
        per: ``"epoch"`` or ``"step"``. Per step, the temperature must change
            between updates, so the model runs one update per call of its
            compiled step (``steps_per_execution`` 1); per epoch, any number.

    Raises:
        ValueError: bad arguments, or a model without GumbelSoftmax layers (at
            the start of training).

    Example:

    ```python
    gan.fit(ds, epochs=20, callbacks=[
        TemperatureSchedule(decay_rate=0.8, min_temperature=0.5),
        keras.callbacks.TensorBoard("runs/grammar"),
    ])
    ```
    """

    def __init__(self, decay_rate, min_temperature=0.5, initial=None, per="epoch"):
        super().__init__()
        decay_rate = float(decay_rate)
        if not (math.isfinite(decay_rate) and 0 < decay_rate <= 1):
            raise ValueError(f"decay_rate must be in (0, 1]; got {decay_rate}.")
        min_temperature = float(min_temperature)
        if not (math.isfinite(min_temperature) and min_temperature > 0):
            raise ValueError(f"min_temperature must be a finite number > 0; got {min_temperature}.")
        if initial is not None:
            initial = float(initial)
            if not (math.isfinite(initial) and initial > 0):
                raise ValueError(f"initial must be a finite number > 0; got {initial}.")
        if per not in ("epoch", "step"):
            raise ValueError(f"per must be 'epoch' or 'step'; got {per!r}.")
        self.decay_rate = decay_rate
        self.min_temperature = min_temperature
        self.initial = initial
        self.per = per
        self._layers = []

    @property
    def step(self):
        """Generator updates done so far (``model.g_optimizer.iterations``; 0 before training)."""
        optimizer = getattr(self.model, "g_optimizer", None) if self._layers else None
        if optimizer is None:
            return 0
        return int(keras.ops.convert_to_numpy(optimizer.iterations))

    def supports_steps_per_execution(self, n):
        """Per epoch, any number of updates per compiled call; per step, one."""
        return self.per == "epoch" or n == 1

    def _find_layers(self):
        layers = gumbel_softmax_layers(self.model)
        if not layers:
            raise ValueError(
                "TemperatureSchedule: the model has no GumbelSoftmax layer to anneal (build the "
                "generator with networks.sequence_generator(output='gumbel') or use "
                "keras_gan.layers.GumbelSoftmax)."
            )
        return layers

    def scheduled(self, t):
        """The temperature at epoch/step ``t``."""
        return temperature_at(t, self.initial, self.decay_rate, self.min_temperature)

    @property
    def temperature(self):
        """The temperature in effect now (``None`` before training)."""
        return self._layers[0].temperature if self._layers else None

    def _apply(self, t):
        value = self.scheduled(t)
        for layer in self._layers:
            layer.temperature = value

    def on_train_begin(self, logs=None):
        self._layers = self._find_layers()
        if self.initial is None:
            self.initial = self._layers[0].initial_temperature

    def on_epoch_begin(self, epoch, logs=None):
        if self.per == "epoch":
            self._apply(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.per == "step":
            self._apply(self.step)

    def on_train_batch_end(self, batch, logs=None):
        if self.per == "step":
            if logs is not None:
                logs["temperature"] = self.temperature

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["temperature"] = self.temperature
