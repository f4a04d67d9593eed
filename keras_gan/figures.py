"""The paper's sample figures: nearest training neighbours (Fig. 2) and z interpolation (Fig. 3).

* :func:`nearest_neighbour_figure`: a grid of random samples whose rightmost
  column (framed in yellow, as in the paper) shows, for the sample next to it,
  its nearest training example in Euclidean distance: evidence that the model
  did not memorise the training set.
* :func:`interpolation_figure`: each row generates from points on the line
  between two random latent vectors ``z0`` and ``z1``
  (``(1 - t) z0 + t z1``, ``t`` from 0 to 1 in equal steps).

:func:`nearest_neighbours` is an exact L2 search (float64, chunked over the
reference set, so memory is bounded by ``batch_size x num_queries``).
:func:`write_figures` writes both figures as PNGs and, given a ``logdir``, as
TensorBoard images; ``keras-gan figures`` runs it.

Example:

```python
from keras_gan import figures
from keras_gan.data import load_arrays

x_train, _ = load_arrays("mnist", "train")
paths = figures.write_figures(gan, x_train, "figures/", logdir="runs/mnist")
```
"""

from __future__ import annotations

import math
import os

import numpy as np

from keras_gan.images import make_grid, save_png, to_uint8

__all__ = [
    "interpolation_figure",
    "nearest_neighbour_figure",
    "nearest_neighbours",
    "write_figures",
]

_YELLOW = np.array([255, 215, 0], np.uint8)


def nearest_neighbours(queries, reference, batch_size=8192):
    """Index and Euclidean distance of each query's nearest row of ``reference``.

    Exact: float64 distances (``||q||^2 - 2 q.r + ||r||^2`` on data centred on
    the queries' mean, for speed), chunked over ``reference``; the winner's
    distance is then recomputed from the explicit difference.

    Returns:
        ``(indices int64 [n], distances float64 [n])``.
    """
    q = np.asarray(queries, np.float64)
    if q.ndim < 1 or len(q) == 0:
        raise ValueError("nearest_neighbours needs at least one query.")
    q = q.reshape(len(q), -1)
    ref = np.asarray(reference)
    if ref.ndim < 1 or len(ref) == 0:
        raise ValueError("nearest_neighbours needs a non-empty reference set.")
    ref = ref.reshape(len(ref), -1)
    if ref.shape[1] != q.shape[1]:
        raise ValueError(
            f"queries have {q.shape[1]} values per example but the reference set {ref.shape[1]}."
        )
    center = q.mean(axis=0)
    qc = q - center
    qq = np.einsum("ij,ij->i", qc, qc)
    best = np.full(len(q), np.inf)
    index = np.zeros(len(q), np.int64)
    for start in range(0, len(ref), batch_size):
        chunk = np.asarray(ref[start : start + batch_size], np.float64) - center
        d2 = qq[:, None] - 2.0 * qc @ chunk.T + np.einsum("ij,ij->i", chunk, chunk)[None, :]
        arg = d2.argmin(axis=1)
        val = d2[np.arange(len(q)), arg]
        better = val < best
        best[better] = val[better]
        index[better] = start + arg[better]
    exact = np.sqrt(((np.asarray(ref[index], np.float64) - q) ** 2).sum(axis=1))
    return index, exact


def _as_images(samples):
    """``[n, h, w, c]`` images; flat square examples (e.g. 784) become ``[n, s, s, 1]``."""
    samples = np.asarray(samples)
    if samples.ndim == 4 and samples.shape[-1] in (1, 3, 4):
        return samples
    if samples.ndim == 3:
        return samples[..., None]
    if samples.ndim == 2:
        side = math.isqrt(samples.shape[1])
        if side * side == samples.shape[1] and side > 1:
            return samples.reshape(len(samples), side, side, 1)
    raise ValueError(
        f"The figures need image samples [n, h, w(, c)]; this generator makes "
        f"{list(samples.shape[1:])}."
    )


def _rgb(images):
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images[..., :3]


def nearest_neighbour_figure(samples, train, cols=6, value_range=(0.0, 1.0), padding=2):
    """The paper's Figure 2 as a uint8 RGB image.

    Args:
        samples: ``rows * cols`` generated images, row by row.
        train: the training images (searched exhaustively).
        cols: samples per row; one column of neighbours is added on the right.
        value_range: the data range (for the pixel scaling).

    Returns:
        ``(image, indices)``: the figure and, per row, the index in ``train``
        of the nearest neighbour of the row's last sample.
    """
    images = _as_images(samples)
    cols = int(cols)
    if cols < 1 or len(images) % cols:
        raise ValueError(f"{len(images)} samples do not fill rows of cols={cols}.")
    train = np.asarray(train)
    if train.ndim == 0 or len(train) == 0:
        raise ValueError("The training set for the nearest-neighbour search is empty.")
    train_images = _as_images(train[:1])  # shape check only
    if train_images.shape[1:] != images.shape[1:]:
        raise ValueError(
            f"Training images {list(train_images.shape[1:])} differ from the samples "
            f"{list(images.shape[1:])}."
        )
    last = images[cols - 1 :: cols]
    indices, _ = nearest_neighbours(last, train)
    neighbours = _as_images(train[indices])
    tiles = _rgb(to_uint8(images, value_range))
    near = _rgb(to_uint8(neighbours, value_range))
    rows = len(last)
    left = make_grid(tiles, ncols=cols, padding=padding)
    right = make_grid(near, ncols=1, padding=padding)
    h, w = images.shape[1:3]
    for r in range(rows):  # a yellow frame around each neighbour, in the padding
        y = r * (h + padding)
        right[y : y + h + 2 * padding, 0:padding] = _YELLOW
        right[y : y + h + 2 * padding, w + padding : w + 2 * padding] = _YELLOW
        right[y : y + padding, 0 : w + 2 * padding] = _YELLOW
        right[y + h + padding : y + h + 2 * padding, 0 : w + 2 * padding] = _YELLOW
    gap = np.full((left.shape[0], 2 * padding, 3), 255, np.uint8)
    return np.concatenate([left, gap, right], axis=1), indices


