"""Feature extractors: the networks that sample-quality metrics measure images with.

FID, KID, precision/recall and density/coverage compare two sets of *features*;
the Inception Score and the class balance of samples read a classifier's
*logits*. An extractor turns images into both:

* :func:`mnist_classifier` / :func:`fashion_mnist_classifier`: small
  convolutional classifiers whose weights ship in the package (no network
  needed), for images ``[n, 28, 28, 1]`` in ``[0, 1]``. Features are the
  128-D penultimate layer, logits the 10 class logits. Their scores are
  comparable only with scores measured with the same classifier, never with
  Inception FIDs.
* :func:`inception_v3`: InceptionV3's 2048-D pool3 features and 1000 ImageNet
  logits (``keras.applications``), with the standard preprocessing inside.
* any ``keras.Model``: its output is the feature vector (:func:`as_extractor`).

An extractor has ``name``, ``input_shape`` (without the batch axis),
``feature_dim``, ``num_classes`` (``None`` without logits), ``features(images,
batch_size=256)`` and ``logits(images, batch_size=256)`` (float32 NumPy arrays
``[n, feature_dim]`` / ``[n, num_classes]``), and :meth:`~FeatureExtractor.describe`,
the metadata a report records (name, resize method, weights).
:func:`extract_features` streams images through one from an array, a
``tf.data.Dataset`` or anything with ``sample(n, seed=...)`` (a GAN, a loaded
``.keras`` file or SavedModel, a serving client), in batches.

Example:

```python
from keras_gan.data import load_arrays
from keras_gan.loading import load_generator
from keras_gan.metrics.features import class_distribution, extract_features

x_test, y_test = load_arrays("mnist", "test")
real = extract_features("mnist", x_test)                         # [10000, 128]
gan = load_generator("runs/mnist_mlp/model.keras")  # or a GAN, a SampleClient
fake = extract_features("mnist", gan, num_samples=10000, seed=0)  # gan.sample(...)
balance = class_distribution("mnist", gan, num_samples=10000)
print(balance)   # 10/10 classes covered, KL(samples || data) = ... nats
```
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import math
import os
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_gan.data import check_value_range

__all__ = [
    "CLASSIFIER_TEST_ACCURACY",
    "CLASSIFIER_WEIGHTS",
    "EXTRACTORS",
    "ClassDistribution",
    "FeatureExtractor",
    "InceptionExtractor",
    "KerasExtractor",
    "as_extractor",
    "chunk_seed",
    "class_distribution",
    "classifier_network",
    "extract_features",
    "fashion_mnist_classifier",
    "inception_preprocess",
    "inception_v3",
    "load_classifier",
    "mnist_classifier",
]

WEIGHTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")
#: The shipped classifier weights, by data set name.
CLASSIFIER_WEIGHTS = {
    "mnist": os.path.join(WEIGHTS_DIR, "mnist_classifier.weights.h5"),
    "fashion_mnist": os.path.join(WEIGHTS_DIR, "fashion_mnist_classifier.weights.h5"),
}
#: Test-split accuracy of the shipped weights, measured by ``train_classifier``
#: when they were trained (the tests measure it again).
CLASSIFIER_TEST_ACCURACY = {"mnist": 0.9944, "fashion_mnist": 0.9248}
KINDS = ("features", "logits")
INCEPTION_SIZE = 299
#: The file ``keras.applications`` downloads for ``InceptionV3(weights="imagenet")``
#: with the top (classification) layer.
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
_PROGRESS_MIN_BATCHES = 4  # a progress bar from this many batches on


# ----------------------------------------------------------------- protocol
class FeatureExtractor:
    """What an extractor is: images in, features (and maybe logits) out.

    Subclasses set the attributes and implement :meth:`outputs`; any object
    with ``name``, ``input_shape``, ``feature_dim`` and a ``features(images,
    batch_size=...)`` method is accepted by :func:`extract_features` as well.

    Attributes:
        name: a short identifier recorded with every score (``"mnist_classifier"``).
        input_shape: the shape of one image (no batch axis); ``None`` entries
            accept any size.
        feature_dim: the length of a feature vector.
        num_classes: the number of logits, or ``None`` when there are none.
        resize: how images are resized before the network (``None``: not at all).
        weights: a description of the weights (file and SHA-256 prefix, or
            ``"imagenet"``, or ``"random"``).
    """

    name: str = "extractor"
    input_shape: tuple = ()
    feature_dim: int = 0
    num_classes: int | None = None
    resize: str | None = None
    weights: str | None = None

    def outputs(self, images, batch_size=256, kinds=KINDS):
        """``{kind: float32 array}`` for each of ``kinds`` (``"features"``,
        ``"logits"``), from one pass over ``images`` in batches."""
        raise NotImplementedError

    def features(self, images, batch_size=256):
        """Feature vectors ``[n, feature_dim]`` (float32) of ``images``."""
        return self.outputs(images, batch_size, ("features",))["features"]

    def logits(self, images, batch_size=256):
        """Class logits ``[n, num_classes]`` (float32) of ``images``."""
        return self.outputs(images, batch_size, ("logits",))["logits"]

    def check_images(self, shape):
        """Raise a ValueError unless images of ``shape`` (with the batch axis) fit."""
        _check_shape(self, shape)

    def describe(self):
        """What a report records about the extractor (JSON-friendly)."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "feature_dim": self.feature_dim,
            "num_classes": self.num_classes,
            "resize": self.resize,
            "weights": self.weights,
        }

    def __repr__(self):
        return (
            f"<{type(self).__name__} {self.name!r}: {list(self.input_shape)} -> "
            f"{self.feature_dim} features, {self.num_classes} logits>"
        )


