"""Resumable ``fit``: restore the latest checkpoint and run exactly the remaining steps.

:func:`resume_fit` is what ``keras-gan train`` uses. With ``epochs`` epochs of
``steps_per_epoch`` steps (one step = one generator update), a run restored at
step ``S`` stands in epoch ``E = S // steps_per_epoch`` with
``r = S % steps_per_epoch`` of its steps done. It then runs

1. when ``r > 0``, a *shortened* epoch ``E`` of the remaining
   ``steps_per_epoch - r`` steps (``fit(initial_epoch=E, epochs=E + 1,
   steps_per_epoch=steps_per_epoch - r)``), and
2. the epochs ``E + 1 ..`` in full (``fit(initial_epoch=E + 1, ...)``),

so the total number of generator updates is exactly ``epochs *
steps_per_epoch``, however often the run was killed, and epoch numbers (in
TensorBoard, sample grids, checkpoints) continue where they stopped. The
batches of the shortened epoch are drawn afresh (the data pipeline's position
is not checkpointed; the networks, optimizers and noise generator are).

Example:

```python
from keras_gan.callbacks import Checkpoint
from keras_gan.resume import resume_fit

checkpoint = Checkpoint("runs/toy/checkpoints", every_n_steps=100)
result = resume_fit(gan, ds.repeat(), epochs=10, steps_per_epoch=250, checkpoint=checkpoint)
result.restored   # None on the first run, else the RestoredState it continued from
```
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from keras_gan.callbacks.state import training_step


@dataclasses.dataclass
class ResumeResult:
    """What :func:`resume_fit` did."""

    history: dict
    restored: object  # RestoredState or None
    initial_step: int
    final_step: int
    total_steps: int

    @property
    def already_complete(self):
        return self.initial_step >= self.total_steps


def steps_per_epoch_of(dataset, steps_per_epoch=None):
    """``steps_per_epoch``, or the number of batches of a finite ``dataset``."""
    if steps_per_epoch:
        return int(steps_per_epoch)
    if isinstance(dataset, tf.data.Dataset):
        n = int(dataset.cardinality())
        if n > 0:
            return n
    raise ValueError(
        "Resuming needs a known number of steps per epoch: pass steps_per_epoch "
        "(the dataset's length is unknown or infinite)."
    )


def plan(initial_step, epochs, steps_per_epoch):
    """The ``fit`` calls that finish the run from ``initial_step``:
    ``[(initial_epoch, epochs, steps_per_epoch), ...]`` (empty when done)."""
    total = epochs * steps_per_epoch
    if initial_step >= total:
        return []
    epoch, done = divmod(initial_step, steps_per_epoch)
    calls = []
    if done:
        calls.append((epoch, epoch + 1, steps_per_epoch - done))
        epoch += 1
    if epoch < epochs:
        calls.append((epoch, epochs, steps_per_epoch))
    return calls


def _merge(history, new):
    for key, values in new.items():
        history.setdefault(key, []).extend(values)


def resume_fit(
    model,
    dataset,
    epochs,
    steps_per_epoch=None,
    checkpoint=None,
    callbacks=(),
    restore=True,
    on_resume=None,
    **fit_kwargs,
):
    """Fit ``model`` for ``epochs x steps_per_epoch`` steps in total, resuming.

    Args:
        model: a compiled adversarial model.
        dataset: the training data. When ``steps_per_epoch`` is given it should
            repeat (``dataset.repeat()``); otherwise one pass is one epoch.
        epochs: total epochs of the run (not the epochs left).
        steps_per_epoch: steps per epoch (default: the dataset's length).
        checkpoint: a :class:`~keras_gan.callbacks.Checkpoint`; it is restored
            from (when ``restore``) and added to the callbacks.
        callbacks: other Keras callbacks.
        restore: restore the latest checkpoint first.
        on_resume: called as ``on_resume(state, epoch, done, steps_per_epoch,
            total)`` after a restore (e.g. to print a line).
        **fit_kwargs: passed to ``fit`` (``verbose``...).

    Returns:
        A :class:`ResumeResult`; ``history`` merges the ``fit`` calls.
    """
    epochs = int(epochs)
    spe = steps_per_epoch_of(dataset, steps_per_epoch)
    total = epochs * spe
    restored = checkpoint.restore(model) if (checkpoint is not None and restore) else None
    initial = training_step(model)
    if restored is not None and on_resume is not None:
        on_resume(restored, *divmod(initial, spe), spe, total)
    all_callbacks = ([checkpoint] if checkpoint is not None else []) + list(callbacks)
    history = {}
    for initial_epoch, end_epoch, steps in plan(initial, epochs, spe):
        result = model.fit(
            dataset,
            initial_epoch=initial_epoch,
            epochs=end_epoch,
            steps_per_epoch=steps if (steps_per_epoch or steps != spe) else None,
            callbacks=all_callbacks,
            **fit_kwargs,
        )
        _merge(history, result.history)
        if model.stop_training:
            break
    return ResumeResult(history, restored, initial, training_step(model), total)
