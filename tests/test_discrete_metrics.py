"""Validity rate and n-gram Jensen-Shannon divergences, against hand-computed values."""

import math

import numpy as np
import pytest

from keras_gan import metrics
from keras_gan.data.grammar import get_grammar
from keras_gan.metrics.discrete import jensen_shannon, ngram_counts

BRACKETS = get_grammar("brackets")


def ids(*strings):
    return BRACKETS.encode(list(strings), 4)


def test_validity_rate_counts_exactly_the_valid_sequences():
    seqs = ids("()", "([])", "(]", "", "[]()", ")(")
    np.testing.assert_array_equal(
        metrics.valid_mask(seqs, "brackets"), [True, True, False, False, True, False]
    )
    assert metrics.validity_rate(seqs, "brackets") == pytest.approx(0.5)
    one_hot = np.eye(5, dtype=np.float32)[seqs] * 0.6 + 0.08  # probabilities: argmax decoded
    assert metrics.validity_rate(one_hot, BRACKETS) == pytest.approx(0.5)


def test_ngram_jsd_hand_computed():
    """Sequences over tokens {a=1, b=2}: generated ["ab"], real ["aa"].

    Unigrams: P = {a: 1/2, b: 1/2}, Q = {a: 1}, M = {a: 3/4, b: 1/4};
    KL(P||M) = 1/2 log2(2/3) + 1/2 log2(2) and KL(Q||M) = log2(4/3), so
    JSD = (KL(P||M) + KL(Q||M)) / 2 = 0.3112781...
    Bigrams: {ab} vs {aa} are disjoint, JSD = 1.
    """
    generated = np.array([[1, 2]])
    real = np.array([[1, 1]])
    kl_pm = 0.5 * math.log2(2 / 3) + 0.5 * math.log2(2)
    kl_qm = math.log2(4 / 3)
    expected = 0.5 * (kl_pm + kl_qm)
    assert expected == pytest.approx(0.3112781, abs=1e-7)
    result = metrics.ngram_jsd(generated, real, n=(1, 2))
    assert result[1] == pytest.approx(expected, abs=1e-12)
    assert result[2] == pytest.approx(1.0)


def test_ngram_jsd_second_hand_computed_case_with_counts():
    """Generated "aab" and "abb", real "abb" twice (length 3). Bigrams counted at
    every position: generated {aa: 1, ab: 2, bb: 1}, real {ab: 2, bb: 2}.
    P = (1/4, 1/2, 1/4), Q = (0, 1/2, 1/2), M = (1/8, 1/2, 3/8)."""
    generated = np.array([[1, 1, 2], [1, 2, 2]])
    real = np.array([[1, 2, 2], [1, 2, 2]])
    assert ngram_counts(generated, 2) == {(1, 1): 1, (1, 2): 2, (2, 2): 1}
    kl_pm = 0.25 * math.log2(2) + 0.5 * 0 + 0.25 * math.log2(2 / 3)
    kl_qm = 0.5 * 0 + 0.5 * math.log2(4 / 3)
    assert metrics.ngram_jsd(generated, real, n=2)[2] == pytest.approx(0.5 * (kl_pm + kl_qm))


def test_jsd_bounds_identical_and_disjoint():
    seqs = BRACKETS.sample(300, 8, seed=0)
    assert metrics.ngram_jsd(seqs, seqs) == {1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0}
    other = BRACKETS.sample(300, 8, seed=1)
    result = metrics.ngram_jsd(seqs, other)
    assert all(0 < v < 0.1 for v in result.values())  # same distribution, sampling noise
    assert result[1] <= result[4]
    assert jensen_shannon({"x": 3}, {"y": 1}) == 1.0


def test_bad_input():
    with pytest.raises(ValueError, match="do not fit in sequences of length 4"):
        metrics.ngram_jsd(ids("()"), ids("[]"), n=5)
    with pytest.raises(ValueError, match="same length"):
        metrics.ngram_jsd(np.zeros((2, 3), int), np.zeros((2, 4), int))
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        metrics.ngram_jsd(ids("()"), ids("[]"), n=0)
    with pytest.raises(ValueError, match="at least one"):
        metrics.ngram_jsd(np.zeros((0, 4), int), ids("()"))
    with pytest.raises(ValueError, match="NaN or Inf"):
        metrics.validity_rate(np.full((2, 4, 5), np.nan, np.float32))
    with pytest.raises(ValueError, match=r"token ids must be in \[0, 5\)"):
        metrics.validity_rate(np.array([[7, 0, 0, 0]]))
    with pytest.raises(ValueError, match="Unknown grammar"):
        metrics.validity_rate(ids("()"), "dyck")
