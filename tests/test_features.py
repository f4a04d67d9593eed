"""keras_gan.metrics.features: the extractor protocol, InceptionV3 (random weights),
streaming from arrays / datasets / samplers, bad input and class balance."""

import json
import math
import os
import socket

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import requires_mnist_idx
from tiny_models import save_tiny_saved_model, tiny_mnist_gan

from keras_gan.loading import LoadedGenerator, load_generator
from keras_gan.metrics import features as F


def _images(n, seed=0, shape=(28, 28, 1)):
    return np.random.default_rng(seed).uniform(size=(n, *shape)).astype(np.float32)


def _mlp_extractor_model():
    inputs = keras.Input((28, 28, 1))
    hidden = keras.layers.Dense(6, activation="relu")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, hidden, name="tiny")


# ---------------------------------------------------------------- InceptionV3
@pytest.fixture(scope="module")
def inception():
    return F.inception_v3(weights=None)


def _bilinear_resize_numpy(images, size):
    """Direct half-pixel-centre bilinear resize (TF2's tf.image.resize, no antialias)."""

    def axis_weights(n_in):
        coord = np.clip((np.arange(size) + 0.5) * n_in / size - 0.5, 0, n_in - 1)
        low = np.floor(coord).astype(int)
        high = np.minimum(low + 1, n_in - 1)
        frac = coord - low
        m = np.zeros((size, n_in))
        m[np.arange(size), low] += 1 - frac
        m[np.arange(size), high] += frac
        return m

    rows, cols = axis_weights(images.shape[1]), axis_weights(images.shape[2])
    return np.einsum("ih,nhwc,jw->nijc", rows, images.astype(np.float64), cols)


def test_inception_v3_architecture_and_output_sizes(inception):
    assert inception.name == "inception_v3"
    assert (inception.feature_dim, inception.num_classes) == (2048, 1000)
    assert inception.resize == "bilinear 299" and inception.weights.startswith("random")
    desc = inception.describe()
    assert desc["resize"] == "bilinear 299" and desc["feature_dim"] == 2048
    json.dumps(desc)
    net = inception.model
    assert net.input_shape == (None, 299, 299, 3)
    assert net.get_layer("avg_pool").output.shape[-1] == 2048
    assert net.get_layer("predictions").activation is keras.activations.linear  # logits
    assert net.count_params() == 23_851_784  # InceptionV3 with its 1000-class top


