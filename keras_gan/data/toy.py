"""Toy distributions: the GAN paper's 1-D Gaussian and the WGAN-GP toy sets.

* ``gaussian_1d``: ``N(mean, std^2)`` in one dimension (the setting of Figure 1
  of Goodfellow et al. 2014; defaults ``mean=4, std=0.5``).
* ``gaussians_8``: eight Gaussians on a circle of radius ``sqrt(2)``, standard
  deviation ``0.02 / sqrt(2)`` (WGAN-GP's ``8gaussians``).
* ``gaussians_25``: a 5 x 5 grid with spacing ``2 / sqrt(8)``, standard deviation
  ``0.05 / sqrt(8)`` (WGAN-GP's ``25gaussians``).
* ``swiss_roll``: scikit-learn's 3-D swiss roll with noise 0.25, keeping the
  ``(x, z)`` coordinates scaled by ``1 / 7.5`` (WGAN-GP's ``swissroll``).

Each is a :class:`ToyDistribution` whose ``centers``/``std`` describe the modes
(used by mode-coverage metrics) and whose ``sample`` draws labelled points.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class ToyDistribution:
    """A toy distribution; ``centers`` is ``None`` when it has no discrete modes."""

    name: str
    dim: int
    centers: np.ndarray | None
    std: float | None
    params: dict = dataclasses.field(default_factory=dict)

    @property
    def num_modes(self):
        return 0 if self.centers is None else len(self.centers)

    def sample(self, num_samples, seed=None):
        """Draw ``(points float32 [n, dim], labels int32 [n])``.

        Labels are mode indices (0 for distributions without modes).
        """
        rng = np.random.default_rng(seed)
        n = int(num_samples)
        if self.name == "swiss_roll":
            t = 1.5 * np.pi * (1 + 2 * rng.random(n))
            noise = self.params.get("noise", 0.25)
            x = t * np.cos(t) + noise * rng.standard_normal(n)
            z = t * np.sin(t) + noise * rng.standard_normal(n)
            points = np.stack([x, z], axis=1) / 7.5
            return points.astype(np.float32), np.zeros(n, np.int32)
        labels = rng.integers(0, self.num_modes, size=n).astype(np.int32)
        points = self.centers[labels] + self.std * rng.standard_normal((n, self.dim))
        return points.astype(np.float32), labels


def gaussian_1d(mean=4.0, std=0.5):
    if not std > 0:
        raise ValueError(f"gaussian_1d needs std > 0; got {std}.")
    return ToyDistribution("gaussian_1d", 1, np.array([[float(mean)]]), float(std), {"mean": mean})


def gaussians_8(radius=math.sqrt(2.0), std=0.02 / math.sqrt(2.0)):
    angles = np.arange(8) * (2 * np.pi / 8)
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return ToyDistribution("gaussians_8", 2, centers, float(std))


def gaussians_25(spacing=2.0 / math.sqrt(8.0), std=0.05 / math.sqrt(8.0)):
    grid = np.arange(-2, 3) * spacing
    centers = np.array([(x, y) for x in grid for y in grid])
    return ToyDistribution("gaussians_25", 2, centers, float(std))


def swiss_roll(noise=0.25):
    return ToyDistribution("swiss_roll", 2, None, None, {"noise": float(noise)})


TOY_DISTRIBUTIONS = {
    "gaussian_1d": gaussian_1d,
    "gaussians_8": gaussians_8,
    "gaussians_25": gaussians_25,
    "swiss_roll": swiss_roll,
}


def toy_distribution(name, **params):
    """Look up a toy distribution by name, with optional parameters."""
    if name not in TOY_DISTRIBUTIONS:
        raise ValueError(
            f"Unknown toy distribution {name!r}. Allowed: {sorted(TOY_DISTRIBUTIONS)}."
        )
    return TOY_DISTRIBUTIONS[name](**params)