def interpolation_latents(z0, z1, steps):
    """``[rows * steps, latent_dim]``: row ``i`` goes linearly from ``z0[i]`` to ``z1[i]``."""
    z0 = np.asarray(z0, np.float32)
    z1 = np.asarray(z1, np.float32)
    if z0.shape != z1.shape or z0.ndim != 2:
        raise ValueError(f"z0 and z1 must both be [rows, latent_dim]; got {z0.shape}, {z1.shape}.")
    if int(steps) < 2:
        raise ValueError(f"steps must be >= 2; got {steps}.")
    t = np.linspace(0.0, 1.0, int(steps), dtype=np.float32)[None, :, None]
    return ((1.0 - t) * z0[:, None, :] + t * z1[:, None, :]).reshape(-1, z0.shape[1])


def interpolation_figure(generator, rows=5, steps=10, seed=0, value_range=(0.0, 1.0)):
    """The paper's Figure 3 as a uint8 image: ``rows`` interpolations of ``steps`` images.

    ``generator`` is a :class:`keras_gan.loading.LoadedGenerator` or an
    :class:`~keras_gan.models.AdversarialModel` (anything with ``generate(z)``
    and ``latent_dim``/``noise``). The end points are drawn from the prior with
    ``seed``.
    """
    from keras_gan.noise import stateless_latent_noise

    rows = int(rows)
    if rows < 1:
        raise ValueError(f"rows must be >= 1; got {rows}.")
    ends = stateless_latent_noise(2 * rows, generator.latent_dim, seed, generator.noise).numpy()
    z = interpolation_latents(ends[:rows], ends[rows:], steps)
    images = _as_images(generator.generate(z))
    return make_grid(images, ncols=int(steps), value_range=value_range)


def write_figures(
    generator,
    train,
    out_dir,
    logdir=None,
    rows=6,
    cols=6,
    interpolation_rows=5,
    steps=10,
    seed=0,
    value_range=(0.0, 1.0),
):
    """Write ``samples_nearest.png`` (Fig. 2) and ``interpolation.png`` (Fig. 3) to ``out_dir``.

    ``generator``: a :class:`~keras_gan.loading.LoadedGenerator` or an
    AdversarialModel. With ``logdir`` the figures also go to TensorBoard
    (``logdir/figures``, tags ``figures/samples_nearest`` and
    ``figures/interpolation``). Interpolation is skipped (with the reason in the
    returned ``skipped`` dict) when the generator cannot be fed latent vectors.

    Returns:
        ``{"samples_nearest": path, "interpolation": path, "skipped": {...}}``.
    """
    from keras_gan.loading import LoadedGenerator

    if not isinstance(generator, LoadedGenerator) and not hasattr(generator, "generate"):
        raise ValueError(
            f"write_figures needs a LoadedGenerator or an AdversarialModel; got "
            f"{type(generator).__name__}."
        )
    rows, cols = int(rows), int(cols)
    if rows < 1 or cols < 1:
        raise ValueError(f"rows and cols must be >= 1; got {rows}, {cols}.")
    samples = np.asarray(generator.sample(rows * cols, seed=seed))
    figures = {}
    figures["samples_nearest"], _ = nearest_neighbour_figure(samples, train, cols, value_range)
    skipped = {}
    can_interpolate = getattr(generator, "generate_fn", True) is not None
    if can_interpolate and generator.latent_dim and generator.noise:
        figures["interpolation"] = interpolation_figure(
            generator, interpolation_rows, steps, seed, value_range
        )
    else:
        skipped["interpolation"] = (
            "the model cannot be fed latent vectors z (a SavedModel without a 'z' signature) "
            "or its prior is unknown"
        )
    os.makedirs(out_dir, exist_ok=True)
    paths = {
        name: save_png(image, os.path.join(out_dir, f"{name}.png"))
        for name, image in figures.items()
    }
    if logdir:
        import tensorflow as tf

        writer = tf.summary.create_file_writer(os.path.join(logdir, "figures"))
        with writer.as_default():
            for name, img in figures.items():
                tf.summary.image(f"figures/{name}", img[None], step=0)
        writer.close()
    paths["skipped"] = skipped
    return paths
