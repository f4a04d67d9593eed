"""The GumbelSoftmax layer: simplex, temperature, straight-through, Gumbel-max, noise, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from keras_gan.layers import GumbelSoftmax, bits_to_uniform, keyed_uniform

PROBS = np.array([0.5, 0.25, 0.15, 0.07, 0.03])


def logits_and_keys(batch=256, length=8, vocab=5, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(batch, length, vocab)).astype(np.float32) * 2
    keys = rng.normal(size=(batch, 16)).astype(np.float32)
    return tf.constant(logits), tf.constant(keys)


def test_soft_samples_lie_on_the_simplex():
    logits, keys = logits_and_keys()
    for temperature in (10.0, 1.0, 0.1):
        y = GumbelSoftmax(temperature)([logits, keys]).numpy()
        assert y.shape == (256, 8, 5)
        assert (y >= 0).all() and np.isfinite(y).all()
        np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-5)


def test_soft_samples_approach_one_hot_as_the_temperature_drops():
    logits, keys = logits_and_keys()
    peaks = []
    argmaxes = []
    for temperature in (10.0, 2.0, 1.0, 0.5, 0.1, 0.01):
        y = GumbelSoftmax(temperature)([logits, keys]).numpy()
        peaks.append(y.max(-1).mean())
        argmaxes.append(y.argmax(-1))
    assert all(a < b for a, b in zip(peaks, peaks[1:])), peaks
    assert peaks[0] < 0.5 and peaks[-1] > 0.99
    # Keyed noise is the same at every temperature, so the sample itself (the
    # Gumbel-max argmax) does not change, only how soft it is.
    for a in argmaxes[1:]:
        np.testing.assert_array_equal(a, argmaxes[0])


def test_straight_through_is_exactly_one_hot_forward_with_soft_gradients():
    logits, keys = logits_and_keys()
    hard = GumbelSoftmax(0.5, hard=True)
    soft = GumbelSoftmax(0.5)
    y = hard([logits, keys]).numpy()
    assert set(np.unique(y)) == {0.0, 1.0}
    assert (y.sum(-1) == 1.0).all()  # exactly, not approximately
    # ... and it is the one-hot of the soft sample drawn with the same noise.
    np.testing.assert_array_equal(y.argmax(-1), soft([logits, keys]).numpy().argmax(-1))
    weights = tf.constant(np.random.default_rng(1).normal(size=y.shape).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        hard_loss = tf.reduce_sum(hard([logits, keys]) * weights)
        soft_loss = tf.reduce_sum(soft([logits, keys]) * weights)
    grad = tape.gradient(hard_loss, logits).numpy()
    assert np.isfinite(grad).all()
    assert (np.abs(grad).sum(-1) > 0).mean() > 0.99  # non-zero at (almost) every position
    # The straight-through gradient is the soft sample's gradient.
    np.testing.assert_allclose(grad, tape.gradient(soft_loss, logits).numpy(), atol=1e-6)


@pytest.mark.parametrize("noise", ["keyed", "stream"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gumbel_max_class_frequencies_match_the_probabilities(noise, seed):
    """argmax(log p + g) ~ Categorical(p). N = 200,000 draws; every class frequency
    must be within 5 standard errors of p (a false alarm has probability < 3e-6 per
    class), and a chi-square goodness-of-fit test must not reject at 1e-4."""
    n = 200_000
    logits = tf.constant(np.tile(np.log(PROBS, dtype=np.float32), (n, 1)))
    layer = GumbelSoftmax(0.1, hard=True, seed=seed)
    if noise == "keyed":
        keys = tf.constant(np.arange(n, dtype=np.int64) + 10**6 * seed)[:, None]
        y = layer([logits, keys]).numpy()
    else:
        keras.utils.set_random_seed(seed)
        y = layer(logits).numpy()
    counts = y.sum(0)
    freq = counts / n
    se = np.sqrt(PROBS * (1 - PROBS) / n)
    assert (np.abs(freq - PROBS) < 5 * se).all(), (freq, PROBS)
    assert stats.chisquare(counts, PROBS * n).pvalue > 1e-4


def test_keyed_noise_is_uniform_and_uncorrelated():
    keys = tf.constant(np.arange(20_000, dtype=np.int64))[:, None]
    u = keyed_uniform(keys, (50,)).numpy()
    assert u.shape == (20_000, 50) and 0 < u.min() and u.max() < 1
    assert stats.kstest(u.ravel()[:200_000], "uniform").pvalue > 1e-4
    # Neighbouring elements of a row, and the same element of neighbouring keys.
    assert abs(np.corrcoef(u[:, :-1].ravel(), u[:, 1:].ravel())[0, 1]) < 0.01
    assert abs(np.corrcoef(u[:-1].ravel(), u[1:].ravel())[0, 1]) < 0.01


def test_uniform_bits_never_reach_zero_or_one():
    bits = tf.constant([0, 1, 2**31, 2**32 - 2, 2**32 - 1], tf.uint32)
    u = bits_to_uniform(bits).numpy()
    assert (u > 0).all() and (u < 1).all()
    assert np.isfinite(-np.log(-np.log(u))).all()


def test_keyed_noise_depends_only_on_each_row_and_is_identical_under_xla():
    logits, keys = logits_and_keys(batch=10)
    layer = GumbelSoftmax(0.7)
    full = layer([logits, keys]).numpy()
    np.testing.assert_array_equal(full, layer([logits, keys]).numpy())  # deterministic
    np.testing.assert_array_equal(full[3:4], layer([logits[3:4], keys[3:4]]).numpy())
    other = layer([logits, keys + 1e-3]).numpy()
    assert not np.allclose(full, other)  # another key, other noise
    graph = tf.function(lambda x, k: layer([x, k]))
    xla = tf.function(lambda x, k: keyed_uniform(k, (8, 5)), jit_compile=True)
    np.testing.assert_allclose(graph(logits, keys).numpy(), full, atol=1e-6)
    np.testing.assert_array_equal(xla(logits, keys).numpy(), keyed_uniform(keys, (8, 5)).numpy())
    # The salt (``seed``) separates two layers fed the same key.
    assert not np.allclose(GumbelSoftmax(0.7, seed=1)([logits, keys]).numpy(), full)


def test_temperature_is_a_variable_changed_without_retracing():
    logits, keys = logits_and_keys(batch=4)
    layer = GumbelSoftmax(2.0)
    layer([logits, keys])  # built (variables created) before tracing, as in a model
    f = tf.function(lambda x, k: layer([x, k]))
    hot = f(logits, keys).numpy()
    layer.temperature = 0.05
    cold = f(logits, keys).numpy()
    assert f.experimental_get_tracing_count() == 1
    assert layer.temperature == pytest.approx(0.05)
    assert cold.max(-1).mean() > hot.max(-1).mean() + 0.2
    assert [w.name for w in layer.non_trainable_weights if w.name == "temperature"]
    assert not layer.trainable_weights


def test_config_round_trip_and_saving_keep_the_current_temperature(tmp_path):
    z = keras.Input((6,))
    logits = keras.layers.Reshape((3, 4))(keras.layers.Dense(12)(z))
    layer = GumbelSoftmax(1.5, hard=True, seed=3, name="tokens")
    model = keras.Model(z, layer([logits, z]))
    layer.temperature = 0.25
    clone = GumbelSoftmax.from_config(layer.get_config())
    assert (clone.temperature, clone.hard, clone.seed) == (0.25, True, 3)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_layer("tokens").temperature == pytest.approx(0.25)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("temperature", [0, -1.0, float("nan"), float("inf"), "hot", None])
def test_bad_temperatures_are_refused(temperature):
    with pytest.raises(ValueError, match="temperature must be"):
        GumbelSoftmax(temperature)
    layer = GumbelSoftmax(1.0)
    with pytest.raises(ValueError, match="temperature must be"):
        layer.temperature = temperature
    assert layer.temperature == 1.0


def test_non_finite_logits_get_a_clear_error_eagerly_and_in_graphs():
    layer = GumbelSoftmax(1.0, name="tokens")
    bad = tf.constant([[0.0, np.nan, 1.0]])
    key = tf.zeros([1, 2])
    with pytest.raises(ValueError, match="tokens: the logits contain NaN or Inf"):
        layer([bad, key])
    with pytest.raises(ValueError, match="NaN or Inf"):
        layer(tf.constant([[0.0, np.inf]]))
    graph = tf.function(lambda x, k: layer([x, k]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="the logits contain NaN or Inf"):
        graph(bad, key)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="hard must be True or False"):
        GumbelSoftmax(1.0, hard="yes")
    with pytest.raises(ValueError, match="seed must be an int"):
        GumbelSoftmax(1.0, seed=1.5)
    with pytest.raises(ValueError, match=r"takes logits or \[logits, key\]"):
        GumbelSoftmax(1.0)([tf.zeros([1, 3]), tf.zeros([1, 2]), tf.zeros([1, 2])])
