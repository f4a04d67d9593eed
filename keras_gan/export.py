"""Export a trained generator as a versioned SavedModel that TensorFlow Serving loads.

:func:`export_generator` writes ``base_dir/<version>/`` (tag ``serve``), the layout
TF Serving (and ``keras-gan serve``) polls, with two signatures (three for images):

``serving_default``
    input ``z`` float32 ``[batch, latent_dim]`` -> output ``images`` float32
    ``[batch, *data_shape]`` in the documented ``value_range``.
``sample``
    inputs ``num_samples`` int32 scalar and ``seed`` int64 scalar -> ``images``
    float32 ``[num_samples, *data_shape]``. The latent vectors are drawn inside
    the graph with :func:`keras_gan.noise.stateless_latent_noise`, so the same
    ``(num_samples, seed)`` always gives the same images, and they equal
    ``model.sample(num_samples, seed=seed)`` in process. The graph refuses
    ``num_samples`` outside ``[1, max_num_samples]`` (an ``INVALID_ARGUMENT``
    error, also on the real TF Serving, which therefore never allocates an
    absurd tensor). Its inputs are scalars, so over REST it is called with the
    columnar format: ``{"signature_name": "sample", "inputs": {"num_samples": 16,
    "seed": 0}}`` (the row format, ``instances``, adds a batch dimension).

An image generator (output ``[height, width, 1|3|4]``) gets a third signature:

``sample_png``
    the inputs of ``sample`` -> ``images_bytes`` string ``[num_samples]``: each
    image as a PNG (``tf.io.encode_png`` inside the graph, so the real TF
    Serving serves it too), its values mapped from ``value_range`` to 8 bits
    (``round(255 * (x - low) / (high - low))``, clipped). The output's name ends
    in ``_bytes``, so TF Serving's REST API answers ``{"b64": ...}``; gRPC
    answers DT_STRING. Other generators skip it, with a log line.

Every signature computes a one-row request as the first row of two: a CPU
matrix product rounds a single row (a matrix-vector kernel) differently from
several, and a request's rows must not depend on the requests batched with it
(``keras-gan serve --enable_batching``; TF Serving's batching too).

A sequence generator (a model with a ``vocabulary``, e.g. one trained on the
``grammar`` or ``text`` data sets, whose generator outputs ``[length, vocab]``
distributions) gets a second output on ``sample``: ``token_ids`` int32
``[num_samples, length]``, the argmax over the vocabulary of ``images`` (which
keeps the distributions, so every generator's ``sample`` has ``images``);
``serving_default`` is unchanged (``z`` -> ``images``). The metadata holds the
``vocabulary`` (token of each id; ``null`` for other generators), so a client
decodes ids to text without the training code.

A conditional model (one with an int attribute ``num_classes``, whose generator
is called as ``generator([z, labels])``) gets a ``labels`` input, int32, on both
signatures: ``[batch]`` for ``serving_default`` and ``[num_samples]`` for
``sample``; labels outside ``[0, num_classes)`` are refused inside the graph.

The metadata (latent size, output shape, value range, prior, model class,
training config, versions, export time) is stored as the SavedModel asset
``assets/keras_gan_metadata.json`` and returned by ``keras-gan serve``'s metadata
endpoint. A TF Serving warm-up file (``assets.extra/tf_serving_warmup_requests``)
lets the real TF Serving (and ``keras-gan serve``) run each signature once at load.

The write is atomic: the SavedModel is written to a hidden sibling directory
(``base_dir/.tmp-export-<pid>-*``, a name TF Serving never loads because it is
not numeric), synced to disk and renamed to ``base_dir/<version>``, so a polling
server sees the version complete or not at all. Weights with NaN or Inf are
refused before anything is written. Such directories left by a killed export
are removed by the next export to the same base directory (see
:func:`keras_gan.io.remove_stale_temporaries`). A file-system failure (a
read-only or full disk, a file where ``base_dir`` should be) is an ``OSError``
naming ``base_dir``, also when TensorFlow reported it.

The metadata holds a ``fingerprint``: a SHA-256 of the generator's weights and
of everything that shapes the signatures (latent size, prior, classes, value
range, ``max_num_samples``, vocabulary). With ``if_changed=True``,
:func:`export_generator` returns the newest version instead of writing a new
one when its fingerprint is the same, so a process killed after the rename
that published a version (before it could record that) does not export the
same generator twice when it runs again; ``keras-gan train`` exports so.

This module imports no training code (models, training, data, callbacks).

Example:

```python
from keras_gan.export import export_generator, read_metadata

path = export_generator(gan, "saved_models/mnist_gan")    # saved_models/mnist_gan/1
read_metadata(path)["latent_dim"]                          # 100
```
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import uuid

import keras
import numpy as np
import tensorflow as tf

from keras_gan.io import remove_stale_temporaries, writing
from keras_gan.noise import check_noise, stateless_latent_noise

__all__ = [
    "export_generator",
    "read_metadata",
    "list_versions",
    "next_version",
    "METADATA_FILENAME",
    "METADATA_FORMAT",
    "WARMUP_FILENAME",
    "DEFAULT_SIGNATURE",
    "SAMPLE_SIGNATURE",
    "PNG_SIGNATURE",
    "PNG_OUTPUT_KEY",
    "OUTPUT_KEY",
    "TOKEN_IDS_KEY",
]

METADATA_FILENAME = "keras_gan_metadata.json"
METADATA_FORMAT = "keras_gan.generator.v1"
WARMUP_FILENAME = "tf_serving_warmup_requests"
DEFAULT_SIGNATURE = "serving_default"
SAMPLE_SIGNATURE = "sample"
PNG_SIGNATURE = "sample_png"
PNG_OUTPUT_KEY = "images_bytes"  # TF Serving's REST answers *_bytes outputs as {"b64": ...}
logger = logging.getLogger("keras_gan.export")
OUTPUT_KEY = "images"
TOKEN_IDS_KEY = "token_ids"
DEFAULT_MAX_NUM_SAMPLES = 1024
TMP_PREFIX = ".tmp-export-"
_VERSION_RE = re.compile(r"^[0-9]+$")
_ACTIVATION_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


# --------------------------------------------------------------- versions
def list_versions(base_dir):
    """Sorted numeric version numbers under ``base_dir`` (TF Serving's rule:
    only all-digit directory names are versions)."""
    if not os.path.isdir(base_dir):
        return []
    return sorted(
        int(name)
        for name in os.listdir(base_dir)
        if _VERSION_RE.match(name) and os.path.isdir(os.path.join(base_dir, name))
    )


def next_version(base_dir):
    """The version :func:`export_generator` picks when not told: max + 1 (or 1)."""
    versions = list_versions(base_dir)
    return versions[-1] + 1 if versions else 1


def read_metadata(version_dir):
    """The metadata dict stored in an exported version directory."""
    path = os.path.join(version_dir, "assets", METADATA_FILENAME)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# --------------------------------------------------------------- checks
def _check_model(model):
    # A model that averages its generator's weights samples from the average.
    generator = getattr(model, "sampling_generator", None) or getattr(model, "generator", None)
    if not isinstance(generator, keras.Model):
        raise TypeError(
            "export_generator needs a model with a keras.Model `generator` attribute "
            f"(e.g. a keras_gan GAN); got {type(model).__name__}."
        )
    latent_dim = getattr(model, "latent_dim", None)
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, (int, np.integer)):
        raise TypeError(f"model.latent_dim must be an int; got {latent_dim!r}.")
    if latent_dim < 1:
        raise ValueError(f"model.latent_dim must be >= 1; got {latent_dim}.")
    noise = check_noise(getattr(model, "noise", "normal"))
    num_classes = getattr(model, "num_classes", None)
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
            raise TypeError(f"model.num_classes must be an int; got {num_classes!r}.")
        if num_classes < 1:
            raise ValueError(f"model.num_classes must be >= 1; got {num_classes}.")
        num_classes = int(num_classes)
    return generator, int(latent_dim), noise, num_classes


def _check_vocabulary(vocabulary, generator):
    """A sequence generator's vocabulary as a list of distinct strings, one per
    index of its ``[length, vocab]`` output (``None`` passes)."""
    if vocabulary is None:
        return None
    tokens = list(vocabulary)
    if not tokens or not all(isinstance(t, str) for t in tokens) or len(set(tokens)) != len(tokens):
        raise ValueError(f"vocabulary must be a list of distinct strings; got {vocabulary!r}.")
    shape = tuple(generator.output_shape)
    if len(shape) != 3 or shape[-1] != len(tokens):
        raise ValueError(
            f"A vocabulary of {len(tokens)} tokens needs a generator of sequences "
            f"[length, {len(tokens)}]; the generator's output shape is {shape[1:]}."
        )
    return tokens


def _check_finite_weights(generator):
    for weight in generator.weights:
        values = np.asarray(keras.ops.convert_to_numpy(weight.value))
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            bad = int(values.size - np.isfinite(values).sum())
            raise ValueError(
                f"Refusing to export: generator weight {weight.path!r} has {bad} NaN/Inf "
                f"value(s) of {values.size}; the training diverged. Export a checkpoint "
                "from before the divergence (nothing was written)."
            )


def _check_version(version):
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1:
        raise ValueError(f"version must be an int >= 1 (or None for the next); got {version!r}.")
    return int(version)


def _check_value_range(value_range):
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be (low, high); got {value_range!r}.") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"value_range must be finite with low < high; got {value_range!r}.")
    return [lo, hi]


def infer_value_range(generator):
    """The generator's output range from its last activation: sigmoid -> (0, 1),
    tanh -> (-1, 1); ``None`` when it cannot be told (e.g. linear)."""
    for layer in reversed(generator.layers):
        activation = getattr(layer, "activation", None)
        if activation is None:
            continue  # Reshape, Flatten, ...: look further back
        try:
            name = keras.activations.serialize(activation)
        except Exception:  # a custom callable
            return None
        if isinstance(name, dict):
            name = name.get("config", name.get("class_name"))
        return _ACTIVATION_RANGES.get(name if isinstance(name, str) else None)
    return None


# --------------------------------------------------------------- the graph
class _ExportedGenerator(tf.Module):
    """The generator plus the signature functions, as a trackable module."""

    def __init__(
        self,
        generator,
        latent_dim,
        noise,
        num_classes,
        max_num_samples,
        sequences=False,
        png_range=None,
    ):
        super().__init__(name="keras_gan_generator")
        self.generator = generator
        self._png_range = png_range  # (low, high) of the images, None: no sample_png
        self._sequences = sequences
        self._latent_dim = latent_dim
        self._noise = noise
        self._num_classes = num_classes
        self._max_num_samples = max_num_samples

    def _check_labels(self, labels, batch):
        n = tf.constant(self._num_classes, tf.int32)
        return [
            tf.debugging.assert_equal(
                tf.shape(labels)[0],
                batch,
                message="labels must have one entry per generated sample",
            ),
            tf.debugging.assert_non_negative(labels, message="labels must be >= 0"),
            tf.debugging.assert_less(
                labels, n, message=f"labels must be < num_classes = {self._num_classes}"
            ),
        ]

    def _generate(self, z, labels=None, token_ids=False):
        # A single row is computed as the first of two: a CPU matrix product
        # rounds one row (a matrix-vector kernel) differently from several, and
        # batched serving must give each request the rows it gets alone.
        n = tf.shape(z)[0]
        pad = tf.maximum(2 - n, 0)
        z = tf.concat([z, tf.zeros([pad, self._latent_dim], z.dtype)], 0)
        if labels is not None:
            labels = tf.concat([labels, tf.zeros([pad], labels.dtype)], 0)
        inputs = z if labels is None else [z, labels]
        images = tf.cast(self.generator(inputs, training=False), tf.float32)[:n]
        outputs = {OUTPUT_KEY: tf.identity(images, name=OUTPUT_KEY)}
        if token_ids:
            ids = tf.argmax(images, axis=-1, output_type=tf.int32)
            outputs[TOKEN_IDS_KEY] = tf.identity(ids, name=TOKEN_IDS_KEY)
        return outputs

    def build_signatures(self):
        latent_dim = self._latent_dim
        z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
        n_spec = tf.TensorSpec([], tf.int32, name="num_samples")
        seed_spec = tf.TensorSpec([], tf.int64, name="seed")
        labels_spec = tf.TensorSpec([None], tf.int32, name="labels")

        def from_z(z, labels=None):
            z = tf.debugging.check_numerics(z, "z must be finite (it has NaN or Inf)")
            checks = [] if labels is None else self._check_labels(labels, tf.shape(z)[0])
            with tf.control_dependencies(checks):
                z = tf.identity(z)
                labels = None if labels is None else tf.identity(labels)
            return self._generate(z, labels)

        def from_seed(num_samples, seed, labels=None):
            checks = [
                tf.debugging.assert_greater_equal(
                    num_samples, 1, message="num_samples must be >= 1"
                ),
                tf.debugging.assert_less_equal(
                    num_samples,
                    self._max_num_samples,
                    message=f"num_samples must be <= {self._max_num_samples}",
                ),
            ]
            if labels is not None:
                checks += self._check_labels(labels, num_samples)
            with tf.control_dependencies(checks):
                # Nothing is drawn or generated before the checks passed.
                z = stateless_latent_noise(num_samples, latent_dim, seed, self._noise)
                labels = None if labels is None else tf.identity(labels)
            return self._generate(z, labels, token_ids=self._sequences)

        if self._num_classes is None:
            serving_default = tf.function(from_z, input_signature=[z_spec])

            def from_seed_unconditional(num_samples, seed):
                return from_seed(num_samples, seed)

            sample = tf.function(from_seed_unconditional, input_signature=[n_spec, seed_spec])
        else:
            serving_default = tf.function(from_z, input_signature=[z_spec, labels_spec])
            sample = tf.function(from_seed, input_signature=[n_spec, seed_spec, labels_spec])
        # Tracked as attributes too, so the loaded object offers them as methods.
        self.serving_default = serving_default
        self.sample = sample
        signatures = {DEFAULT_SIGNATURE: serving_default, SAMPLE_SIGNATURE: sample}
        if self._png_range is not None:
            specs = [n_spec, seed_spec] + ([labels_spec] if self._num_classes is not None else [])
            self.sample_png = tf.function(
                lambda *args: {PNG_OUTPUT_KEY: self._png(sample(*args)[OUTPUT_KEY])},
                input_signature=specs,
            )
            signatures[PNG_SIGNATURE] = self.sample_png
        return signatures

    def _png(self, images):
        """PNG strings of images in ``[low, high]``: 8 bits, round to nearest."""
        low, high = self._png_range
        scaled = tf.clip_by_value((images - low) / (high - low), 0.0, 1.0) * 255.0
        pixels = tf.cast(tf.round(scaled), tf.uint8)
        return tf.map_fn(tf.io.encode_png, pixels, fn_output_signature=tf.string)


# --------------------------------------------------------------- files
def _fsync_tree(root):
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(dirpath)


def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems do not sync directories
        pass
    finally:
        os.close(fd)


def _write_warmup(path, latent_dim, num_classes, png=False):
    """TF Serving's warm-up file: one PredictionLog per signature."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    requests = []
    z = {"z": tf.make_tensor_proto(np.zeros((1, latent_dim), np.float32))}
    sample = {
        "num_samples": tf.make_tensor_proto(np.int32(1)),
        "seed": tf.make_tensor_proto(np.int64(0)),
    }
    if num_classes is not None:
        z["labels"] = sample["labels"] = tf.make_tensor_proto(np.zeros([1], np.int32))
    signatures = [(DEFAULT_SIGNATURE, z), (SAMPLE_SIGNATURE, sample)]
    if png:
        signatures.append((PNG_SIGNATURE, sample))
    for signature, inputs in signatures:
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(signature_name=signature), inputs=inputs
        )
        requests.append(
            prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
        )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for log in requests:
            writer.write(log.SerializeToString())


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def _metadata(
    model,
    generator,
    latent_dim,
    noise,
    num_classes,
    value_range,
    value_range_source,
    vocabulary=None,
    png=False,
    **extra,
):
    from keras_gan import __version__

    output_shape = [int(d) for d in generator.output_shape[1:]]
    sample_outputs = {OUTPUT_KEY: ["float32", [-1, *output_shape]]}
    if vocabulary is not None:
        sample_outputs[TOKEN_IDS_KEY] = ["int32", [-1, *output_shape[:-1]]]
    return {
        "format": METADATA_FORMAT,
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "generator": generator.name,
        "generator_parameters": int(generator.count_params()),
        "latent_dim": latent_dim,
        "noise": noise,
        "num_classes": num_classes,
        "output_shape": output_shape,
        "output_dtype": "float32",
        "value_range": value_range,
        "value_range_source": value_range_source,
        # what the model was trained on (source used, location, examples), when known
        "training_data": getattr(model, "training_data", None),
        "signatures": {
            DEFAULT_SIGNATURE: {
                "inputs": {"z": ["float32", [-1, latent_dim]]}
                | ({"labels": ["int32", [-1]]} if num_classes else {}),
                "outputs": {OUTPUT_KEY: ["float32", [-1, *output_shape]]},
            },
            SAMPLE_SIGNATURE: {
                "inputs": {"num_samples": ["int32", []], "seed": ["int64", []]}
                | ({"labels": ["int32", [-1]]} if num_classes else {}),
                "outputs": sample_outputs,
            },
        }
        | (
            {
                PNG_SIGNATURE: {
                    "inputs": {"num_samples": ["int32", []], "seed": ["int64", []]}
                    | ({"labels": ["int32", [-1]]} if num_classes else {}),
                    "outputs": {PNG_OUTPUT_KEY: ["string", [-1]]},
                }
            }
            if png
            else {}
        ),
        "vocabulary": vocabulary,
        "keras_gan_version": __version__,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        **extra,
    }


