"""The domain classifiers shipped in keras_gan/metrics/weights: offline loading,
test-split accuracy, what .features and .logits are, and the training script."""

import importlib.resources
import json
import os
import socket

import keras
import numpy as np
import pytest
from conftest import REPO, requires_mnist_idx

from keras_gan.metrics import features as F
from keras_gan.metrics import train_classifier

FASHION_DIR = os.path.join(os.environ.get("KERAS_GAN_DATA_DIR", ""), "fashion-mnist")
requires_fashion_idx = pytest.mark.skipif(
    not os.path.isfile(os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz")),
    reason="set KERAS_GAN_DATA_DIR to a directory holding the Fashion-MNIST IDX files "
    "(fashion-mnist/; ../shared/data in CI)",
)


def _test_split(name):
    from keras_gan.data import load_arrays

    return load_arrays(name, "test", source="idx")


@pytest.mark.parametrize("dataset", ["mnist", "fashion_mnist"])
def test_weights_ship_as_package_data_and_load_without_network(monkeypatch, dataset):
    path = (
        importlib.resources.files("keras_gan.metrics")
        / "weights"
        / f"{dataset}_classifier.weights.h5"
    )
    assert path.is_file()
    assert os.path.samefile(str(path), F.CLASSIFIER_WEIGHTS[dataset])
    assert 100_000 < os.path.getsize(str(path)) < 5_000_000  # "a few MB at most"

    def no_network(*args, **kwargs):
        raise AssertionError("the classifier tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    clf = F.load_classifier(str(path), name=f"{dataset}_classifier")  # not the cached one
    assert (clf.name, clf.input_shape, clf.feature_dim, clf.num_classes) == (
        f"{dataset}_classifier",
        (28, 28, 1),
        128,
        10,
    )
    assert "sha256" in clf.weights and clf.resize is None


def test_setup_ships_the_weights_in_a_wheel():
    with open(os.path.join(REPO, "setup.py"), encoding="utf-8") as f:
        setup_py = f.read()
    assert '"metrics/weights/*.h5"' in setup_py


def test_the_shipped_classifier_is_cached():
    assert F.mnist_classifier() is F.mnist_classifier()
    assert F.as_extractor("mnist") is F.mnist_classifier()
    assert F.fashion_mnist_classifier() is not F.mnist_classifier()


@requires_mnist_idx
def test_mnist_classifier_test_accuracy_is_at_least_99_percent():
    x, y = _test_split("mnist")
    assert x.shape == (10_000, 28, 28, 1) and 0.0 <= x.min() and x.max() <= 1.0
    accuracy = (F.mnist_classifier().logits(x, batch_size=1000).argmax(1) == y).mean()
    assert accuracy >= 0.990, accuracy


@requires_fashion_idx
def test_fashion_mnist_classifier_test_accuracy_is_at_least_90_percent():
    x, y = _test_split("fashion_mnist")
    assert x.shape == (10_000, 28, 28, 1)
    accuracy = (F.fashion_mnist_classifier().logits(x, batch_size=1000).argmax(1) == y).mean()
    assert accuracy >= 0.900, accuracy


def test_features_are_the_penultimate_layer_and_logits_the_last():
    clf = F.mnist_classifier()
    x = np.random.default_rng(0).uniform(size=(37, 28, 28, 1)).astype(np.float32)
    feats, logits = clf.features(x, batch_size=16), clf.logits(x, batch_size=16)
    assert feats.shape == (37, 128) and feats.dtype == np.float32
    assert logits.shape == (37, 10) and logits.dtype == np.float32
    net = clf.model
    penultimate = keras.Model(net.input, net.get_layer("features").output)
    np.testing.assert_allclose(feats, np.asarray(penultimate(x, training=False)), atol=1e-5)
    assert (feats >= 0).all()  # ReLU outputs
    # The last layer maps the features to the logits (dropout is off at inference).
    kernel, bias = net.get_layer("logits").get_weights()
    assert net.layers[-1].name == "logits" and kernel.shape == (128, 10)
    np.testing.assert_allclose(logits, feats @ kernel + bias, rtol=1e-4, atol=1e-4)
    # Both from one pass equal the separate calls; batch size does not matter.
    both = clf.outputs(x, batch_size=37)
    np.testing.assert_allclose(both["features"], feats, atol=1e-5)
    np.testing.assert_allclose(both["logits"], logits, atol=1e-5)


@requires_mnist_idx
def test_the_two_classifiers_see_their_own_data():
    """The MNIST classifier's predictions on Fashion images are not the Fashion
    labels (each set of weights belongs to its data set)."""
    from keras_gan.data import load_arrays

    x, y = load_arrays("mnist", "test", source="idx", num_examples=500)
    mnist_acc = (F.mnist_classifier().logits(x).argmax(1) == y).mean()
    fashion_on_mnist = (F.fashion_mnist_classifier().logits(x).argmax(1) == y).mean()
    assert mnist_acc > 0.98 and fashion_on_mnist < 0.5


# ----------------------------------------------------------- training script
def test_train_classifier_writes_weights_only_above_the_target(tmp_path, monkeypatch, capsys):
    net = F.classifier_network(name="mnist_classifier")
    monkeypatch.setattr(train_classifier, "train", lambda *a, **k: (net, 0.5, 1.0))
    out = tmp_path / "w" / "mnist_classifier.weights.h5"
    assert train_classifier.main(["--dataset", "mnist", "--out", str(out)]) == 1
    assert not out.exists()
    assert "below --min-accuracy 0.99" in capsys.readouterr().err

    monkeypatch.setattr(train_classifier, "train", lambda *a, **k: (net, 0.995, 1.0))
    assert train_classifier.main(["--dataset", "mnist", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[0])
    assert report["test_accuracy"] == 0.995 and report["epochs"] == 5
    assert os.listdir(out.parent) == [out.name]  # no temporary file left behind
    x = np.random.default_rng(1).uniform(size=(4, 28, 28, 1)).astype(np.float32)
    loaded = F.load_classifier(out)
    np.testing.assert_allclose(loaded.logits(x), np.asarray(net(x)[1]), atol=1e-5)


def test_train_classifier_arguments():
    args = train_classifier.parse_args(["--dataset", "fashion_mnist", "--out", "f.weights.h5"])
    assert (args.epochs, args.min_accuracy) == (10, 0.90)
    with pytest.raises(SystemExit):
        train_classifier.parse_args(["--dataset", "mnist", "--out", "f.h5"])
    with pytest.raises(SystemExit):
        train_classifier.parse_args(["--dataset", "cifar10", "--out", "f.weights.h5"])


def test_missing_weights_file_says_how_to_train_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_classifier"):
        F.load_classifier(tmp_path / "none.weights.h5")
