"""Checkpoints of adversarial training, to resume after a crash or a kill.

:class:`Checkpoint` is a Keras callback built on ``tf.train.Checkpoint`` and
``tf.train.CheckpointManager``. Each checkpoint ``<directory>/ckpt-<step>`` holds

* every variable of the model (``model.variables``): both networks' weights
  and statistics, and every random state the model and its layers own (the
  training noise's ``SeedGenerator``, dropout seeds);
* both optimizers, slots and iteration counters included
  (``g_optimizer.iterations`` is the step counter: one generator update per
  ``fit`` step);
* an epoch counter (epochs completed) and a description of the model's
  variables (shapes, dtypes, optimizer classes) used to refuse an incompatible
  checkpoint with a clear message instead of a TensorFlow error.

It saves every ``every_n_steps`` generator updates and at every epoch end, and
keeps the last ``keep``. Writes are atomic: TensorFlow writes the files under
temporary names and renames them, then atomically replaces the ``checkpoint``
state file, so a process killed mid-write leaves the previous checkpoint as the
latest. Before saving, the weights and the logged losses are checked: nothing
with NaN or Inf is ever written (the last good checkpoint stays the latest).

The ``checkpoint`` index file names the latest checkpoint. When it is missing or
unreadable while ``ckpt-<step>`` files are there (deleted by hand, damaged by a
full disk), :meth:`Checkpoint.restore` finds them by scanning the directory,
restores the newest readable one, writes the index again and logs a warning:
a run never silently restarts from step 0 over its own checkpoints. When no
checkpoint file can be read, it refuses with a :class:`CheckpointError` saying
how to start over (move the directory aside; ``keras-gan train --fresh`` does).
A failure to write a checkpoint on the file system (a full or read-only disk)
is an ``OSError`` naming the checkpoint directory.

Restoring (:meth:`Checkpoint.restore`) keeps the optimizers' *current* learning
rates (a constant rate is a variable TensorFlow would otherwise restore), so a
resumed run follows its configuration; learning-rate schedules follow the
restored step counter. The data pipeline's position is not saved: a resumed
run draws its batches afresh.

Example:

```python
from keras_gan.callbacks import Checkpoint
from keras_gan.resume import resume_fit

checkpoint = Checkpoint("runs/toy/checkpoints", every_n_steps=200, keep=3)
resume_fit(gan, dataset, epochs=20, steps_per_epoch=500, checkpoint=checkpoint)
# Killed and started again, the same lines restore the latest checkpoint and run
# exactly the remaining steps. With plain fit:
state = checkpoint.restore(gan)          # None when there is no checkpoint
gan.fit(dataset, epochs=20, initial_epoch=state.epoch if state else 0,
        callbacks=[checkpoint])
```
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
import re
import shutil

import keras
import tensorflow as tf

from keras_gan.callbacks.state import first_non_finite_log, first_non_finite_weight, training_step
from keras_gan.io import writing

logger = logging.getLogger("keras_gan.checkpoint")

FORMAT = "keras_gan.checkpoint.v1"
CHECKPOINT_NAME = "ckpt"
_INFO_KEY = "info/.ATTRIBUTES/VARIABLE_VALUE"
_FILE_RE = re.compile(rf"^{CHECKPOINT_NAME}-([0-9]+)\.index$")


class CheckpointError(ValueError):
    """No checkpoint of a directory can be restored."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint does not fit the model (another architecture or optimizer)."""


@dataclasses.dataclass(frozen=True)
class RestoredState:
    """Where a restored run stands: the checkpoint, its step and completed epochs, and
    the ``metadata`` it was written with (``None`` when it had none)."""

    path: str
    step: int
    epoch: int
    metadata: dict | None = None


def _optimizers(model):
    found = {}
    for key in ("d_optimizer", "g_optimizer"):
        optimizer = getattr(model, key, None)
        if optimizer is not None:
            found[key] = optimizer
    if not found and getattr(model, "optimizer", None) is not None:
        found["optimizer"] = model.optimizer
    if not found:
        raise ValueError("Checkpoint needs a compiled model (its optimizers are checkpointed).")
    return found


def _spec(variables):
    return [[v.path, [int(d) for d in v.shape], str(v.dtype)] for v in variables]


def describe_model(model):
    """The structure a checkpoint must match: variable shapes/dtypes and optimizers."""
    return {
        "model_class": type(model).__name__,
        "variables": _spec(model.variables),
        "optimizers": {
            key: {"class": type(opt).__name__, "variables": _spec(opt.variables)}
            for key, opt in _optimizers(model).items()
        },
    }


