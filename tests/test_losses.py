"""The game's losses against closed forms, the saturation argument, stability."""

import math

import numpy as np
import pytest
import tensorflow as tf

from keras_gan import losses


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_discriminator_loss_is_minus_v():
    real, fake = [2.0, -1.0], [0.5, -3.0]
    v = np.mean([math.log(sigmoid(r)) for r in real]) + np.mean(
        [math.log(1 - sigmoid(f)) for f in fake]
    )
    assert float(losses.discriminator_loss(real, fake)) == pytest.approx(-v, rel=1e-6)


def test_discriminator_loss_at_the_optimum_is_log_4():
    # D = 1/2 everywhere (logit 0): -V = log 4, i.e. C(G) = -log 4 at p_g = p_data.
    zeros = tf.zeros([7, 1])
    assert float(losses.discriminator_loss(zeros, zeros)) == pytest.approx(math.log(4.0))


def test_generator_losses_closed_forms():
    fake = [1.0, -2.0, 0.0]
    minimax = np.mean([math.log(1 - sigmoid(f)) for f in fake])
    nonsat = -np.mean([math.log(sigmoid(f)) for f in fake])
    assert float(losses.minimax_generator_loss(fake)) == pytest.approx(minimax, rel=1e-6)
    assert float(losses.non_saturating_generator_loss(fake)) == pytest.approx(nonsat, rel=1e-6)


@pytest.mark.parametrize("logit", [-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4, 3e38, -3e38])
def test_losses_are_finite_for_every_finite_logit(logit):
    x = tf.constant([[logit]], tf.float32)
    for value in (
        losses.discriminator_loss(x, x),
        losses.minimax_generator_loss(x),
        losses.non_saturating_generator_loss(x),
    ):
        assert np.isfinite(float(value))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ls = [
            losses.discriminator_loss(x, x),
            losses.minimax_generator_loss(x),
            losses.non_saturating_generator_loss(x),
        ]
    for loss in ls:
        assert np.isfinite(tape.gradient(loss, x).numpy()).all()


def test_saturation_argument_measured():
    """Early in training D rejects samples (D(G(z)) ~ 0): the minimax G-gradient
    vanishes while the non-saturating one stays near -1 (per logit)."""
    fake = tf.Variable([[-10.0]])  # D(G(z)) = sigmoid(-10) ~ 4.5e-5
    with tf.GradientTape(persistent=True) as tape:
        minimax = losses.minimax_generator_loss(fake)
        nonsat = losses.non_saturating_generator_loss(fake)
    g_minimax = float(tape.gradient(minimax, fake)[0, 0])
    g_nonsat = float(tape.gradient(nonsat, fake)[0, 0])
    assert abs(g_minimax) == pytest.approx(sigmoid(-10.0), rel=1e-4)
    assert abs(g_minimax) < 1e-4
    assert g_nonsat == pytest.approx(-(1 - sigmoid(-10.0)), rel=1e-4)
    assert abs(g_nonsat) / abs(g_minimax) > 1e4


def test_global_batch_size_scaling():
    x = tf.constant([[1.0], [2.0], [3.0], [4.0]])
    per_replica = losses.non_saturating_generator_loss(x, global_batch_size=8)
    assert float(per_replica) * 2 == pytest.approx(float(losses.non_saturating_generator_loss(x)))


def test_unknown_generator_loss_lists_allowed():
    with pytest.raises(ValueError, match="minimax.*non_saturating"):
        losses.get_generator_loss("hinge")


def test_wasserstein_losses():
    real, fake = tf.constant([[3.0], [1.0]]), tf.constant([[0.5], [-0.5]])
    assert float(losses.wasserstein_critic_loss(real, fake)) == pytest.approx(0.0 - 2.0)
    assert float(losses.wasserstein_generator_loss(fake)) == pytest.approx(0.0)


# ------------------------------------------------------ the loss registry
REAL = np.array([2.0, -0.5, 0.3, 4.0])
FAKE = np.array([-1.0, 0.7, -3.0, 0.0])


def _sp(x):
    return np.log1p(np.exp(x))


def _closed_forms(r, f):
    """(D side, G side) of every registered loss, written from the papers."""
    return {
        "non_saturating": (np.mean(_sp(-r)) + np.mean(_sp(f)), np.mean(_sp(-f))),
        "minimax": (np.mean(_sp(-r)) + np.mean(_sp(f)), -np.mean(_sp(f))),
        "wasserstein": (np.mean(f) - np.mean(r), -np.mean(f)),
        "hinge": (
            np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
            -np.mean(f),
        ),
        "least_squares": (
            0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f**2),
            0.5 * np.mean((f - 1) ** 2),
        ),
        "relativistic_average": (
            np.mean(_sp(-(r - f.mean()))) + np.mean(_sp(f - r.mean())),
            np.mean(_sp(-(f - r.mean()))) + np.mean(_sp(r - f.mean())),
        ),
    }


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_registered_losses_match_their_closed_forms(name):
    loss = losses.get_loss(name)
    d_expected, g_expected = _closed_forms(REAL, FAKE)[name]
    r, f = tf.constant(REAL[:, None], tf.float32), tf.constant(FAKE[:, None], tf.float32)
    assert float(loss.discriminator(r, f)) == pytest.approx(d_expected, rel=1e-5)
    real_for_g = r if loss.generator_needs_real else None
    assert float(loss.generator(real_for_g, f)) == pytest.approx(g_expected, rel=1e-5)
    # Reduction by the global batch size (distribution): sum / global batch.
    half = float(loss.discriminator(r, f, global_batch_size=2 * len(REAL)))
    assert half == pytest.approx(d_expected / 2, rel=1e-5)


def test_registry_has_every_loss_of_the_toolbox():
    assert set(losses.LOSSES) == set(_closed_forms(REAL, FAKE))


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
@pytest.mark.parametrize("logit", [-1e4, -100.0, 0.0, 100.0, 1e4])
def test_registered_losses_and_gradients_are_finite_at_extreme_outputs(name, logit):
    loss = losses.get_loss(name)
    r = tf.constant([[logit], [-logit]], tf.float32)
    f = tf.constant([[-logit], [logit]], tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([r, f])
        values = [loss.discriminator(r, f), loss.generator(r, f)]
    for value in values:
        assert np.isfinite(float(value))
        for grad in tape.gradient(value, [r, f]):
            assert grad is None or np.isfinite(grad.numpy()).all()


def test_unknown_loss_lists_the_allowed_ones():
    with pytest.raises(ValueError, match=r"Unknown loss 'hinge_v2'.*'least_squares'"):
        losses.get_loss("hinge_v2")


def test_score_metrics_per_kind_of_output():
    r, f = tf.constant([[2.0], [0.0]]), tf.constant([[-1.0], [1.0]])
    logit = losses.get_loss("non_saturating").score_metrics(r, f)
    assert float(logit["d_real"]) == pytest.approx((sigmoid(2.0) + 0.5) / 2)
    assert float(losses.get_loss("hinge").score_metrics(r, f)["d_fake"]) == pytest.approx(0.0)
    critic = losses.get_loss("wasserstein").score_metrics(r, f)
    assert float(critic["wasserstein"]) == pytest.approx(1.0)
