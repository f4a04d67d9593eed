"""Parzen-window log-likelihood: correctness, precision, convergence, memory, bad input."""

import dataclasses
import math
import tracemalloc
import warnings

import keras
import numpy as np
import pytest
from conftest import toy_gan
from scipy.special import logsumexp

from keras_gan.metrics import (
    DEFAULT_SIGMAS,
    ParzenResult,
    parzen_evaluate,
    parzen_log_density,
    parzen_log_likelihood,
    select_parzen_sigma,
)
from keras_gan.metrics import parzen as parzen_module


def direct_log_density(samples, data, sigma):
    """Independent float64 reference: explicit differences + scipy's logsumexp."""
    samples = np.asarray(samples, np.float64).reshape(len(samples), -1)
    data = np.asarray(data, np.float64).reshape(len(data), -1)
    d = samples.shape[1]
    out = np.empty(len(data))
    for i, x in enumerate(data):
        sq = ((x[None, :] - samples) ** 2).sum(axis=1)
        out[i] = logsumexp(-sq / (2 * sigma**2))
    return out - math.log(len(samples)) - 0.5 * d * math.log(2 * math.pi * sigma**2)


@pytest.fixture
def unit_data():
    """Image-like data in [0, 1] (the scale of MNIST), 50 dimensions."""
    rng = np.random.default_rng(0)
    samples = rng.random((600, 50)).astype(np.float32)
    data = np.clip(samples[:200] + rng.normal(0, 0.2, (200, 50)), 0, 1).astype(np.float32)
    return samples, data


@pytest.mark.parametrize("sigma", [0.05, 0.2, 1.0])
def test_matches_direct_implementation_in_float64(unit_data, sigma):
    samples, data = unit_data
    got = parzen_log_density(samples, data, sigma, precision="float64", sample_batch_size=128)
    np.testing.assert_allclose(got, direct_log_density(samples, data, sigma), rtol=1e-11)


@pytest.mark.parametrize("sigma", [0.1, 0.2, 1.0])
def test_auto_precision_stays_within_its_stated_bound(unit_data, sigma):
    """``auto`` may use a float32 product: error at most FLOAT32_TOLERANCE nats per point."""
    samples, data = unit_data
    got = parzen_log_density(samples, data, sigma)
    ref = direct_log_density(samples, data, sigma)
    assert np.abs(got - ref).max() <= parzen_module.FLOAT32_TOLERANCE
    # ...and it did pick float32 here (the fast path is the one being checked).
    center = samples.astype(np.float64).mean(0)
    max_sq = ((samples - center) ** 2).sum(1).max() + ((data - center) ** 2).sum(1).max()
    assert parzen_module._resolve_precision("auto", max_sq, np.array([sigma])) == "float32"


def test_small_sigma_switches_to_float64_and_stays_exact(unit_data):
    samples, data = unit_data
    got = parzen_log_density(samples, data, 0.01)
    np.testing.assert_allclose(got, direct_log_density(samples, data, 0.01), rtol=1e-11)


def test_points_far_from_all_samples_are_finite_and_exact():
    rng = np.random.default_rng(1)
    samples = rng.normal(size=(300, 5))
    data = rng.normal(size=(20, 5))
    data[:5] += 1e4  # exp(-||x - s||^2 / 2 sigma^2) underflows to 0 for every sample
    data[5:8] -= 3e6
    for sigma in (0.01, 0.5):
        got = parzen_log_density(samples, data, sigma)
        ref = direct_log_density(samples, data, sigma)
        assert np.isfinite(got).all()
        assert (got[:8] < -1e8).all()
        np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_large_offsets_are_centred_away():
    """Data far from the origin (but near the samples): the expansion would lose all
    precision without centring."""
    rng = np.random.default_rng(2)
    samples = rng.normal(size=(400, 3)) + 1e5
    data = rng.normal(size=(50, 3)) + 1e5
    originals = samples.copy(), data.copy()
    got = parzen_log_density(samples, data, 0.3)
    np.testing.assert_allclose(got, direct_log_density(samples, data, 0.3), atol=1e-4)
    # The inputs are left untouched (centring works on copies of chunks).
    np.testing.assert_array_equal(samples, originals[0])
    np.testing.assert_array_equal(data, originals[1])


def test_several_sigmas_in_one_pass_equal_one_at_a_time(unit_data):
    samples, data = unit_data
    sigmas = [0.1, 0.3, 0.9]
    together = parzen_log_density(samples, data, sigmas, precision="float64")
    assert together.shape == (len(data), 3)
    for k, sigma in enumerate(sigmas):
        np.testing.assert_allclose(
            together[:, k], parzen_log_density(samples, data, sigma, precision="float64")
        )


def test_mean_and_stderr(unit_data):
    samples, data = unit_data
    values = direct_log_density(samples, data, 0.2)
    mean, stderr = parzen_log_likelihood(samples, data, 0.2, precision="float64")
    assert mean == pytest.approx(values.mean(), rel=1e-11)
    assert stderr == pytest.approx(values.std(ddof=1) / math.sqrt(len(values)), rel=1e-9)