def _check_shape(extractor, shape):
    expected = tuple(extractor.input_shape)
    shape = tuple(shape)
    fits = len(shape) == len(expected) + 1 and all(
        e is None or e == s for e, s in zip(expected, shape[1:])
    )
    if not fits:
        want = ", ".join("any" if e is None else str(e) for e in expected)
        raise ValueError(
            f"Images of shape {list(shape)} do not fit the extractor {extractor.name!r}, "
            f"which takes [n, {want}]."
        )


class KerasExtractor(FeatureExtractor):
    """An extractor running a ``keras.Model`` in batches (``model(x, training=False)``
    in a ``tf.function``, no progress bar of its own).

    Args:
        model: a single-input Keras model.
        outputs: what each of the model's outputs is, in order: ``("features",)``
            (the default for a single output), ``("logits",)`` or
            ``("features", "logits")``. Outputs with more than two axes are
            flattened to ``[n, d]``.
        name: the extractor's name (default: the model's).
        preprocess: a TensorFlow function applied to each batch first (in the
            ``tf.function``).
        input_shape: the image shape accepted (default: the model's input
            shape); ``check_images`` is the place for a looser rule.
        resize, weights: metadata (see :class:`FeatureExtractor`).

    Example:

    ```python
    import keras
    import numpy as np
    from keras_gan.metrics.features import KerasExtractor

    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    logits = keras.layers.Dense(3)(hidden)
    extractor = KerasExtractor(
        keras.Model(inputs, [hidden, logits]), outputs=("features", "logits")
    )
    extractor.features(np.zeros((5, 2), "float32")).shape   # (5, 16)
    ```
    """

    def __init__(
        self,
        model,
        outputs=None,
        name=None,
        preprocess=None,
        input_shape=None,
        resize=None,
        weights=None,
    ):
        if not isinstance(model, keras.Model):
            raise TypeError(f"KerasExtractor needs a keras.Model; got {type(model).__name__}.")
        if len(model.inputs or ()) != 1:
            raise ValueError(
                f"An extractor's model takes one input (images); {model.name!r} takes "
                f"{len(model.inputs or ())}."
            )
        out_shapes = [tuple(t.shape) for t in model.outputs]
        outputs = ("features",) if outputs is None and len(out_shapes) == 1 else outputs
        if outputs is None or len(outputs) != len(out_shapes):
            raise ValueError(
                f"Say what each of the {len(out_shapes)} outputs of model {model.name!r} is "
                "with outputs=('features', 'logits') (or ('features',) / ('logits',))."
            )
        outputs = tuple(outputs)
        if not set(outputs) <= set(KINDS) or len(set(outputs)) != len(outputs):
            raise ValueError(
                f"outputs must name each of {list(KINDS)} at most once; got {outputs}."
            )
        if "features" not in outputs and "logits" not in outputs:
            raise ValueError("outputs must include 'features' or 'logits'.")
        self.model = model
        self.name = name or model.name
        self.input_shape = tuple(model.inputs[0].shape[1:] if input_shape is None else input_shape)
        self._index = {kind: i for i, kind in enumerate(outputs)}
        dims = {
            kind: math.prod(out_shapes[i][1:]) if None not in out_shapes[i][1:] else None
            for kind, i in self._index.items()
        }
        self.feature_dim = dims.get("features")
        self.num_classes = dims.get("logits")
        self.resize = resize
        self.weights = weights
        self._preprocess = preprocess

        @tf.function(reduce_retracing=True)
        def run(x):
            if self._preprocess is not None:
                x = self._preprocess(x)
            out = self.model(x, training=False)
            return out if isinstance(out, (list, tuple)) else [out]

        self._run = run

    def outputs(self, images, batch_size=256, kinds=KINDS):
        kinds = _check_kinds(kinds)
        for kind in kinds:
            if kind not in self._index:
                raise ValueError(
                    f"The extractor {self.name!r} has no {kind}: its model gives only "
                    f"{sorted(self._index)}."
                )
        batch_size = _check_batch_size(batch_size)
        images = _as_float32(images)
        self.check_images(images.shape)
        chunks = {kind: [] for kind in kinds}
        for start in range(0, len(images), batch_size):
            out = self._run(tf.convert_to_tensor(images[start : start + batch_size]))
            for kind in kinds:
                value = np.asarray(out[self._index[kind]], np.float32)
                chunks[kind].append(value.reshape(len(value), -1))
        dims = {"features": self.feature_dim, "logits": self.num_classes}
        return {
            kind: np.concatenate(c) if c else np.zeros((0, dims[kind]), np.float32)
            for kind, c in chunks.items()
        }


