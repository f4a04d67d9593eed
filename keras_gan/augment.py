"""DiffAugment: differentiable augmentation of what the discriminator sees.

Zhao et al. (2020), "Differentiable Augmentation for Data-Efficient GAN
Training": the same random, differentiable transformations are applied to real
and generated images, in the discriminator's update and in the generator's (so
G's gradient flows through them), which keeps D from memorising a small training
set. :class:`keras_gan.models.GAN` takes ``augment=DiffAugment(...)``; a config
says ``augment: {policy: [translation, cutout, color], probability: 1.0}``.

Operations (the paper's, for NHWC images; defaults as in its code):

* ``translation``: shift each image by up to ``1/8`` of its size in each direction
  (integer pixels, zero padding);
* ``cutout``: zero a square of half the image's side at a random position;
* ``color``: random brightness (``+ U(-0.5, 0.5)``), saturation (``x`` 's
  deviation from its channel mean times ``U(0, 2)``) and contrast (deviation from
  the image mean times ``U(0.5, 1.5)``).

Each operation is applied to each example with probability ``probability`` (1:
always, as in the paper). All draws come from one ``[2]`` seed per call (the
model passes a fresh one from its seeded stream, :meth:`AdversarialModel.next_seed`),
so a run is reproducible and the same seed gives the same augmentation; they are
the same with and without XLA (:func:`keras_gan.noise.portable_uniform`).

Value ranges: translation and cutout only move pixels or set them to 0, so they
keep data whose range holds 0 (``[-1, 1]``, ``[0, 1]``) in that range; colour
moves values out of it, as in the paper, unless ``value_range=(low, high)`` is
given, which clips the output to it.

Example:

```python
import numpy as np
from keras_gan.augment import DiffAugment

augment = DiffAugment(["translation", "cutout", "color"])
images = np.random.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
out = augment(images, seed=[0, 1])        # the same seed, the same augmentation
```
"""

from __future__ import annotations

import math

import tensorflow as tf

from keras_gan.noise import portable_uniform

__all__ = ["DiffAugment", "OPERATIONS", "get"]

#: Uniform draws each operation takes per example (the last one is its mask).
OPERATIONS = {"translation": 3, "cutout": 3, "color": 4}
TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _translation(x, u):
    """Shift each image by integer offsets in ``[-r, r]`` (``r = 1/8`` of the side)."""
    h, w = x.shape[1], x.shape[2]
    offsets = []
    for size, draw in ((h, u[:, 0]), (w, u[:, 1])):
        r = int(size * TRANSLATION_RATIO + 0.5)
        offsets.append(tf.minimum(tf.floor(draw * (2 * r + 1)), 2 * r) - r)

    def shift_matrix(size, offset):
        # S[b, i, k] = 1 where k = i - offset[b]: out[i] = in[i - offset]
        rows = tf.range(size, dtype=x.dtype)[None, :, None]
        cols = tf.range(size, dtype=x.dtype)[None, None, :]
        return tf.cast(tf.equal(cols, rows - tf.cast(offset, x.dtype)[:, None, None]), x.dtype)

    sy, sx = shift_matrix(h, offsets[0]), shift_matrix(w, offsets[1])
    return tf.einsum("bih,bhwc,bjw->bijc", sy, x, sx)


def _cutout(x, u):
    """Zero a square of half the side at a random centre."""
    h, w = x.shape[1], x.shape[2]
    masks = []
    for size, draw in ((h, u[:, 0]), (w, u[:, 1])):
        side = int(size * CUTOUT_RATIO + 0.5)
        centre = tf.minimum(tf.floor(draw * size), size - 1)
        start = centre - side // 2
        index = tf.range(size, dtype=x.dtype)[None, :]
        inside = (index >= start[:, None]) & (index < start[:, None] + side)
        masks.append(tf.cast(inside, x.dtype))
    square = masks[0][:, :, None] * masks[1][:, None, :]
    return x * (1.0 - square)[..., None]


def _color(x, u):
    """Brightness, saturation and contrast, one random factor each per image."""
    b = tf.reshape(u[:, 0] - 0.5, [-1, 1, 1, 1])
    x = x + b
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * tf.reshape(u[:, 1] * 2.0, [-1, 1, 1, 1]) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * tf.reshape(u[:, 2] + 0.5, [-1, 1, 1, 1]) + mean