@pytest.mark.parametrize(
    "batch_size,sample_batch_size", [(1, 256), (200, 1), (7, 13), (64, 599), (10**6, 10**6)]
)
def test_chunking_does_not_change_the_result(unit_data, batch_size, sample_batch_size):
    samples, data = unit_data
    reference = parzen_log_density(samples, data, [0.1, 0.5], precision="float64")
    got = parzen_log_density(
        samples, data, [0.1, 0.5], batch_size, sample_batch_size, precision="float64"
    )
    np.testing.assert_allclose(got, reference, rtol=1e-12)


def test_work_is_done_in_chunks_of_the_given_sizes(monkeypatch, unit_data):
    samples, data = unit_data
    shapes = []
    real_kernel = parzen_module._kernel

    def recording_kernel(dtype):
        update = real_kernel(dtype)

        def wrapped(x, s, *args):
            shapes.append((tuple(x.shape), tuple(s.shape)))
            return update(x, s, *args)

        return wrapped

    monkeypatch.setattr(parzen_module, "_kernel", recording_kernel)
    parzen_log_density(samples, data, 0.2, batch_size=64, sample_batch_size=256)
    assert len(shapes) == math.ceil(200 / 64) * math.ceil(600 / 256)
    assert max(x[0] for x, _ in shapes) == 64 and max(s[0] for _, s in shapes) == 256
    assert sum(x[0] for x, s in shapes if s[0] == 600 - 2 * 256) == 200  # every data row
    assert sum(s[0] for x, s in shapes) == 600 * math.ceil(200 / 64)  # all samples per row chunk
    bound = parzen_module.working_memory_bytes(1024, 1024, 784, num_sigmas=20)
    assert 45e6 < bound < 55e6  # the figure the docs state for MNIST at the defaults


def test_inputs_are_never_copied_whole():
    """Host memory stays bounded by the chunk sizes: a 40 MB float64 input is read
    chunk by chunk (NumPy allocations traced; TensorFlow's are bounded by the
    chunk shapes, checked above)."""
    rng = np.random.default_rng(3)
    samples = rng.random((25_000, 200))  # float64, 40 MB
    data = rng.random((300, 200))
    parzen_log_density(samples[:10], data[:10], 0.5)  # build the kernel first
    tracemalloc.start()
    try:
        parzen_log_density(samples, data, 0.5, batch_size=128, sample_batch_size=512)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8e6, f"peak traced allocation {peak / 1e6:.1f} MB"


def test_known_gaussian_is_recovered():
    """Samples from N(0, I_2): the held-out Parzen estimate approaches the true log
    density. Tolerance: mean within 0.03 nats (seen: <= 0.005 over 4 seeds) and
    per-point mean absolute error < 0.1 nats (seen: ~0.05), and more samples help."""
    rng = np.random.default_rng(4)
    samples = rng.normal(size=(20_000, 2))
    validation = rng.normal(size=(2000, 2))
    test = rng.normal(size=(2000, 2))
    true = -np.log(2 * np.pi) - 0.5 * (test**2).sum(1)
    sigma, _ = select_parzen_sigma(samples, validation, np.logspace(-2, 1, 31))
    estimate = parzen_log_density(samples, test, sigma)
    assert abs(estimate.mean() - true.mean()) < 0.03
    assert np.abs(estimate - true).mean() < 0.1
    few = samples[:200]
    few_sigma, _ = select_parzen_sigma(few, validation, np.logspace(-2, 1, 31))
    few_error = np.abs(parzen_log_density(few, test, few_sigma) - true).mean()
    assert few_error > 2 * np.abs(estimate - true).mean()


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e2])
def test_sigma_selection_finds_the_right_order_of_magnitude(scale):
    """For N(0, scale^2 I_2) and 20,000 samples the optimal bandwidth is about
    0.2 * scale (Silverman: 0.19); the choice must be within [0.1, 1] * scale."""
    rng = np.random.default_rng(5)
    samples = scale * rng.normal(size=(20_000, 2))
    validation = scale * rng.normal(size=(1000, 2))
    sigma, scores = select_parzen_sigma(samples, validation, np.logspace(-6, 4, 41))
    assert 0.1 * scale <= sigma <= scale
    assert len(scores) == 41 and scores[sigma] == max(scores.values())


