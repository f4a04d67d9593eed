"""FID, KID, IS, precision/recall and density/coverage against direct formulas
written here, on hand-checkable and random sets, and their input checks."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from keras_gan.metrics import (
    density_coverage,
    frechet_distance,
    gaussian_statistics,
    inception_score,
    kernel_distance,
    precision_recall,
)


def random_covariance(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


# ----------------------------------------------------------------- FID
def test_fid_of_commuting_gaussians_is_the_closed_form():
    """Diagonal covariances: tr sqrt(S_a S_b) = sum sqrt(a_i b_i)."""
    rng = np.random.default_rng(0)
    va, vb = rng.uniform(0.1, 3, 16), rng.uniform(0.1, 3, 16)
    ma, mb = rng.normal(size=16), rng.normal(size=16)
    expected = ((ma - mb) ** 2).sum() + ((np.sqrt(va) - np.sqrt(vb)) ** 2).sum()
    got = frechet_distance((ma, np.diag(va)), (mb, np.diag(vb)))
    assert got == pytest.approx(expected, rel=1e-9)


def test_fid_of_correlated_gaussians_agrees_with_the_eigenvalues_of_the_product():
    """General covariances: tr sqrt(S_a S_b) from the (non-symmetric) product's
    eigenvalues, a different route from the package's symmetric one."""
    rng = np.random.default_rng(1)
    for d in (2, 10, 64):
        sa, sb = random_covariance(rng, d), random_covariance(rng, d)
        ma, mb = rng.normal(size=d), rng.normal(size=d)
        trace_sqrt = np.sqrt(np.linalg.eigvals(sa @ sb).real.clip(0)).sum()
        expected = ((ma - mb) ** 2).sum() + np.trace(sa) + np.trace(sb) - 2 * trace_sqrt
        assert frechet_distance((ma, sa), (mb, sb)) == pytest.approx(expected, rel=1e-6)


def test_fid_of_features_uses_the_mean_and_the_unbiased_covariance():
    rng = np.random.default_rng(2)
    a = rng.multivariate_normal(np.zeros(5), random_covariance(rng, 5), size=200)
    b = rng.normal(0.3, 1.2, size=(300, 5))
    direct = frechet_distance(
        (a.mean(0), np.cov(a, rowvar=False, ddof=1)), (b.mean(0), np.cov(b, rowvar=False))
    )
    assert frechet_distance(a, b) == pytest.approx(direct, rel=1e-12)
    assert frechet_distance(tf.constant(a, tf.float32), b) == pytest.approx(direct, rel=1e-5)
    mu, sigma = gaussian_statistics(a)
    np.testing.assert_allclose(sigma, np.cov(a, rowvar=False, ddof=1))
    assert frechet_distance((mu, sigma), b) == pytest.approx(direct, rel=1e-12)


def test_fid_of_identical_statistics_is_clipped_to_zero_not_negative():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 40)) @ rng.normal(size=(40, 40))
    assert frechet_distance(x, x) == 0.0 or 0.0 <= frechet_distance(x, x) < 1e-8
    assert frechet_distance(x, x) >= 0.0