_FUNCTIONS = {"translation": _translation, "cutout": _cutout, "color": _color}


class DiffAugment:
    """Differentiable augmentation of image batches ``[batch, height, width, channels]``.

    Args:
        policy: operation names, applied in order (a subset of
            :data:`OPERATIONS`; empty: the identity).
        probability: the chance that each operation is applied to each example.
        value_range: ``(low, high)`` to clip the output to, or ``None``.

    See the module docstring for the operations and an example.
    """

    def __init__(self, policy=("translation", "cutout", "color"), probability=1.0,
                 value_range=None):  # fmt: skip
        if isinstance(policy, str):
            policy = [p for p in policy.split(",") if p]
        policy = tuple(policy)
        unknown = [p for p in policy if p not in OPERATIONS]
        if unknown:
            raise ValueError(
                f"Unknown augmentation(s) {unknown} in the DiffAugment policy. "
                f"Allowed: {sorted(OPERATIONS)}."
            )
        if len(set(policy)) != len(policy):
            raise ValueError(f"The DiffAugment policy names an operation twice: {list(policy)}.")
        if isinstance(probability, bool) or not isinstance(probability, (int, float)):
            raise ValueError(f"DiffAugment probability must be a number; got {probability!r}.")
        if not 0.0 <= float(probability) <= 1.0:
            raise ValueError(f"DiffAugment probability must be in [0, 1]; got {probability!r}.")
        if value_range is not None:
            low, high = (float(v) for v in value_range)
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(f"value_range must be (low, high), low < high; got {value_range}.")
            value_range = (low, high)
        self.policy = policy
        self.probability = float(probability)
        self.value_range = value_range

    def check_data_shape(self, shape):
        """Raise a ``ValueError`` unless ``shape`` (one example) is an image."""
        shape = tuple(shape)
        if len(shape) != 3 or None in shape or min(shape[:2]) < 2:
            raise ValueError(
                "augment (DiffAugment) needs image data of shape (height, width, channels); "
                f"the data's shape is {shape}. Remove augment for this data."
            )

    def __call__(self, x, seed):
        """``x`` augmented with the draws of ``seed`` (a ``[2]`` int seed)."""
        x = tf.convert_to_tensor(x)
        self.check_data_shape(x.shape[1:])
        if not self.policy:
            return x
        if not x.dtype.is_floating:
            x = tf.cast(x, tf.float32)
        seed = tf.cast(seed, tf.int32)
        columns = [OPERATIONS[name] for name in self.policy]
        u = portable_uniform(tf.stack([tf.shape(x)[0], sum(columns)]), seed)
        u = tf.cast(u, x.dtype)
        start = 0
        for name, count in zip(self.policy, columns):
            draws = u[:, start : start + count]
            start += count
            out = _FUNCTIONS[name](x, draws)
            if self.probability < 1.0:
                apply = tf.reshape(draws[:, -1] < self.probability, [-1, 1, 1, 1])
                out = tf.where(apply, out, x)
            x = out
        if self.value_range is not None:
            x = tf.clip_by_value(x, *self.value_range)
        return x

    def get_config(self):
        return {
            "policy": list(self.policy),
            "probability": self.probability,
            "value_range": None if self.value_range is None else list(self.value_range),
        }

    def __repr__(self):
        return f"DiffAugment(policy={list(self.policy)}, probability={self.probability})"


def get(spec):
    """A :class:`DiffAugment` from an instance, a config mapping, or ``None``."""
    if spec is None or isinstance(spec, DiffAugment):
        return spec
    if isinstance(spec, dict):
        allowed = ("policy", "probability", "value_range")
        unknown = sorted(set(spec) - set(allowed))
        if unknown:
            raise ValueError(f"Unknown augment key(s) {unknown}. Allowed: {list(allowed)}.")
        return DiffAugment(**spec)
    raise ValueError(
        f"augment must be a DiffAugment, a mapping {{policy: [...], probability: p}} or None; "
        f"got {spec!r}."
    )
