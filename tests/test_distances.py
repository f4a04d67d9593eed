"""Energy distance and MMD: scipy in 1-D, closed forms, invariants in 2-D."""

import math

import numpy as np
import pytest
import scipy.stats

from keras_gan.metrics import distances, energy_distance, mmd


def direct_energy_distance(x, y):
    """The O(n^2) definition, written out pair by pair."""

    def mean_dist(a, b):
        return np.mean([np.linalg.norm(p - q) for p in a for q in b])

    return math.sqrt(2 * mean_dist(x, y) - mean_dist(x, x) - mean_dist(y, y))


def direct_mmd(x, y, sigma):
    def k(p, q):
        return math.exp(-np.sum((p - q) ** 2) / (2 * sigma**2))

    n, m = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(p, q) for p in x for q in y) / (n * m)
    return kxx + kyy - 2 * kxy


def test_energy_distance_equals_scipy_in_one_dimension():
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=300), rng.normal(0.7, 2.0, size=200)
    assert energy_distance(u, v) == pytest.approx(scipy.stats.energy_distance(u, v), rel=1e-9)
    assert energy_distance(u[:, None], v[:, None]) == pytest.approx(
        scipy.stats.energy_distance(u, v), rel=1e-9
    )


def test_energy_distance_in_two_dimensions(monkeypatch):
    monkeypatch.setattr(distances, "_BLOCK", 7)  # several row blocks
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(30, 2))
    assert energy_distance(x, y) == pytest.approx(direct_energy_distance(x, y), rel=1e-9)
    assert energy_distance(x, x) == pytest.approx(0.0, abs=1e-7)
    shifts = [energy_distance(x, y + [s, 0.0]) for s in (0.5, 1.0, 2.0, 4.0)]
    assert all(0 < a < b for a, b in zip(shifts, shifts[1:]))
    # Symmetric and invariant to rotations and translations of both sets.
    rot = np.array([[0.6, -0.8], [0.8, 0.6]])
    assert energy_distance(y, x) == pytest.approx(energy_distance(x, y), rel=1e-12)
    assert energy_distance(x @ rot + 3, y @ rot + 3) == pytest.approx(
        energy_distance(x, y), rel=1e-9
    )


def test_mmd_matches_the_direct_u_statistic(monkeypatch):
    monkeypatch.setattr(distances, "_BLOCK", 5)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(25, 2)), rng.normal(1.0, 1.0, size=(20, 2))
    assert mmd(x, y, bandwidth=0.7) == pytest.approx(direct_mmd(x, y, 0.7), rel=1e-9)
    both = direct_mmd(x, y, 0.5) + direct_mmd(x, y, 2.0)
    assert mmd(x, y, bandwidth=[0.5, 2.0]) == pytest.approx(both, rel=1e-9)


def test_mmd_between_two_gaussians_matches_its_closed_form():
    """For N(mu1, s^2 I) vs N(mu2, s^2 I) in d dimensions and kernel width sigma:
    MMD^2 = 2 c (1 - exp(-|mu1 - mu2|^2 / (2 (sigma^2 + 2 s^2)))),
    c = (sigma^2 / (sigma^2 + 2 s^2))^(d / 2)."""
    rng = np.random.default_rng(3)
    d, s, sigma, delta = 2, 0.5, 1.0, 1.0
    x = rng.normal(0.0, s, size=(3000, d))
    y = rng.normal(0.0, s, size=(3000, d)) + [delta, 0.0]
    c = (sigma**2 / (sigma**2 + 2 * s**2)) ** (d / 2)
    expected = 2 * c * (1 - math.exp(-(delta**2) / (2 * (sigma**2 + 2 * s**2))))
    assert mmd(x, y, bandwidth=sigma) == pytest.approx(expected, rel=0.05)
    # Same distribution: the unbiased estimate is ~0 (well below the shifted one).
    same = mmd(x, rng.normal(0.0, s, size=(3000, d)), bandwidth=sigma)
    assert abs(same) < 0.02 * expected


def test_distances_reject_bad_input():
    with pytest.raises(ValueError, match="same dimension; got 2 and 3"):
        energy_distance(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="x contains NaN"):
        mmd(np.full((4, 2), np.nan), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        mmd(np.zeros((4, 2)), np.ones((4, 2)), bandwidth=0)
    with pytest.raises(ValueError, match="y needs at least one sample"):
        energy_distance(np.zeros((4, 2)), np.zeros((0, 2)))
