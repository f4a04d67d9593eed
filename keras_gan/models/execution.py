"""``fit`` of :class:`~keras_gan.models.AdversarialModel`: input checks and the
steps-per-execution policy.

``compile(steps_per_execution="auto")`` (the default) runs up to
:data:`AUTO_STEPS_PER_EXECUTION` training steps per call of the compiled
training function, which removes most of the per-step Python and dispatch
overhead of ``fit``. Results are identical to one step per call (the same
steps in the same order); only how often batch-level callbacks run changes, so
``fit`` falls back to one step per call when a callback has batch-level hooks
(``on_train_batch_begin/end``, ``on_batch_begin/end``; Keras' ``TensorBoard``
counts only if it writes per batch or profiles) unless the callback declares
which counts it works with: a method ``supports_steps_per_execution(n) -> bool``
(the package's ``Checkpoint`` accepts counts dividing its ``every_n_steps``, so
it still saves at exactly those steps; ``DivergenceGuard`` accepts any, and then
names the last step of the call in which a loss became non-finite), when the model runs eagerly
and under a ``tf.distribute`` strategy (where TensorFlow cannot run
cross-replica updates such as WGAN's weight clipping inside the loop). With
``steps_per_epoch`` set, the number of steps per call divides it (Keras would
otherwise run past it). ``fit`` with validation data, ``evaluate`` and
``predict`` run one step per call. An int keeps Keras' meaning.

Example:

```python
gan.compile()  # steps_per_execution="auto"
gan.choose_steps_per_execution([], steps_per_epoch=25)  # 5: the largest divisor <= 10
```
"""

from __future__ import annotations

import contextlib
import inspect

import keras
import tensorflow as tf

__all__ = [
    "ExecutionPolicy",
    "AUTO_STEPS_PER_EXECUTION",
    "has_batch_hooks",
    "allows_steps_per_execution",
]

#: Most training steps per call of the training function with
#: ``steps_per_execution="auto"``.
AUTO_STEPS_PER_EXECUTION = 10
_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end")


def has_batch_hooks(callback):
    """Whether ``callback`` acts per batch."""
    if isinstance(callback, keras.callbacks.TensorBoard):
        # Its batch hooks only count batches unless it writes per batch or profiles.
        return (
            callback.update_freq != "epoch"
            or callback.write_steps_per_second
            or bool(getattr(callback, "_should_trace", False))
        )
    base = keras.callbacks.Callback
    return any(
        getattr(type(callback), hook, None) is not getattr(base, hook) for hook in _BATCH_HOOKS
    )


def allows_steps_per_execution(callback, n):
    """Whether ``callback`` works with ``n`` training steps per call: it says so
    (``supports_steps_per_execution(n)``), or it has no batch-level hooks."""
    if n == 1:
        return True
    supports = getattr(callback, "supports_steps_per_execution", None)
    if supports is not None:
        return bool(supports(n))
    return not has_batch_hooks(callback)


class ExecutionPolicy:
    """Mixin of :class:`~keras_gan.models.AdversarialModel`: ``fit`` picks the steps
    per call under ``steps_per_execution="auto"``; ``evaluate`` and ``predict`` run
    one step per call (see the module docstring)."""

    def fit(self, x=None, y=None, *args, **kwargs):
        """``keras.Model.fit`` after checking the training data against the model.

        Checked before any training: the data's example shape equals the
        generator's output shape, the batch holds at least ``d_steps``
        examples, and the data is finite (all of an array; the first batch of
        a ``tf.data.Dataset``). Then the steps per call are chosen (see the
        module docstring).
        """
        self.check_training_data(x, y)
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)  # a Dataset shuffles itself
        if getattr(self, "_auto_steps_per_execution", False):
            params = inspect.signature(keras.Model.fit).bind(self, x, y, *args, **kwargs)
            arguments = params.arguments
            self._set_steps_per_execution(
                1
                if arguments.get("validation_data") is not None or arguments.get("validation_split")
                else self.choose_steps_per_execution(
                    arguments.get("callbacks"), arguments.get("steps_per_epoch")
                )
            )
        return super().fit(x, y, *args, **kwargs)

    def choose_steps_per_execution(self, callbacks=None, steps_per_epoch=None):
        """The steps per call ``steps_per_execution="auto"`` uses for a ``fit``
        with these ``callbacks`` and ``steps_per_epoch`` (see the module docstring)."""
        if isinstance(callbacks, keras.callbacks.CallbackList):
            callbacks = callbacks.callbacks
        if (
            self.run_eagerly
            or self._distribute_strategy is not None  # built under a tf.distribute strategy
            or tf.distribute.has_strategy()
        ):
            return 1
        limit = AUTO_STEPS_PER_EXECUTION
        if steps_per_epoch:
            limit = min(limit, int(steps_per_epoch))
        return max(
            n
            for n in range(1, limit + 1)
            # a divisor, so that an epoch runs exactly steps_per_epoch steps
            if not (steps_per_epoch and steps_per_epoch % n)
            and all(allows_steps_per_execution(cb, n) for cb in callbacks or ())
        )

    def _set_steps_per_execution(self, n):
        if self.steps_per_execution != n:
            self.steps_per_execution = n
            self.train_function = None  # rebuilt (and retraced) by fit

    @contextlib.contextmanager
    def _one_step_per_execution(self):
        """Evaluation and prediction run one step per call under ``"auto"``
        (their speed matters little, and Keras would run past ``steps``)."""
        if not getattr(self, "_auto_steps_per_execution", False):
            yield
            return
        saved, self.steps_per_execution = self.steps_per_execution, 1
        try:
            yield
        finally:
            self.steps_per_execution = saved

    def evaluate(self, *args, **kwargs):
        with self._one_step_per_execution():
            return super().evaluate(*args, **kwargs)

    def predict(self, *args, **kwargs):
        with self._one_step_per_execution():
            return super().predict(*args, **kwargs)

    def check_training_data(self, x, y=None):
        """Raise a ``ValueError`` naming the problem if ``x`` (and the targets ``y``
        given to ``fit``, e.g. a conditional model's labels) cannot train this model."""
        from keras_gan.data.checks import check_training_data

        check_training_data(x, self)