def _check_kinds(kinds):
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ValueError(f"Unknown kind {bad or kinds!r}. Allowed: {list(KINDS)}.")
    return kinds


def _check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an int; got {batch_size!r}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    return int(batch_size)


def _as_float32(images):
    images = np.asarray(images)
    if images.dtype.kind not in "fiub":
        raise TypeError(f"Images must be numbers; got dtype {images.dtype}.")
    return images.astype(np.float32, copy=False)


def _file_description(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"{os.path.basename(path)} (sha256 {digest.hexdigest()[:16]})"


@contextlib.contextmanager
def _float32_layers():
    """Build under the float32 policy, whatever the global one (features are
    measured in float32, also when training runs mixed_bfloat16)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


# ----------------------------------------------------- domain classifiers
def classifier_network(num_classes=10, input_shape=(28, 28, 1), name="classifier"):
    """The domain classifiers' architecture (untrained).

    Three blocks of 3x3 convolution (32, 64, 128 filters), batch
    normalisation, ReLU and 2x2 max pooling (28 -> 14 -> 7 -> 3), then a
    128-unit ReLU dense layer named ``"features"`` (the penultimate layer),
    dropout 0.5 and a dense layer of logits named ``"logits"``: 242,218
    parameters (448 of them batch-norm statistics), about 1 MB of float32
    weights. The model's outputs are ``[features, logits]``.

    Example:

    ```python
    import numpy as np

    net = classifier_network()
    features, logits = net(np.zeros((2, 28, 28, 1), "float32"))   # [2, 128], [2, 10]
    ```
    """
    layers = keras.layers
    inputs = keras.Input(input_shape, name="images")
    x = inputs
    for i, filters in enumerate((32, 64, 128)):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    features = layers.Dense(128, activation="relu", name="features")(x)
    x = layers.Dropout(0.5, name="dropout")(features)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, [features, logits], name=name)


def load_classifier(path, name="classifier", num_classes=10):
    """A :class:`KerasExtractor` of :func:`classifier_network` with the weights
    in ``path`` (a ``.weights.h5`` file written by ``train_classifier``)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No classifier weights at {path!r}. Train them with `python -m "
            f"keras_gan.metrics.train_classifier --dataset mnist|fashion_mnist --out {path}`."
        )
    with _float32_layers():
        network = classifier_network(num_classes, name=name)
    network.load_weights(path)
    return KerasExtractor(
        network, outputs=("features", "logits"), name=name, weights=_file_description(path)
    )


@functools.cache
def _shipped_classifier(dataset):
    return load_classifier(CLASSIFIER_WEIGHTS[dataset], name=f"{dataset}_classifier")


def mnist_classifier():
    """The MNIST classifier shipped with the package, as an extractor (cached).

    Images ``[n, 28, 28, 1]`` in ``[0, 1]``; ``.features`` is the 128-D
    penultimate layer (for FID, KID, precision/recall, density/coverage),
    ``.logits`` the 10 digit logits (for the classifier score and
    :func:`class_distribution`). Loading needs no network. Its scores compare
    only with scores from this classifier, not with Inception FIDs.

    Example:

    ```python
    from keras_gan.data import load_arrays

    x, y = load_arrays("mnist", "test")
    clf = mnist_classifier()
    accuracy = (clf.logits(x).argmax(1) == y).mean()    # >= 0.99
    ```
    """
    return _shipped_classifier("mnist")


