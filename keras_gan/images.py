"""Image grids and PNG files (Pillow), shared by callbacks, figures and the CLI.

Example:

```python
from keras_gan.images import make_grid, save_png

save_png(make_grid(gan.sample(64, seed=0), value_range=(0, 1)), "grid.png")
```
"""

from __future__ import annotations

import math

import numpy as np


def to_uint8(images, value_range=(0.0, 1.0)):
    """Map float images in ``value_range`` to uint8 ``[0, 255]`` (clipping outliers)."""
    lo, hi = (float(v) for v in value_range)
    images = np.asarray(images, np.float32)
    scaled = (np.nan_to_num(images, nan=lo) - lo) / (hi - lo)
    return np.round(np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8)


def make_grid(images, ncols=None, padding=2, value_range=(0.0, 1.0), pad_value=255):
    """Tile ``[n, h, w]`` or ``[n, h, w, c]`` images into one ``[H, W, c]`` uint8 grid.

    ``ncols`` defaults to ``ceil(sqrt(n))``; ``padding`` pixels of ``pad_value``
    separate the tiles.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"make_grid needs images of shape [n, h, w] or [n, h, w, 1|3|4]; got {images.shape}."
        )
    if images.dtype != np.uint8:
        images = to_uint8(images, value_range)
    n, h, w, c = images.shape
    if n == 0:
        raise ValueError("make_grid needs at least one image.")
    ncols = int(ncols or math.ceil(math.sqrt(n)))
    nrows = math.ceil(n / ncols)
    grid = np.full(
        (nrows * (h + padding) + padding, ncols * (w + padding) + padding, c),
        pad_value,
        np.uint8,
    )
    for i in range(n):
        r, col = divmod(i, ncols)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[y : y + h, x : x + w] = images[i]
    return grid


def scatter_image(points, size=256, extent=None, background=None, color=(31, 119, 180)):
    """Render 1-D or 2-D points as a ``[size, size, 3]`` uint8 scatter plot.

    1-D points are drawn as a histogram. ``extent`` is ``(low, high)`` of both
    axes (default: the points' range with a margin). ``background`` is an
    optional ``[size, size, 3]`` uint8 image to draw on (e.g. a critic surface,
    see :func:`heatmap`, or another scatter plot). ``color`` is the RGB color
    of the points.
    """
    from PIL import Image, ImageDraw

    points = np.asarray(points, np.float64)
    if points.ndim == 1:
        points = points[:, None]
    if extent is None:
        finite = points[np.isfinite(points).all(axis=1)]
        lo, hi = (finite.min(), finite.max()) if len(finite) else (-1.0, 1.0)
        margin = 0.1 * (hi - lo) + 1e-6
        extent = (lo - margin, hi + margin)
    lo, hi = (float(e) for e in extent)
    img = (
        Image.fromarray(background)
        if background is not None
        else Image.new("RGB", (size, size), "white")
    )
    draw = ImageDraw.Draw(img)
    if points.shape[1] == 1:
        counts, _ = np.histogram(points[:, 0], bins=size // 4, range=(lo, hi))
        top = max(int(counts.max()), 1)
        for i, count in enumerate(counts):
            height = int((size - 4) * count / top)
            draw.rectangle([i * 4, size - height, i * 4 + 3, size], fill=tuple(color))
    else:
        xy = (points[:, :2] - lo) / (hi - lo) * (size - 1)
        for x, y in xy[np.isfinite(xy).all(axis=1)]:
            draw.ellipse([x - 1, size - 1 - y - 1, x + 1, size - 1 - y + 1], fill=tuple(color))
    return np.asarray(img)


# A perceptually ordered dark-blue -> teal -> yellow ramp (viridis' anchors).
_HEATMAP_ANCHORS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], np.float64
)


def heatmap(values, value_range=None):
    """Color a 2-D array of values ``[rows, cols]`` as a uint8 ``[rows, cols, 3]`` image.

    Low values are dark blue, high values yellow. ``value_range`` is the
    ``(low, high)`` mapped to the ends of the ramp (default: the values' min
    and max). Row 0 is the top of the image: to draw a function on the plane
    under :func:`scatter_image` with the same ``extent``, evaluate it at
    ``y`` decreasing down the rows and ``x`` increasing along the columns.
    """
    values = np.asarray(values, np.float64)
    if values.ndim != 2:
        raise ValueError(f"heatmap needs a 2-D array; got shape {values.shape}.")
    finite = values[np.isfinite(values)]
    if value_range is None:
        value_range = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    lo, hi = (float(v) for v in value_range)
    scaled = np.clip((np.nan_to_num(values, nan=lo) - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    stops = np.linspace(0.0, 1.0, len(_HEATMAP_ANCHORS))
    channels = [np.interp(scaled, stops, _HEATMAP_ANCHORS[:, c]) for c in range(3)]
    return np.round(np.stack(channels, axis=-1)).astype(np.uint8)


def save_png(array, path):
    """Write a uint8 ``[H, W]``/``[H, W, c]`` array as a PNG, atomically."""
    from PIL import Image

    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    from keras_gan.io import atomic_open

    with atomic_open(path, "wb", suffix=".png") as f:
        Image.fromarray(array).save(f, format="PNG")
    return path


def samples_to_image(samples, value_range=(0.0, 1.0), ncols=None):
    """Picture a batch of samples: a tiled grid for images, a scatter for points."""
    samples = np.asarray(samples)
    if samples.ndim >= 3:
        return make_grid(samples, ncols=ncols, value_range=value_range)
    return scatter_image(samples.reshape(len(samples), -1))