# --------------------------------------------------------------- export
def export_generator(
    model,
    base_dir,
    version=None,
    value_range=None,
    training_config=None,
    max_num_samples=DEFAULT_MAX_NUM_SAMPLES,
    vocabulary=None,
    if_changed=False,
):
    """Write ``model``'s generator as the SavedModel ``base_dir/<version>/``.

    Args:
        model: an adversarial model (anything with ``generator``, a
            ``keras.Model``; ``latent_dim``; optionally ``noise`` and
            ``num_classes``).
        base_dir: the model's base path (TF Serving's ``base_path``); created
            if missing.
        version: version number (int >= 1); ``None`` takes the largest
            existing numeric version + 1. An existing version is never
            overwritten.
        value_range: ``(low, high)`` of the generated data, stored in the
            metadata; default: inferred from the generator's output activation
            (sigmoid: ``(0, 1)``, tanh: ``(-1, 1)``), else ``(0, 1)``.
        training_config: a JSON-serialisable dict recorded in the metadata
            (``keras-gan train`` passes its validated config).
        max_num_samples: the largest ``num_samples`` the ``sample`` signature
            accepts (guarded inside the graph).
        vocabulary: the tokens of a sequence generator's last axis (default:
            ``model.vocabulary`` if the model has one); makes ``sample`` return
            ``token_ids`` too and is stored in the metadata.
        if_changed: with ``version=None``, return the newest existing version
            instead of writing one when its metadata's ``fingerprint`` (the
            weights and the signatures' parameters) is this export's.

    Returns:
        The path of the new version directory (with ``if_changed``, possibly
        of the existing one).

    Raises:
        ValueError: NaN/Inf weights, a bad argument, or an existing version.
        OSError: the base directory cannot be written (read-only, full, a file),
            naming ``base_dir``.
    """
    generator, latent_dim, noise, num_classes = _check_model(model)
    if vocabulary is None:
        vocabulary = getattr(model, "vocabulary", None)
    vocabulary = _check_vocabulary(vocabulary, generator)
    version = _check_version(version)
    if value_range is not None:
        value_range, source = _check_value_range(value_range), "given"
    elif vocabulary is not None:
        value_range, source = [0.0, 1.0], "probabilities over the vocabulary"
    else:
        inferred = infer_value_range(generator)
        value_range = list(inferred or (0.0, 1.0))
        source = "inferred from the output activation" if inferred else "default"
    if (
        isinstance(max_num_samples, bool)
        or not isinstance(max_num_samples, (int, np.integer))
        or not 1 <= max_num_samples < 2**31
    ):
        raise ValueError(f"max_num_samples must be an int >= 1; got {max_num_samples!r}.")
    _check_finite_weights(generator)
    if version is not None and os.path.exists(os.path.join(base_dir, str(version))):
        raise ValueError(
            f"Version {version} already exists in {base_dir}; versions are never overwritten. "
            f"Omit the version to write the next one ({next_version(base_dir)})."
        )

    max_num_samples = int(max_num_samples)
    digest = _fingerprint(
        generator, latent_dim, noise, num_classes, value_range, max_num_samples, vocabulary
    )
    signature_args = dict(
        generator=generator, latent_dim=latent_dim, noise=noise, num_classes=num_classes,
        max_num_samples=max_num_samples, sequences=vocabulary is not None,
        png_range=_png_range(generator, vocabulary, value_range),
    )  # fmt: skip
    meta_args = dict(
        generator=generator, latent_dim=latent_dim, noise=noise, num_classes=num_classes,
        value_range=value_range, value_range_source=source, vocabulary=vocabulary,
        max_num_samples=max_num_samples, training_config=training_config, fingerprint=digest,
        png=signature_args["png_range"] is not None,
    )  # fmt: skip
    if if_changed and version is None:
        newest = _newest_version(base_dir)
        if newest is not None and newest[1].get("fingerprint") == digest:
            return newest[0]

    with writing(base_dir):  # OS errors, also TensorFlow's, name base_dir
        os.makedirs(base_dir, exist_ok=True)
        remove_stale_temporaries(base_dir)
        return _write(model, base_dir, version, meta_args, signature_args)