def test_default_grid_and_edge_warning(unit_data):
    samples, data = unit_data
    assert len(DEFAULT_SIGMAS) == 20
    assert DEFAULT_SIGMAS[0] == pytest.approx(0.1) and DEFAULT_SIGMAS[-1] == pytest.approx(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sigma, scores = select_parzen_sigma(samples, data)  # optimum ~0.2, inside the grid
    assert set(scores) == set(DEFAULT_SIGMAS) and 0.1 < sigma < 1.0
    with pytest.warns(UserWarning, match="high end of the grid"):
        select_parzen_sigma(samples, data, [0.001, 0.002])


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "samples,data,sigma,match",
    [
        (np.zeros((5, 3)), np.zeros((4, 2)), 0.1, "different example sizes"),
        (np.zeros((0, 3)), np.zeros((4, 3)), 0.1, "samples is empty"),
        (np.zeros((5, 3)), np.zeros((0, 3)), 0.1, "data is empty"),
        (np.zeros((5, 3)), np.zeros((4, 3)), 0.0, "sigma must be finite and > 0"),
        (np.zeros((5, 3)), np.zeros((4, 3)), -1.0, "sigma must be finite and > 0"),
        (np.zeros((5, 3)), np.zeros((4, 3)), np.nan, "sigma must be finite and > 0"),
        (np.array([[0, 1], [np.nan, 0]]), np.zeros((4, 2)), 0.1, r"samples contains NaN.*1\)"),
        (np.zeros((5, 2)), np.array([[0, np.inf]]), 0.1, "data contains NaN or Inf"),
        (np.array([["a", "b"]]), np.zeros((4, 2)), 0.1, "must be a numeric array"),
        (np.float32(1.0), np.zeros((4, 2)), 0.1, "got a scalar"),
    ],
)
def test_bad_input_gives_clear_errors(samples, data, sigma, match):
    with pytest.raises(ValueError, match=match):
        parzen_log_likelihood(samples, data, sigma)


def test_bad_options_give_clear_errors(unit_data):
    samples, data = unit_data
    with pytest.raises(ValueError, match="precision must be one of"):
        parzen_log_density(samples, data, 0.1, precision="float16")
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        parzen_log_density(samples, data, 0.1, batch_size=0)
    with pytest.raises(ValueError, match="one positive number"):
        parzen_log_likelihood(samples, data, [0.1, 0.2])
    with pytest.raises(ValueError, match="sigmas must be distinct"):
        select_parzen_sigma(samples, data, [0.1, 0.1])


# ---------------------------------------------------------------- the protocol
def _toy_splits():
    rng = np.random.default_rng(6)
    return rng.normal(size=(300, 2)).astype(np.float32), rng.normal(size=(200, 2)).astype(
        np.float32
    )


def test_parzen_evaluate_accepts_model_generator_callable_and_array():
    test, validation = _toy_splits()
    gan = toy_gan(seed=0)
    grid = np.logspace(-2, 1, 13)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an untrained net may sit at a grid edge
        from_model = parzen_evaluate(gan, test, validation, num_samples=500, sigmas=grid, seed=3)
        from_generator = parzen_evaluate(
            gan.generator, test, validation, 500, grid, seed=3, noise="normal"
        )
        from_callable = parzen_evaluate(
            lambda n, seed: gan.sample(n, seed=seed), test, validation, 500, grid, seed=3
        )
        from_array = parzen_evaluate(gan.sample(500, seed=3), test, validation, sigmas=grid)
    assert isinstance(from_model, ParzenResult)
    for other in (from_generator, from_callable, from_array):
        assert other.mean == pytest.approx(from_model.mean, rel=1e-5)
        assert other.sigma == from_model.sigma
    assert from_model.num_samples == 500 and from_model.num_test == 300
    assert from_model.num_validation == 200 and len(from_model.sigma_scores) == 13
    assert dict(from_model.sigma_scores)[from_model.sigma] == max(
        v for _, v in from_model.sigma_scores
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        from_model.mean = 0.0
    d = from_model.to_dict()
    assert d["mean"] == from_model.mean and len(d["sigma_scores"]) == 13
    assert "nats" in str(from_model)


def test_parzen_evaluate_bad_input():
    test, validation = _toy_splits()
    gan = toy_gan(seed=0)
    with pytest.raises(ValueError, match="needs noise="):
        parzen_evaluate(gan.generator, test, validation, num_samples=10)
    with pytest.raises(ValueError, match="generated samples have shape"):
        parzen_evaluate(gan, np.zeros((5, 3)), np.zeros((5, 3)), num_samples=10)
    with pytest.raises(ValueError, match="test and validation examples differ"):
        parzen_evaluate(gan, test, np.zeros((5, 3)), num_samples=10)
    with pytest.raises(ValueError, match="only 4 samples"):
        parzen_evaluate(np.zeros((4, 2)), test, validation, num_samples=10)
    with pytest.raises(ValueError, match="returned shape"):
        parzen_evaluate(lambda n, seed: np.zeros((3, 2)), test, validation, num_samples=10)
    with pytest.raises(ValueError, match="num_samples must be an int >= 1"):
        parzen_evaluate(gan, test, validation, num_samples=0)
    with pytest.raises(ValueError, match="needs an AdversarialModel"):
        parzen_evaluate("model.keras", test, validation)
    nan_gen = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda z: z * np.nan)])
    with pytest.raises(ValueError, match="samples contains NaN"):
        parzen_evaluate(nan_gen, test, validation, num_samples=10, noise="normal")