def fashion_mnist_classifier():
    """The Fashion-MNIST classifier shipped with the package, as an extractor
    (cached); the same architecture and interface as :func:`mnist_classifier`.

    Example:

    ```python
    features = fashion_mnist_classifier().features(images)   # [n, 128]
    ```
    """
    return _shipped_classifier("fashion_mnist")


# ---------------------------------------------------------------- Inception
def inception_preprocess(images):
    """InceptionV3's standard preprocessing of images ``[n, h, w, 1 or 3]`` in
    ``[0, 1]``: grayscale replicated to 3 channels, bilinear resize to 299x299
    (``tf.image.resize``, half-pixel centres, no antialiasing), scaled to
    ``[-1, 1]`` (``2 x - 1``, as ``keras.applications.inception_v3.preprocess_input``
    does for ``[0, 255]`` inputs)."""
    x = tf.convert_to_tensor(images, tf.float32)
    x = tf.image.resize(x, (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear")
    if x.shape[-1] == 1:
        x = tf.repeat(x, 3, axis=-1)
    return 2.0 * x - 1.0


class InceptionExtractor(KerasExtractor):
    """InceptionV3 (see :func:`inception_v3`): any image size, 1 or 3 channels."""

    def check_images(self, shape):
        shape = tuple(shape)
        if len(shape) != 4 or shape[-1] not in (1, 3) or min(shape[1:3], default=0) < 1:
            raise ValueError(
                f"Images of shape {list(shape)} do not fit the extractor {self.name!r}, "
                "which takes [n, height, width, 1 or 3] (resized to 299x299)."
            )


def inception_v3(weights="imagenet"):
    """InceptionV3 as an extractor: 2048-D pool3 features and 1000 ImageNet logits.

    The network is ``keras.applications.InceptionV3(include_top=True,
    classifier_activation=None)``: ``.features`` is its global-average-pool
    layer (``avg_pool``, "pool3"), ``.logits`` the pre-softmax output of its
    ``predictions`` layer (for the Inception Score). Images are ``[n, h, w, 1
    or 3]`` in ``[0, 1]``, preprocessed inside (:func:`inception_preprocess`:
    grayscale to RGB, bilinear resize to 299x299, scaled to ``[-1, 1]``).

    Args:
        weights: ``"imagenet"`` (downloaded by Keras when online, or found in
            its cache ``~/.keras/models/``), the path of a local copy of the
            ImageNet weights *with* the top layer
            (``inception_v3_weights_tf_dim_ordering_tf_kernels.h5``), or
            ``None`` for random weights (tests, timing).

    FIDs are comparable only between runs with the same weights, resize and
    sample counts; :meth:`~FeatureExtractor.describe` records them. The
    network built with ``"imagenet"`` is cached, so repeated calls are cheap.

    Example:

    ```python
    import numpy as np

    net = inception_v3(weights=None)            # random weights, offline
    net.features(np.zeros((2, 28, 28, 1), "float32")).shape   # (2, 2048)
    net.logits(np.zeros((2, 28, 28, 1), "float32")).shape     # (2, 1000)
    ```
    """
    if weights is None:
        return _build_inception(None)
    weights = os.fspath(weights)
    if weights != "imagenet":
        if not os.path.isfile(weights):
            raise FileNotFoundError(
                f"No InceptionV3 weights file at {weights!r}. Pass weights='imagenet' "
                f"(downloaded by Keras), the path of {INCEPTION_WEIGHTS_FILE} (the ImageNet "
                "weights with the top layer), or None for random weights."
            )
        weights = os.path.abspath(weights)
    return _cached_inception(weights)


@functools.lru_cache(maxsize=2)
def _cached_inception(weights):
    return _build_inception(weights)


def _build_inception(weights):
    try:
        with _float32_layers():
            net = keras.applications.InceptionV3(
                include_top=True, weights=weights, classifier_activation=None
            )
    except Exception as e:  # a failed download, a file of other weights
        where = (
            "the download of the ImageNet weights failed (offline?); pass weights=<path of "
            f"{INCEPTION_WEIGHTS_FILE}> or None"
            if weights == "imagenet"
            else f"{weights!r} is not a file of InceptionV3 weights with the top layer "
            f"({INCEPTION_WEIGHTS_FILE})"
        )
        raise ValueError(f"Cannot build InceptionV3: {where}. ({type(e).__name__}: {e})") from e
    model = keras.Model(
        net.input, [net.get_layer("avg_pool").output, net.get_layer("predictions").output]
    )
    if weights is None:
        description = "random (not comparable with any published score)"
    elif weights == "imagenet":
        description = f"imagenet (keras.applications {INCEPTION_WEIGHTS_FILE})"
    else:
        description = _file_description(weights)
    return InceptionExtractor(
        model,
        outputs=("features", "logits"),
        name="inception_v3",
        preprocess=inception_preprocess,
        input_shape=(None, None, 3),
        resize=f"bilinear {INCEPTION_SIZE}",
        weights=description,
    )


# ----------------------------------------------------------------- registry
#: Extractors by name, for :func:`as_extractor` (and configs / the CLI).
EXTRACTORS = {
    "mnist": mnist_classifier,
    "fashion_mnist": fashion_mnist_classifier,
    "inception_v3": inception_v3,
}


def as_extractor(obj):
    """An extractor from a name in :data:`EXTRACTORS`, a ``keras.Model`` (its
    output is the feature vector) or an extractor (returned as is).

    Example:

    ```python
    as_extractor("mnist").feature_dim          # 128
    as_extractor(keras_model).features(x)      # the model's outputs, [n, d]
    ```
    """
    if isinstance(obj, FeatureExtractor):
        return obj
    if isinstance(obj, str):
        if obj not in EXTRACTORS:
            raise ValueError(
                f"Unknown extractor {obj!r}. Allowed: {sorted(EXTRACTORS)}, a keras.Model "
                "or a feature extractor."
            )
        return EXTRACTORS[obj]()
    if isinstance(obj, keras.Model):
        return KerasExtractor(obj)
    if all(hasattr(obj, a) for a in ("name", "input_shape", "feature_dim")) and callable(
        getattr(obj, "features", None)
    ):
        return obj  # duck-typed: the protocol of FeatureExtractor
    raise TypeError(
        f"Cannot use a {type(obj).__name__} as a feature extractor. Allowed: a name in "
        f"{sorted(EXTRACTORS)}, a keras.Model or a feature extractor."
    )


# --------------------------------------------------------------- streaming
def chunk_seed(seed, index):
    """The seed of the ``index``-th chunk drawn from a sampler for ``seed``: a
    deterministic, well-spread 63-bit integer (``numpy.random.SeedSequence``
    of ``(seed, index)``), so no two chunks of nearby seeds coincide."""
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


def extract_features(
    extractor,
    source,
    num_samples=None,
    batch_size=256,
    seed=0,
    kind="features",
    verbose=False,
    value_range=(0.0, 1.0),
):
    """Features (or logits) of images streamed in batches from ``source``.

    Args:
        extractor: an extractor, a ``keras.Model`` or a name (:func:`as_extractor`).
        source: one of
            * an array or tensor of images ``[n, ...]``;
            * a ``tf.data.Dataset`` of images or ``(images, labels)``, batched
              or not (an infinite one needs ``num_samples``);
            * anything with ``sample(n, seed=...)``: a GAN
              (``AdversarialModel``), a ``keras_gan.loading.LoadedGenerator``
              (``.keras`` file or exported SavedModel), a serving client
              (``SampleClient``, ``GrpcSampleClient``). It is asked for
              ``batch_size`` samples at a time, chunk ``i`` with seed
              ``chunk_seed(seed, i)``, so the same ``seed`` and
              ``batch_size`` give the same samples.
        num_samples: how many images: required for a sampler; the first
            ``num_samples`` of an array or data set (default: all of them).
        batch_size: images per network call (and per ``sample`` call).
        seed: the sampler's seed (``None``: random draws).
        kind: ``"features"``, ``"logits"``, or a tuple of both to get a dict
            ``{"features": ..., "logits": ...}`` from one pass.
        verbose: show a ``keras.utils.Progbar`` when there are at least 4 batches.
        value_range: ``(low, high)`` of the images, rescaled to the ``[0, 1]``
            the extractors expect (e.g. ``(-1, 1)`` for a tanh generator). A
            warning is given when the first batch lies far outside it.

    Returns:
        A float32 array ``[num_samples, dim]`` (a dict of them for several kinds).

    Example:

    ```python
    fid_features = extract_features("mnist", gan, num_samples=10000, seed=0)
    out = extract_features("mnist", x_test, kind=("features", "logits"))
    out["features"].shape, out["logits"].shape     # (10000, 128), (10000, 10)
    ```
    """
    extractor = as_extractor(extractor)
    single = isinstance(kind, str)
    kinds = _check_kinds(kind)
    batch_size = _check_batch_size(batch_size)
    if num_samples is not None:
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
            raise TypeError(f"num_samples must be an int; got {num_samples!r}.")
        if num_samples < 0:
            raise ValueError(f"num_samples must be >= 0; got {num_samples}.")
        num_samples = int(num_samples)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int or None; got {seed!r}.")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be >= 0; got {seed}.")
    lo, hi = check_value_range(value_range)
    batches, total = _batches(source, num_samples, batch_size, seed, len(extractor.input_shape))
    num_batches = None if total is None else -(-total // batch_size)
    progbar = None
    if verbose and (num_batches is None or num_batches >= _PROGRESS_MIN_BATCHES):
        progbar = keras.utils.Progbar(total, unit_name="image")
    chunks = {k: [] for k in kinds}
    seen = 0
    for i, images in enumerate(batches):
        images = _as_float32(images)
        if i == 0:
            check = getattr(extractor, "check_images", None)
            check(images.shape) if callable(check) else _check_shape(extractor, images.shape)
        if not np.isfinite(images).all():
            raise ValueError(f"The images {seen}..{seen + len(images) - 1} contain NaN or Inf.")
        if i == 0:
            _warn_if_out_of_range(images, lo, hi)
        if (lo, hi) != (0.0, 1.0):
            images = (images - np.float32(lo)) * np.float32(1.0 / (hi - lo))
        for k, v in _extract(extractor, images, batch_size, kinds).items():
            chunks[k].append(v)
        seen += len(images)
        if progbar is not None:
            progbar.update(seen)
    if num_samples is not None and seen < num_samples:
        raise ValueError(f"The data gave {seen} images; num_samples={num_samples} were asked for.")
    dims = {"features": extractor.feature_dim, "logits": getattr(extractor, "num_classes", None)}
    result = {
        k: np.concatenate(c) if c else np.zeros((0, dims[k] or 0), np.float32)
        for k, c in chunks.items()
    }
    return result[kinds[0]] if single else result


def _extract(extractor, images, batch_size, kinds):
    if hasattr(extractor, "outputs") and callable(extractor.outputs):
        return extractor.outputs(images, batch_size=batch_size, kinds=kinds)
    out = {}
    for k in kinds:
        method = getattr(extractor, k, None)
        if method is None:
            raise ValueError(f"The extractor {extractor.name!r} has no {k}.")
        out[k] = np.asarray(method(images, batch_size=batch_size), np.float32)
    return out


def _warn_if_out_of_range(images, lo, hi):
    if images.size == 0:
        return
    low, high = float(images.min()), float(images.max())
    margin = 0.5 * (hi - lo)
    if low < lo - margin or high > hi + margin:
        warnings.warn(
            f"The images span [{low:.3g}, {high:.3g}], far outside value_range=({lo:g}, {hi:g}) "
            "that is mapped to the extractor's [0, 1]; pass the generator's range, e.g. "
            "value_range=(-1, 1) for a tanh output.",
            stacklevel=3,
        )


def _batches(source, num_samples, batch_size, seed, image_rank):
    """``(iterator of image batches, total count or None)``."""
    if isinstance(source, tf.data.Dataset):
        return _dataset_batches(source, num_samples, batch_size, image_rank), num_samples
    sample = getattr(source, "sample", None)
    if callable(sample) and not isinstance(source, (np.ndarray, tf.Tensor)):
        if num_samples is None:
            raise ValueError(
                f"num_samples is required to draw from a {type(source).__name__} "
                "(a sampler): say how many samples to extract."
            )
        return _sampler_batches(sample, num_samples, batch_size, seed), num_samples
    if isinstance(source, (str, bytes, dict)) or not (
        hasattr(source, "__len__") or hasattr(source, "shape")
    ):
        raise TypeError(
            f"Cannot read images from a {type(source).__name__}. Allowed: an array or tensor "
            "of images, a tf.data.Dataset, or an object with sample(n, seed=...) (a GAN, a "
            "loaded generator, a serving client)."
        )
    images = np.asarray(source)
    if num_samples is not None:
        if num_samples > len(images):
            raise ValueError(
                f"num_samples={num_samples} but the array holds only {len(images)} images."
            )
        images = images[:num_samples]
    total = len(images)
    return (images[s : s + batch_size] for s in range(0, total, batch_size)), total


def _sampler_batches(sample, num_samples, batch_size, seed):
    for i, start in enumerate(range(0, num_samples, batch_size)):
        n = min(batch_size, num_samples - start)
        images = np.asarray(sample(n, seed=None if seed is None else chunk_seed(seed, i)))
        if images.ndim == 0 or len(images) != n:
            raise ValueError(
                f"sample({n}, seed=...) returned {list(images.shape)}: not {n} samples."
            )
        yield images


def _dataset_images(element):
    if isinstance(element, dict):
        for key in ("images", "image", "x"):
            if key in element:
                return element[key]
        raise ValueError(
            f"A dataset of dicts needs an 'images' (or 'image', 'x') key; got {sorted(element)}."
        )
    if isinstance(element, (tuple, list)):
        return element[0]
    return element


def _dataset_batches(ds, num_samples, batch_size, image_rank):
    """Batches of at most ``batch_size`` images of ``ds``; a dataset whose
    elements are single images (rank ``image_rank``) is batched here."""
    if int(ds.cardinality()) == tf.data.INFINITE_CARDINALITY and num_samples is None:
        raise ValueError("The dataset repeats forever: pass num_samples.")
    rank = _dataset_images(ds.element_spec).shape.rank
    if rank is not None and rank == image_rank:
        ds = ds.batch(batch_size)
    left = num_samples
    for element in ds:
        if left is not None and left <= 0:
            return
        images = np.asarray(_dataset_images(element))
        if left is not None:
            images = images[:left]
            left -= len(images)
        for s in range(0, len(images), batch_size):
            yield images[s : s + batch_size]


# ------------------------------------------------------------ class balance
@dataclasses.dataclass(frozen=True)
class ClassDistribution:
    """The class balance of samples, as a classifier sees it.

    Attributes:
        counts: samples predicted as each class ``[num_classes]``.
        histogram: ``counts / num_samples``.
        reference: the data's class distribution (uniform when not given).
        kl_divergence: ``KL(histogram || reference)`` in nats (see
            :func:`class_distribution`).
        classes_covered: classes predicted for at least ``min_count`` samples.
        min_count: the count that makes a class covered (1, or
            ``ceil(min_fraction * num_samples)``).
        num_samples, num_classes: sizes.
    """

    counts: np.ndarray
    histogram: np.ndarray
    reference: np.ndarray
    kl_divergence: float
    classes_covered: int
    min_count: int
    num_samples: int
    num_classes: int

    @property
    def kl(self):
        """The same as :attr:`kl_divergence`."""
        return self.kl_divergence

    @property
    def missing(self):
        """The classes not covered."""
        return [int(c) for c in np.flatnonzero(self.counts < self.min_count)]

    def to_dict(self):
        return {
            "counts": [int(c) for c in self.counts],
            "histogram": [float(h) for h in self.histogram],
            "reference": [float(r) for r in self.reference],
            "kl_divergence": float(self.kl_divergence),
            "classes_covered": int(self.classes_covered),
            "min_count": int(self.min_count),
            "missing": self.missing,
            "num_samples": int(self.num_samples),
            "num_classes": int(self.num_classes),
        }

    def __str__(self):
        return (
            f"{self.classes_covered}/{self.num_classes} classes covered, "
            f"KL(samples || data) = {self.kl_divergence:.4f} nats over {self.num_samples} samples"
        )


def class_distribution(
    extractor,
    images_or_predictions=None,
    data_labels=None,
    data_frequencies=None,
    min_fraction=None,
    num_samples=None,
    batch_size=256,
    seed=0,
    value_range=(0.0, 1.0),
):
    """The histogram of predicted classes, its KL divergence to the data's
    label distribution, and the number of classes covered.

    The predicted class of a sample is the argmax of the classifier's logits
    (ties: the lowest class). With ``p`` the histogram of predicted classes
    and ``q`` the data's distribution::

        KL(p || q) = sum_c p_c log(p_c / q_c)      (nats)

    Classes no sample is predicted as (``p_c = 0``) add 0 (``0 log 0 = 0``),
    so the value is finite whenever ``q`` covers every class (always for the
    uniform default); a class predicted but absent from the data
    (``q_c = 0 < p_c``) makes it ``inf``. Dropping ``k`` of ``K`` uniform
    classes (the rest balanced) gives ``log(K / (K - k))``; all samples in one
    class give ``log K`` (2.303 for 10 classes). This is the mode-collapse
    measure of the unrolled-GAN and VEEGAN papers.

    Args:
        extractor: an extractor with logits or its name (``"mnist"``), or
            ``None`` when ``images_or_predictions`` are predictions
            (``class_distribution(logits)`` works too).
        images_or_predictions: logits or probabilities ``[n, num_classes]``
            (2-D), or images / a data set / a sampler as for
            :func:`extract_features` (``num_samples``, ``batch_size``,
            ``seed``, ``value_range`` go there).
        data_labels: the data's integer labels; their frequencies are ``q``.
        data_frequencies: ``q`` given directly (counts or probabilities,
            ``[num_classes]``). Default (neither): uniform.
        min_fraction: a class is covered when at least this fraction of the
            samples is predicted as it (default: at least one sample).

    Example:

    ```python
    result = class_distribution("mnist", gan, num_samples=10000)
    result.classes_covered, result.kl_divergence, result.to_dict()["histogram"]
    ```
    """
    predictions = None
    if images_or_predictions is None and isinstance(extractor, (np.ndarray, tf.Tensor, list)):
        extractor, images_or_predictions = None, extractor  # class_distribution(predictions)
    if images_or_predictions is None:
        raise ValueError("class_distribution needs images or predictions [n, num_classes].")
    if extractor is not None:
        extractor = as_extractor(extractor)
    source = images_or_predictions
    is_array = isinstance(source, (np.ndarray, tf.Tensor, list, tuple))
    if (
        is_array
        and np.ndim(source) == 2
        and (extractor is None or len(getattr(extractor, "input_shape", ())) != 1)
    ):
        predictions = np.asarray(source, np.float64)
        if extractor is not None and getattr(extractor, "num_classes", None) not in (
            None,
            predictions.shape[1],
        ):
            raise ValueError(
                f"predictions have {predictions.shape[1]} classes; the extractor "
                f"{extractor.name!r} has {extractor.num_classes}."
            )
    elif extractor is None:
        raise ValueError(
            "class_distribution needs an extractor with logits (e.g. 'mnist') to classify "
            "images; without one, pass predictions [n, num_classes]."
        )
    else:
        if getattr(extractor, "num_classes", None) is None:
            raise ValueError(f"The extractor {extractor.name!r} has no logits to classify with.")
        predictions = extract_features(
            extractor, source, num_samples, batch_size, seed, "logits", value_range=value_range
        ).astype(np.float64)
    if predictions.ndim != 2 or predictions.shape[1] < 1:
        raise ValueError(f"predictions must be [n, num_classes]; got {list(predictions.shape)}.")
    n, num_classes = predictions.shape
    if n == 0:
        raise ValueError("class_distribution needs at least one sample.")
    if not np.isfinite(predictions).all():
        raise ValueError("predictions contain NaN or Inf values.")
    counts = np.bincount(predictions.argmax(axis=1), minlength=num_classes)
    histogram = counts / n
    reference = _reference_distribution(data_labels, data_frequencies, num_classes)
    kl = _kl_divergence(histogram, reference)
    if min_fraction is None:
        min_count = 1
    else:
        if not 0 < float(min_fraction) <= 1:
            raise ValueError(f"min_fraction must be in (0, 1]; got {min_fraction}.")
        min_count = max(1, math.ceil(float(min_fraction) * n - 1e-9))
    return ClassDistribution(
        counts=counts,
        histogram=histogram,
        reference=reference,
        kl_divergence=kl,
        classes_covered=int((counts >= min_count).sum()),
        min_count=int(min_count),
        num_samples=int(n),
        num_classes=int(num_classes),
    )


def _reference_distribution(data_labels, data_frequencies, num_classes):
    if data_labels is not None and data_frequencies is not None:
        raise ValueError("Pass data_labels or data_frequencies, not both.")
    if data_labels is not None:
        labels = np.asarray(data_labels).ravel()
        if labels.size == 0 or labels.dtype.kind not in "iu":
            raise ValueError("data_labels must be a non-empty array of integer class labels.")
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(
                f"data_labels must lie in [0, {num_classes}); got [{labels.min()}, {labels.max()}]."
            )
        counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
        return counts / counts.sum()
    if data_frequencies is not None:
        q = np.asarray(data_frequencies, np.float64).ravel()
        if q.shape != (num_classes,):
            raise ValueError(
                f"data_frequencies must have one entry per class ({num_classes}); got {q.size}."
            )
        if not np.isfinite(q).all() or (q < 0).any() or q.sum() <= 0:
            raise ValueError("data_frequencies must be finite, >= 0 and not all 0.")
        return q / q.sum()
    return np.full(num_classes, 1.0 / num_classes)


def _kl_divergence(p, q):
    support = p > 0
    if (q[support] == 0).any():
        return math.inf
    return float(max(0.0, np.sum(p[support] * np.log(p[support] / q[support]))))
