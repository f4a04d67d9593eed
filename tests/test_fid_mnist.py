"""FID with the shipped MNIST classifier's features behaves as a distance on real digits:
near 0 between the training and test digits, rising with the strength of noise or blur."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import requires_mnist_idx

from keras_gan.data import load_arrays
from keras_gan.metrics import frechet_distance, inception_score
from keras_gan.metrics.features import extract_features, mnist_classifier

pytestmark = requires_mnist_idx


@pytest.fixture(scope="module")
def digits():
    test, _ = load_arrays("mnist", "test[:3000]")
    train, _ = load_arrays("mnist", "train[:3000]")
    return train, test


def _features(images):
    return extract_features(mnist_classifier(), images)


def _blur(images, sigma):
    radius = int(np.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-(x**2) / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).astype(np.float32)
    k2 = np.outer(kernel, kernel)[:, :, None, None]
    return tf.nn.conv2d(images, k2, strides=1, padding="SAME").numpy()


def test_fid_rises_with_noise_and_blur_and_real_vs_real_is_far_below(digits):
    train, test = digits
    reference = _features(train)
    rng = np.random.default_rng(0)
    real = frechet_distance(reference, _features(test))
    noisy = [
        frechet_distance(reference, _features(np.clip(test + rng.normal(0, s, test.shape), 0, 1)))
        for s in (0.1, 0.25, 0.5, 1.0)
    ]
    blurred = [frechet_distance(reference, _features(_blur(test, s))) for s in (0.5, 1.0, 2.0)]
    assert np.all(np.diff(noisy) > 0), noisy
    assert np.all(np.diff(blurred) > 0), blurred
    pure_noise = frechet_distance(reference, _features(rng.random(test.shape, np.float32)))
    assert real < 0.05 * pure_noise and real < noisy[0] and real < blurred[0]


def test_the_classifier_score_of_real_digits_is_near_ten(digits):
    _, test = digits
    score = inception_score(extract_features(mnist_classifier(), test, kind="logits"),
                            from_logits=True)  # fmt: skip
    assert 9.0 < score.mean <= 10.0