def test_inception_v3_preprocessing_and_outputs(inception):
    gray = _images(2, seed=3)
    x = np.asarray(F.inception_preprocess(gray))
    assert x.shape == (2, 299, 299, 3)
    direct = 2.0 * _bilinear_resize_numpy(gray, 299) - 1.0
    for c in range(3):
        np.testing.assert_allclose(x[..., c], direct[..., 0], atol=1e-5)
    assert -1.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(np.asarray(F.inception_preprocess(np.zeros((1, 5, 7, 1)))), -1.0)
    np.testing.assert_allclose(np.asarray(F.inception_preprocess(np.ones((1, 5, 7, 3)))), 1.0)

    out = inception.outputs(gray, batch_size=1)
    assert out["features"].shape == (2, 2048) and out["logits"].shape == (2, 1000)
    rgb_direct = np.repeat(direct, 3, axis=-1).astype(np.float32)
    feats, logits = inception.model(rgb_direct, training=False)
    np.testing.assert_allclose(out["features"], np.asarray(feats), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(out["logits"], np.asarray(logits), rtol=1e-3, atol=1e-4)
    # An RGB image of three equal channels is the grayscale image.
    rgb = np.repeat(gray[:1], 3, axis=-1)
    np.testing.assert_allclose(inception.features(rgb), out["features"][:1], rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match=r"\[2, 28, 28, 2\].*1 or 3"):
        inception.features(np.zeros((2, 28, 28, 2), np.float32))


def test_inception_v3_weights_that_do_not_exist(tmp_path):
    missing = str(tmp_path / "nope.h5")
    with pytest.raises(FileNotFoundError, match="nope.h5.*'imagenet'"):
        F.inception_v3(weights=missing)


@pytest.mark.filterwarnings("ignore:Skipping nested container")
def test_inception_v3_weights_that_cannot_be_had_offline_or_do_not_fit(monkeypatch):
    cached = os.path.expanduser(os.path.join("~", ".keras", "models", F.INCEPTION_WEIGHTS_FILE))
    if os.path.exists(cached):
        pytest.skip(f"{cached} exists: Keras would not download")

    def offline(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    with pytest.raises(ValueError, match="download of the ImageNet weights failed.*weights=<path"):
        F.inception_v3(weights="imagenet")
    with pytest.raises(
        ValueError, match="mnist_classifier.weights.h5' is not a file of InceptionV3"
    ):
        F.inception_v3(weights=F.CLASSIFIER_WEIGHTS["mnist"])


# ------------------------------------------------------------ the protocol
def test_as_extractor_names_models_and_extractors():
    clf = F.as_extractor("mnist")
    assert F.as_extractor(clf) is clf and clf.feature_dim == 128
    assert sorted(F.EXTRACTORS) == ["fashion_mnist", "inception_v3", "mnist"]
    with pytest.raises(ValueError, match=r"'cifar'.*\['fashion_mnist', 'inception_v3', 'mnist'\]"):
        F.as_extractor("cifar")
    with pytest.raises(TypeError, match="keras.Model"):
        F.as_extractor(3)

    model = _mlp_extractor_model()
    ext = F.as_extractor(model)
    assert (ext.name, ext.input_shape, ext.feature_dim, ext.num_classes) == (
        "tiny",
        (28, 28, 1),
        6,
        None,
    )
    x = _images(5)
    np.testing.assert_allclose(ext.features(x), np.asarray(model(x)), atol=1e-6)
    with pytest.raises(ValueError, match="no logits"):
        ext.logits(x)


def test_a_model_of_several_outputs_must_say_what_they_are():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, [keras.layers.Dense(4)(inputs), keras.layers.Dense(2)(inputs)])
    with pytest.raises(ValueError, match="outputs="):
        F.as_extractor(model)
    ext = F.KerasExtractor(model, outputs=("features", "logits"))
    assert (ext.feature_dim, ext.num_classes) == (4, 2)
    swapped = F.KerasExtractor(model, outputs=("logits", "features"))
    assert (swapped.feature_dim, swapped.num_classes) == (2, 4)
    with pytest.raises(ValueError, match="at most once"):
        F.KerasExtractor(model, outputs=("features", "features"))


# ------------------------------------------------------------- streaming
def test_extract_features_from_an_array_in_batches():
    clf = F.mnist_classifier()
    x = _images(50)
    whole = clf.features(x, batch_size=50)
    np.testing.assert_allclose(F.extract_features("mnist", x, batch_size=7), whole, atol=1e-5)
    np.testing.assert_allclose(
        F.extract_features(clf, tf.constant(x), num_samples=20), whole[:20], atol=1e-5
    )
    both = F.extract_features(clf, x, kind=("features", "logits"), batch_size=16)
    np.testing.assert_allclose(both["logits"], clf.logits(x), atol=1e-5)
    np.testing.assert_allclose(F.extract_features(clf, x, kind="logits"), both["logits"], atol=1e-5)
    assert F.extract_features(clf, x[:0]).shape == (0, 128)
    # A tanh generator's [-1, 1] images, with their range.
    np.testing.assert_allclose(
        F.extract_features(clf, 2 * x - 1, value_range=(-1, 1)), whole, atol=1e-5
    )
    with pytest.warns(UserWarning, match=r"value_range=\(-1, 1\)"):
        F.extract_features(clf, 2 * x - 1 - 1)  # [-2, 0] read as [0, 1]


def test_extract_features_from_datasets():
    clf = F.mnist_classifier()
    x = _images(30)
    y = np.arange(30) % 10
    expected = clf.features(x)
    unbatched = tf.data.Dataset.from_tensor_slices(x)
    np.testing.assert_allclose(
        F.extract_features(clf, unbatched, batch_size=8), expected, atol=1e-5
    )
    labelled = tf.data.Dataset.from_tensor_slices((x, y)).batch(7)
    np.testing.assert_allclose(F.extract_features(clf, labelled, batch_size=4), expected, atol=1e-5)
    dropped = tf.data.Dataset.from_tensor_slices({"images": x}).batch(10, drop_remainder=True)
    np.testing.assert_allclose(
        F.extract_features(clf, dropped, num_samples=25), expected[:25], atol=1e-5
    )
    forever = tf.data.Dataset.from_tensor_slices(x).batch(10).repeat()
    assert F.extract_features(clf, forever, num_samples=45).shape == (45, 128)
    with pytest.raises(ValueError, match="repeats forever: pass num_samples"):
        F.extract_features(clf, forever)
    with pytest.raises(ValueError, match="gave 30 images; num_samples=40"):
        F.extract_features(clf, labelled, num_samples=40)


def test_extract_features_from_a_gan_is_deterministic_and_uses_chunk_seeds():
    gan = tiny_mnist_gan()
    a = F.extract_features("mnist", gan, num_samples=40, batch_size=16, seed=3)
    b = F.extract_features("mnist", gan, num_samples=40, batch_size=16, seed=3)
    c = F.extract_features("mnist", gan, num_samples=40, batch_size=16, seed=4)
    assert a.shape == (40, 128)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    drawn = [gan.sample(n, seed=F.chunk_seed(3, i)) for i, n in enumerate((16, 16, 8))]
    np.testing.assert_allclose(a, F.mnist_classifier().features(np.concatenate(drawn)), atol=1e-5)
    # Chunks differ from each other (no seed reused).
    assert len({F.chunk_seed(3, i) for i in range(3)} | {F.chunk_seed(4, 0)}) == 4
    with pytest.raises(ValueError, match="num_samples is required"):
        F.extract_features("mnist", gan)


def test_extract_features_from_loaded_generators_and_clients(tmp_path):
    gan = tiny_mnist_gan()
    loaded = LoadedGenerator(path="g.keras", kind="keras", sample_fn=gan.sample)
    exported = load_generator(save_tiny_saved_model(gan, str(tmp_path / "export" / "1")))
    assert exported.kind == "saved_model"

    class FakeClient:  # the signature of SampleClient.sample / GrpcSampleClient.sample
        def sample(self, n, seed=None, version=None, labels=None):
            return gan.sample(n, seed=seed).tolist()

    expected = F.extract_features("mnist", gan, num_samples=20, batch_size=8, seed=1)
    for source in (loaded, exported, FakeClient()):
        got = F.extract_features("mnist", source, num_samples=20, batch_size=8, seed=1)
        np.testing.assert_allclose(got, expected, atol=1e-5)

    class Short:
        def sample(self, n, seed=None):
            return np.zeros((n - 1, 28, 28, 1), np.float32)

    with pytest.raises(ValueError, match="not 8 samples"):
        F.extract_features("mnist", Short(), num_samples=8)


def test_extract_features_shows_a_progress_bar_only_when_asked(capsys):
    x = _images(40)
    F.extract_features("mnist", x, batch_size=10)
    assert capsys.readouterr().out == ""
    F.extract_features("mnist", x, batch_size=10, verbose=True)
    assert "40/40" in capsys.readouterr().out
    F.extract_features("mnist", x, batch_size=20, verbose=True)  # 2 batches: no bar
    assert capsys.readouterr().out == ""


def test_bad_input_is_refused_with_what_is_allowed():
    with pytest.raises(ValueError, match=r"\[4, 32, 32, 3\].*'mnist_classifier'.*\[n, 28, 28, 1\]"):
        F.extract_features("mnist", np.zeros((4, 32, 32, 3), np.float32))
    with pytest.raises(ValueError, match=r"\[4, 28, 28\].*\[n, 28, 28, 1\]"):
        F.mnist_classifier().features(np.zeros((4, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"Unknown extractor 'imagenet'.*'inception_v3'"):
        F.extract_features("imagenet", _images(2))
    with pytest.raises(ValueError, match=r"Unknown kind.*\['features', 'logits'\]"):
        F.extract_features("mnist", _images(2), kind="probabilities")
    with pytest.raises(ValueError, match="holds only 2 images"):
        F.extract_features("mnist", _images(2), num_samples=3)
    nan = _images(3)
    nan[1, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        F.extract_features("mnist", nan)
    with pytest.raises(TypeError, match="sample"):
        F.extract_features("mnist", "images.npy")
    with pytest.raises(ValueError, match="value_range"):
        F.extract_features("mnist", _images(2), value_range=(1, 0))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        F.extract_features("mnist", _images(2), batch_size=0)


# ----------------------------------------------------------- class balance
def _logits_for(classes, num_classes):
    """Logits whose argmax is ``classes`` (with noise below the winning margin)."""
    rng = np.random.default_rng(0)
    logits = rng.uniform(-1, 1, size=(len(classes), num_classes))
    logits[np.arange(len(classes)), classes] = 5.0
    return logits.astype(np.float32)


def _direct_kl(p, q):
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q) if pi > 0)


def test_class_distribution_on_constructed_logits():
    counts = [30, 20, 10, 0, 40]
    classes = np.repeat(np.arange(5), counts)
    logits = _logits_for(classes, 5)
    p = [c / 100 for c in counts]

    r = F.class_distribution(None, logits)
    np.testing.assert_array_equal(r.counts, counts)
    np.testing.assert_allclose(r.histogram, p)
    np.testing.assert_allclose(r.reference, [0.2] * 5)
    assert r.kl_divergence == pytest.approx(_direct_kl(p, [0.2] * 5), rel=1e-12)
    assert (r.classes_covered, r.missing, r.num_samples, r.num_classes) == (4, [3], 100, 5)
    assert r.kl == r.kl_divergence
    # The predictions alone, as the first argument.
    assert F.class_distribution(logits).to_dict() == r.to_dict()

    labels = np.repeat(np.arange(5), [10, 10, 20, 20, 40])
    q = [0.1, 0.1, 0.2, 0.2, 0.4]
    by_labels = F.class_distribution(None, logits, data_labels=labels)
    assert by_labels.kl_divergence == pytest.approx(_direct_kl(p, q), rel=1e-12)
    by_counts = F.class_distribution(None, logits, data_frequencies=[10, 10, 20, 20, 40])
    assert by_counts.kl_divergence == pytest.approx(by_labels.kl_divergence, rel=1e-12)

    # min_fraction: a class needs ceil(0.15 * 100) = 15 samples to be covered.
    strict = F.class_distribution(None, logits, min_fraction=0.15)
    assert (strict.min_count, strict.classes_covered, strict.missing) == (15, 3, [2, 3])

    d = r.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["counts"] == counts and d["classes_covered"] == 4


def test_class_distribution_limits():
    collapsed = F.class_distribution(None, _logits_for(np.full(50, 7), 10))
    assert collapsed.kl_divergence == pytest.approx(math.log(10), rel=1e-12)
    assert collapsed.classes_covered == 1
    balanced = F.class_distribution(None, _logits_for(np.arange(100) % 10, 10))
    assert balanced.kl_divergence == 0.0 and balanced.classes_covered == 10
    dropped = F.class_distribution(None, _logits_for(np.arange(90) % 9, 10))  # 9 of 10 classes
    assert dropped.kl_divergence == pytest.approx(math.log(10 / 9), rel=1e-12)
    # A class the data never shows, predicted: infinite divergence.
    absent = F.class_distribution(
        None, _logits_for(np.array([0, 1, 2]), 3), data_frequencies=[1, 1, 0]
    )
    assert absent.kl_divergence == math.inf


def test_class_distribution_bad_input():
    logits = _logits_for(np.arange(10), 10)
    with pytest.raises(ValueError, match="not both"):
        F.class_distribution(None, logits, data_labels=[0], data_frequencies=[1] * 10)
    with pytest.raises(ValueError, match=r"one entry per class \(10\); got 3"):
        F.class_distribution(None, logits, data_frequencies=[1, 1, 1])
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        F.class_distribution(None, logits, data_labels=[0, 10])
    with pytest.raises(ValueError, match="min_fraction"):
        F.class_distribution(None, logits, min_fraction=0)
    with pytest.raises(ValueError, match="at least one sample"):
        F.class_distribution(None, logits[:0])
    with pytest.raises(ValueError, match="needs an extractor"):
        F.class_distribution(None, _images(3))
    with pytest.raises(ValueError, match="no logits"):
        F.class_distribution(_mlp_extractor_model(), _images(3))
    with pytest.raises(ValueError, match="predictions have 3 classes"):
        F.class_distribution("mnist", logits[:, :3])


@requires_mnist_idx
def test_class_distribution_of_real_digits_and_of_a_collapsed_set():
    from keras_gan.data import load_arrays

    x, y = load_arrays("mnist", "test", source="idx", num_examples=2000)
    real = F.class_distribution("mnist", x, data_labels=y)
    assert real.classes_covered == 10 and real.kl_divergence < 0.005
    np.testing.assert_allclose(real.histogram, np.bincount(y, minlength=10) / 2000, atol=0.01)
    ones = F.class_distribution("mnist", x[y == 1], data_labels=y)
    assert ones.classes_covered <= 2 and ones.histogram[1] > 0.99
    assert ones.kl_divergence > 2.0  # close to log(1 / 0.11) for a class of 11% of the data
    gan = tiny_mnist_gan()
    sampled = F.class_distribution("mnist", gan, num_samples=64, seed=0, batch_size=32)
    assert sampled.num_samples == 64