def _first_difference(saved, current, what):
    """A sentence naming the first difference between two variable specs."""
    if len(saved) != len(current):
        return (
            f"{what}: the checkpoint has {len(saved)} variables, this model {len(current)}"
            + _first_shape_difference(saved, current)
        )
    return _first_shape_difference(saved, current, what + ": ")


def _first_shape_difference(saved, current, prefix="; "):
    for i, (s, c) in enumerate(zip(saved, current)):
        if s[1:] != c[1:]:
            return (
                f"{prefix}variable {i} ({c[0]}) is {c[2]} {c[1]} here but {s[2]} {s[1]} "
                f"({s[0]}) in the checkpoint"
            )
    return ""


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _dict_difference(saved, current, prefix=""):
    """Dotted keys whose values differ between two nested dicts."""
    keys = []
    for key in sorted(set(saved) | set(current), key=str):
        a, b = saved.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += _dict_difference(a, b, f"{prefix}{key}.")
        elif a != b:
            keys.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return keys


class Checkpoint(keras.callbacks.Callback):
    """Save the whole training state every ``every_n_steps`` steps and at epoch ends.

    Args:
        directory: where the checkpoints go (created on the first save).
        every_n_steps: generator updates between checkpoints (``None``: only at
            epoch ends).
        keep: how many of the latest checkpoints to keep.
        save_at_epoch_end: also save at the end of every epoch.
        metadata: a JSON-serialisable dict stored with each checkpoint (e.g. the
            architecture part of a config); when restoring into a model that does
            not fit, the keys that changed are named in the error.
        write_directory: where saves go when not ``directory`` (a non-chief
            worker of a multi-worker run saves into a temporary directory and
            restores from the chief's ``directory``; see :mod:`keras_gan.distribute`).
            Only a checkpoint writing its own ``directory`` repairs its index
            or removes partial writes there.

    See the module documentation for what is saved and an example.
    """

    def __init__(
        self,
        directory,
        every_n_steps=None,
        keep=3,
        save_at_epoch_end=True,
        metadata=None,
        write_directory=None,
    ):
        super().__init__()
        if every_n_steps is not None and (
            isinstance(every_n_steps, bool) or int(every_n_steps) != every_n_steps
            or every_n_steps < 1
        ):  # fmt: skip
            raise ValueError(f"every_n_steps must be an int >= 1 or None; got {every_n_steps!r}.")
        if isinstance(keep, bool) or int(keep) != keep or keep < 1:
            raise ValueError(f"keep must be an int >= 1; got {keep!r}.")
        self.directory = os.fspath(directory)
        self.write_directory = os.fspath(write_directory or directory)
        self.every_n_steps = None if every_n_steps is None else int(every_n_steps)
        self.keep = int(keep)
        self.save_at_epoch_end = bool(save_at_epoch_end)
        self.metadata = json.loads(json.dumps(metadata)) if metadata is not None else None
        self._bound = None  # the model the tf.train.Checkpoint was built for
        self._checkpoint = None
        self._manager = None
        self._epoch = None
        self._info = None
        self._last_saved_step = None
        self._steps_this_epoch = None
        #: ``(step, reason)`` of the last save that was refused (non-finite values).
        self.refused = None

    # ------------------------------------------------------------ plumbing
    def _bind(self, model):
        if self._bound is model:
            return
        if self.model is not model:
            super().set_model(model)
        optimizers = _optimizers(model)
        self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self._info = tf.Variable("", dtype=tf.string, trainable=False, name="info")
        self._checkpoint = tf.train.Checkpoint(
            model_variables=list(model.variables),
            epoch=self._epoch,
            info=self._info,
            **optimizers,
        )
        self._manager = self._new_manager()
        self._bound = model

    def _new_manager(self):
        return tf.train.CheckpointManager(
            self._checkpoint,
            self.write_directory,
            max_to_keep=self.keep,
            checkpoint_name=CHECKPOINT_NAME,
        )

    @property
    def writes_own_directory(self):
        return os.path.abspath(self.write_directory) == os.path.abspath(self.directory)

    @property
    def latest(self):
        """Path prefix of the latest complete checkpoint (``None`` if there is none)."""
        return tf.train.latest_checkpoint(self.directory) if os.path.isdir(self.directory) else None

    @property
    def latest_step(self):
        """The step of :attr:`latest` (``None`` if there is none)."""
        latest = self.latest
        return None if latest is None else int(latest.rsplit("-", 1)[1])

    def checkpoints(self):
        """Paths of the kept checkpoints, oldest first."""
        state = (
            tf.train.get_checkpoint_state(self.directory) if os.path.isdir(self.directory) else None
        )
        if state is None:
            return []
        return [
            p if os.path.isabs(p) else os.path.join(self.directory, p)
            for p in state.all_model_checkpoint_paths
        ]

    def scan(self):
        """Paths of the ``ckpt-<step>`` checkpoints found in the directory's files
        (whatever the index says), oldest first."""
        try:
            names = os.listdir(self.directory)
        except OSError:
            return []
        steps = sorted(int(m.group(1)) for m in map(_FILE_RE.match, names) if m)
        return [os.path.join(self.directory, f"{CHECKPOINT_NAME}-{step}") for step in steps]

    def _rewrite_index(self, latest):
        """Write the ``checkpoint`` index again, naming ``latest`` and the scanned
        checkpoints up to it, and rebuild the manager from it (it keeps the last
        ``keep`` of them from then on)."""
        if not self.writes_own_directory:
            return  # the chief's checkpoint directory: the chief repairs it
        step = int(latest.rsplit("-", 1)[1])
        kept = [p for p in self.scan() if int(p.rsplit("-", 1)[1]) <= step]
        with writing(os.path.join(self.directory, "checkpoint")):
            tf.compat.v1.train.update_checkpoint_state(
                self.directory, latest, all_model_checkpoint_paths=kept
            )
        self._manager = self._new_manager()

    # ------------------------------------------------------------ restore
    def restore(self, model=None):
        """Restore the latest checkpoint into ``model`` (default: the callback's).

        Returns a :class:`RestoredState`, or ``None`` when there is no
        checkpoint. A latest checkpoint that cannot be read (e.g. its files were
        damaged) is skipped for the one before it, with a warning. Checkpoint
        files the index does not name (a missing or damaged index) are found by
        scanning the directory; restoring one of them writes the index again.

        Raises:
            CheckpointMismatchError: the checkpoint was written for another
                architecture or other optimizers (nothing is restored).
        """
        model = model if model is not None else self.model
        if model is None:
            raise ValueError("Checkpoint.restore needs a model.")
        self._bind(model)
        self._remove_partial_writes()
        candidates = list(reversed(self.checkpoints()))
        latest = self.latest
        if latest is not None and latest not in candidates:
            candidates.insert(0, latest)
        indexed = set(candidates)
        # Files the index does not name: all of them when it is missing or damaged.
        candidates += [p for p in reversed(self.scan()) if p not in indexed]
        if candidates and not indexed:
            logger.warning(
                "the checkpoint index %s is missing or unreadable; found %d checkpoint(s) "
                "by scanning the directory",
                os.path.join(self.directory, "checkpoint"),
                len(candidates),
            )
        failures = []
        for path in candidates:
            try:
                saved_info = self._read_info(path)
            except Exception as e:  # missing or damaged files
                failures.append(f"{path}: {_first_line(e)}")
                logger.warning("checkpoint %s is unreadable (%s); trying an older one", path, e)
                continue
            self._check_compatible(path, saved_info, model)
            kept = self._hyperparameters()
            try:
                status = self._checkpoint.restore(path)
                status.assert_existing_objects_matched()
            except ValueError as e:  # a shape TensorFlow refused after all
                raise CheckpointMismatchError(
                    f"Checkpoint {path} does not fit this model: {_first_line(e)} "
                    f"Use another directory, or delete {self.directory} to start over."
                ) from None
            except Exception as e:  # damaged data: the previous checkpoint may do
                failures.append(f"{path}: {_first_line(e)}")
                logger.warning("cannot restore %s (%s); trying an older one", path, e)
                continue
            for variable, value in kept:
                variable.assign(value)
            if path not in indexed:
                logger.warning("restored %s, which the index did not name; index rewritten", path)
                self._rewrite_index(path)
            self._info.assign(self._info_json())
            step = training_step(model)
            self._last_saved_step = step
            saved_metadata = (saved_info or {}).get("metadata")
            return RestoredState(path, step, int(self._epoch.numpy()), saved_metadata)
        if failures:
            raise CheckpointError(
                f"No checkpoint in {self.directory} can be read (" + "; ".join(failures) + "). "
                f"Nothing was changed; to start over, move {self.directory} aside "
                "(keras-gan train --fresh renames it) or delete it."
            )
        return None

    def _read_info(self, path):
        reader = tf.train.load_checkpoint(path)
        if not reader.has_tensor(_INFO_KEY):
            return None
        value = reader.get_tensor(_INFO_KEY)
        value = value.decode("utf-8") if isinstance(value, bytes) else str(value)
        return json.loads(value) if value else None

    def _check_compatible(self, path, saved, model):
        if saved is None or saved.get("format") != FORMAT:
            return  # not written by this class: TensorFlow's own checks apply
        current = describe_model(model)
        problems = []
        if saved["structure"]["model_class"] != current["model_class"]:
            problems.append(
                f"the checkpoint is of a {saved['structure']['model_class']}, this model is a "
                f"{current['model_class']}"
            )
        difference = _first_difference(
            saved["structure"]["variables"], current["variables"], "model variables"
        )
        if difference:
            problems.append(difference)
        for key, opt in current["optimizers"].items():
            old = saved["structure"]["optimizers"].get(key)
            if old is None:
                problems.append(f"the checkpoint has no {key}")
            elif old["class"] != opt["class"]:
                problems.append(
                    f"{key} is {opt['class']} here but {old['class']} in the checkpoint"
                )
            else:
                difference = _first_difference(old["variables"], opt["variables"], key)
                if difference:
                    problems.append(difference)
        if not problems:
            return
        changed = []
        if saved.get("metadata") is not None and self.metadata is not None:
            changed = _dict_difference(saved["metadata"], self.metadata)
        message = f"Checkpoint {path} does not fit this model: " + "; ".join(problems) + "."
        if changed:
            message += " Changed since the checkpoint: " + "; ".join(changed) + "."
        message += (
            f" Resume with the configuration it was written with, use another directory, "
            f"or delete {self.directory} to start over."
        )
        raise CheckpointMismatchError(message)

    def _hyperparameters(self):
        """Current learning-rate variables and values (kept across a restore)."""
        kept = []
        for optimizer in _optimizers(self._bound).values():
            for variable in optimizer.variables:
                if variable.name == "learning_rate":
                    kept.append((variable, variable.numpy()))
        return kept

    def _remove_partial_writes(self):
        """Temporary files of a save that was killed half-way (never referenced)."""
        if not self.writes_own_directory:
            return
        for path in glob.glob(os.path.join(glob.escape(self.directory), "*_temp*")):
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.remove(path)
                except OSError:
                    pass

    # ------------------------------------------------------------ saving
    def _info_json(self):
        return json.dumps(
            {
                "format": FORMAT,
                "structure": describe_model(self._bound),
                "metadata": self.metadata,
            }
        )

    def non_finite(self, logs=None):
        """What is NaN/Inf in ``logs`` or the model's weights (``None``: nothing)."""
        bad = first_non_finite_log(logs)
        if bad:
            return f"{bad[0]} is {bad[1]}"
        weight = first_non_finite_weight(self.model)
        if weight:
            return f"weight {weight[0]} has {weight[1]} NaN/Inf value(s)"
        return None

    def save(self, logs=None):
        """Write a checkpoint of the current state now; return its path, or
        ``None`` if the weights or ``logs`` hold NaN/Inf (nothing is written)."""
        self._bind(self.model)
        step = training_step(self.model)
        problem = self.non_finite(logs)
        if problem:
            self.refused = (step, problem)
            logger.warning(
                "not writing a checkpoint at step %d: %s; the latest checkpoint stays %s",
                step,
                problem,
                self.latest,
            )
            return None
        self._info.assign(self._info_json())
        with writing(self.write_directory):  # a full or read-only disk: an OSError naming it
            path = self._manager.save(checkpoint_number=step)
        self._last_saved_step = step
        logger.debug("wrote checkpoint %s", path)
        return path

    # ------------------------------------------------------------ callback
    def supports_steps_per_execution(self, n):
        """``fit`` may run ``n`` steps per call if saves still fall on multiples
        of ``every_n_steps`` (see ``keras_gan.models.base``, "Steps per execution")."""
        return self.every_n_steps is None or self.every_n_steps % n == 0

    def on_train_begin(self, logs=None):
        self._bind(self.model)
        if self._last_saved_step is None:
            self._last_saved_step = training_step(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self._steps_this_epoch = self.params.get("steps") if self.params else None

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps is None:
            return
        if (
            self.save_at_epoch_end
            and self._steps_this_epoch is not None
            and batch + 1 >= self._steps_this_epoch
        ):
            return  # the epoch-end save follows
        step = training_step(self.model)
        if step // self.every_n_steps > self._last_saved_step // self.every_n_steps:
            self.save(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._epoch.assign(epoch + 1)
        if self.save_at_epoch_end:
            self.save(logs)