# ----------------------------------------------------------------- KID
def direct_kid(a, b):
    """The unbiased MMD² with (x.y/d + 1)^3, by loops over pairs."""
    d = a.shape[1]

    def k(x, y):
        return (x @ y / d + 1.0) ** 3

    n, m = len(a), len(b)
    xx = sum(k(a[i], a[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    yy = sum(k(b[i], b[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    xy = sum(k(a[i], b[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_kid_with_one_subset_of_everything_is_the_exact_unbiased_estimate():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(30, 6)), rng.normal(0.5, size=(25, 6))
    expected = direct_kid(a, b)
    for subsets, size in ((1, 25), (1, 1000), (100, 25)):
        mean, std = kernel_distance(a, b, num_subsets=subsets, subset_size=size)
        assert mean == pytest.approx(expected, rel=1e-9) and std == 0.0


def test_kid_over_subsets_averages_estimates_of_those_subsets():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(60, 4)), rng.normal(0.3, size=(50, 4))
    mean, std = kernel_distance(a, b, num_subsets=5, subset_size=20, seed=7)
    again = kernel_distance(a, b, num_subsets=5, subset_size=20, seed=7)
    assert (mean, std) == tuple(again) and std > 0
    # each subset is a without-replacement draw of 20 from each set, in this order:
    draw = np.random.default_rng(7)
    values = [
        direct_kid(a[draw.choice(60, 20, replace=False)], b[draw.choice(50, 20, replace=False)])
        for _ in range(5)
    ]
    assert mean == pytest.approx(np.mean(values), rel=1e-9)
    assert std == pytest.approx(np.std(values), rel=1e-9)


def test_kid_separates_distributions_and_is_near_zero_for_the_same_one():
    rng = np.random.default_rng(6)
    a, b, c = (rng.normal(size=(2000, 16)) for _ in range(3))
    same = kernel_distance(a, b, num_subsets=20, subset_size=500)
    shifted = kernel_distance(a, c + 0.5, num_subsets=20, subset_size=500)
    assert abs(same.mean) < 3 * same.std + 1e-3
    assert shifted.mean > 20 * max(same.std, abs(same.mean))


# ------------------------------------------------------------------ IS
def direct_inception_score(p):
    marginal = p.mean(0)
    kl = [sum(pi * np.log(pi / qi) for pi, qi in zip(row, marginal) if pi > 0) for row in p]
    return np.exp(np.mean(kl))


def test_is_of_uniform_predictions_is_one_and_of_confident_spread_ones_is_ten():
    assert inception_score(np.full((1000, 10), 0.1)).mean == pytest.approx(1.0, abs=1e-12)
    assert inception_score(np.zeros((1000, 10)), from_logits=True).mean == pytest.approx(1.0)
    confident = np.eye(10)[np.arange(1000) % 10]
    score = inception_score(confident)
    assert score.mean == pytest.approx(10.0, rel=1e-12) and score.std == pytest.approx(0.0)
    one_class = np.eye(10)[np.zeros(1000, int)]
    assert inception_score(one_class).mean == pytest.approx(1.0)


def test_is_agrees_with_the_direct_formula_per_split():
    rng = np.random.default_rng(8)
    logits = rng.normal(0, 3, size=(103, 7))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    bounds = np.linspace(0, 103, 5).round().astype(int)
    per_split = [direct_inception_score(p[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    for got in (inception_score(p, splits=4), inception_score(logits, 4, from_logits=True)):
        assert got.mean == pytest.approx(np.mean(per_split), rel=1e-9)
        assert got.std == pytest.approx(np.std(per_split), rel=1e-6)
    assert inception_score(p, splits=1).mean == pytest.approx(direct_inception_score(p))


def test_is_refuses_logits_passed_as_probabilities():
    with pytest.raises(ValueError, match="from_logits=True"):
        inception_score(np.random.default_rng(0).normal(size=(20, 5)))


# ------------------------------------------------------------- P/R, D/C
def test_precision_recall_on_a_hand_checked_line_counts_the_boundary():
    """1-D, k=1. Real balls: 0 -> r=1, 1 -> r=1, 3 -> r=2. Fake balls: 1 -> 1, 2 -> 1.
    Precision: fake 1 in ball(0) and ball(1); fake 2 on ball(1)'s boundary (<=).
    Recall: real 0 on ball(fake 1)'s boundary, 1 inside, 3 on ball(fake 2)'s boundary."""
    real, fake = np.array([[0.0], [1.0], [3.0]]), np.array([[1.0], [2.0]])
    assert precision_recall(real, fake, k=1) == (1.0, 1.0)
    far = np.array([[1.0], [2.0], [10.0], [12.0]])  # 10 and 12: outside every real ball
    # fake radii (k=1): 1 -> 1, 2 -> 1, 10 -> 2, 12 -> 2; real 0 and 1 within ball(fake 1)
    assert precision_recall(real, far, k=1) == pytest.approx((0.5, 1.0))
    assert precision_recall(real, [[1.0], [2.0], [10.0], [30.0]], k=1) == pytest.approx((0.5, 1.0))


def test_density_coverage_on_a_hand_checked_line_is_strict():
    """Same real balls, k=1. Fake 1 is strictly inside ball(0) (|1-0| = 1 is not < 1: no),
    ball(1) (0 < 1: yes), ball(3) (2 < 2: no); fake 2.5: ball(3) only (0.5 < 2)."""
    real = np.array([[0.0], [1.0], [3.0]])
    dc = density_coverage(real, [[1.0], [2.5]], k=1)
    assert dc.density == pytest.approx((1 + 1) / (1 * 2))
    assert dc.coverage == pytest.approx(2 / 3)  # real 1 and 3 covered, real 0 not (strict)


def direct_prdc(real, fake, k_pr, k_dc):
    def radii(x, k):
        d = np.linalg.norm(x[:, None] - x[None], axis=-1)
        np.fill_diagonal(d, np.inf)
        return np.sort(d, axis=1)[:, k - 1]

    rf = np.linalg.norm(real[:, None] - fake[None], axis=-1)  # [real, fake]
    r_real, r_fake = radii(real, k_pr), radii(fake, k_pr)
    precision = (rf <= r_real[:, None]).any(0).mean()
    recall = (rf <= r_fake[None, :]).any(1).mean()
    r_dc = radii(real, k_dc)
    density = (rf < r_dc[:, None]).sum() / (k_dc * len(fake))
    coverage = (rf.min(1) < r_dc).mean()
    return precision, recall, density, coverage


@pytest.mark.parametrize("shape", [(200, 150, 3), (300, 400, 17)])
def test_prdc_agree_with_direct_distance_matrices(shape):
    n, m, d = shape
    rng = np.random.default_rng(n)
    real, fake = rng.normal(size=(n, d)), rng.normal(0.2, 1.1, size=(m, d))
    p, r, den, cov = direct_prdc(real, fake, 3, 5)
    assert precision_recall(real, fake) == pytest.approx((p, r), abs=1e-12)
    assert density_coverage(real, fake) == pytest.approx((den, cov), abs=1e-12)


def test_prdc_distance_blocks_do_not_change_the_result(monkeypatch):
    from keras_gan.metrics import prdc

    rng = np.random.default_rng(9)
    real, fake = rng.normal(size=(120, 5)), rng.normal(size=(90, 5))
    whole = precision_recall(real, fake), density_coverage(real, fake)
    monkeypatch.setattr(prdc, "BLOCK_BYTES", 8 * 120 * 7)  # 7 rows per block
    assert (precision_recall(real, fake), density_coverage(real, fake)) == whole


# ------------------------------------------------------------ bad input
BAD = [
    (
        lambda: frechet_distance(np.ones((50, 3)), np.ones((50, 4))),
        "same feature dimension; got 3 and 4",
    ),
    (lambda: frechet_distance(np.ones((10, 64)), np.ones((100, 64))), "at least 65"),
    (
        lambda: frechet_distance(np.full((10, 2), np.nan), np.ones((10, 2))),
        "features_a contains NaN or Inf",
    ),
    (lambda: precision_recall(np.ones((3, 2)), np.ones((10, 2)), k=3), r"k=3 must be smaller"),
    (lambda: density_coverage(np.ones((10, 2)), np.ones((10, 2)), k=0), "k must be an int >= 1"),
    (
        lambda: precision_recall(np.ones((10, 2)), [[np.inf, 0]] * 10),
        "fake_features contains NaN or Inf",
    ),
    (
        lambda: kernel_distance(np.ones((50, 2)), np.ones((40, 2)), num_subsets=5, subset_size=45),
        "subset_size=45 is larger than the smaller feature set",
    ),
    (lambda: kernel_distance(np.ones((50, 2)), np.ones((50, 3))), "same feature dimension"),
    (lambda: inception_score(np.full((5, 10), 0.1), splits=10), "one example per split"),
    (lambda: inception_score(np.full((5, 10), np.nan)), "NaN or Inf"),
]


@pytest.mark.parametrize("call,message", BAD)
def test_bad_input_is_one_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_precomputed_real_radii_give_the_same_scores_and_are_checked():
    from keras_gan.metrics.prdc import knn_radii

    rng = np.random.default_rng(10)
    real, fake = rng.normal(size=(150, 6)), rng.normal(0.1, size=(120, 6))
    assert precision_recall(real, fake, real_radii=knn_radii(real, 3)) == precision_recall(
        real, fake
    )
    assert density_coverage(real, fake, real_radii=knn_radii(real, 5)) == density_coverage(
        real, fake
    )
    with pytest.raises(ValueError, match="one squared radius per real sample"):
        precision_recall(real, fake, real_radii=np.ones(3))


def test_fid_of_singular_covariances_is_accurate():
    """Half the directions dead (zero variance), covariances rotated so that rounding
    leaves noise there: the closed form of commuting covariances still holds to 1e-9."""
    rng = np.random.default_rng(11)
    d = 64
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    va, vb = rng.uniform(0.1, 2, d), rng.uniform(0.1, 2, d)
    va[d // 2 :] = vb[d // 2 :] = 0.0
    sa, sb = (q * va) @ q.T, (q * vb) @ q.T
    ma, mb = rng.normal(size=d), rng.normal(size=d)
    expected = ((ma - mb) ** 2).sum() + ((np.sqrt(va) - np.sqrt(vb)) ** 2).sum()
    assert frechet_distance((ma, sa), (mb, sb)) == pytest.approx(expected, rel=1e-9)