def _png_range(generator, vocabulary, value_range):
    """The value range for ``sample_png`` when the generator makes images
    (``[height, width, 1|3|4]``, not a sequence), else ``None`` (logged)."""
    shape = tuple(generator.output_shape[1:])
    if vocabulary is None and len(shape) == 3 and shape[-1] in (1, 3, 4):
        return tuple(value_range)
    logger.info(
        "no %s signature: the generator's output %s is not an image [height, width, 1|3|4]%s",
        PNG_SIGNATURE,
        list(shape),
        " (a sequence generator)" if vocabulary is not None else "",
    )
    return None


def _write(model, base_dir, version, meta_args, signature_args):
    """Write the SavedModel to a temporary sibling and publish it as a version."""
    tmp = os.path.join(base_dir, f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}")
    staging = tempfile.mkdtemp(prefix="keras-gan-meta-")
    try:
        module = _ExportedGenerator(**signature_args)
        signatures = module.build_signatures()
        meta = _metadata(model, **meta_args)
        meta_path = os.path.join(staging, METADATA_FILENAME)
        with open(meta_path, "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2, sort_keys=True, default=_json_default)
        module.metadata_file = tf.saved_model.Asset(meta_path)
        tf.saved_model.save(module, tmp, signatures=signatures)
        _write_warmup(
            os.path.join(tmp, "assets.extra", WARMUP_FILENAME),
            signature_args["latent_dim"],
            signature_args["num_classes"],
            png=signature_args["png_range"] is not None,
        )
        _fsync_tree(tmp)
        return _publish(tmp, base_dir, version)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def _fingerprint(generator, latent_dim, noise, num_classes, value_range, max_num_samples, vocab):
    """SHA-256 of the generator's weights (values, shapes, dtypes, in order) and of
    the parameters of the signatures: equal for exports that serve the same thing."""
    digest = hashlib.sha256()
    for weight in generator.weights:
        values = np.ascontiguousarray(keras.ops.convert_to_numpy(weight.value))
        digest.update(f"{values.dtype.str}{values.shape};".encode())
        digest.update(values.tobytes())
    parameters = [latent_dim, noise, num_classes, list(value_range), max_num_samples, vocab]
    digest.update(json.dumps(parameters, default=_json_default).encode())
    digest.update(json.dumps([int(d) for d in generator.output_shape[1:]]).encode())
    return digest.hexdigest()


def _newest_version(base_dir):
    """``(path, metadata)`` of the highest version of ``base_dir`` (``None`` when there
    is none; empty metadata when it cannot be read)."""
    versions = list_versions(base_dir)
    if not versions:
        return None
    path = os.path.join(base_dir, str(versions[-1]))
    try:
        meta = read_metadata(path)
    except (OSError, ValueError):
        meta = {}
    return path, meta if isinstance(meta, dict) else {}


def _publish(tmp, base_dir, version):
    """Rename the finished ``tmp`` to ``base_dir/<version>`` (atomic on POSIX).

    Renaming onto an existing non-empty directory fails, so two concurrent
    exports cannot both claim one version: with ``version=None`` the loser takes
    the next number.
    """
    for _ in range(100):
        target = os.path.join(
            base_dir, str(version if version is not None else next_version(base_dir))
        )
        if not os.path.exists(target):
            try:
                os.rename(tmp, target)
            except OSError:
                if not os.path.exists(target):
                    raise
            else:
                _fsync_dir(base_dir)
                return target
        # Another export claimed this number first.
        if version is not None:
            raise ValueError(
                f"Version {version} already exists in {base_dir}; versions are never overwritten."
            )
    raise RuntimeError(f"Could not claim a new version number in {base_dir}.")
