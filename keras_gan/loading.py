"""Load a trained generator for evaluation: a ``.keras`` file or an exported SavedModel.

:func:`load_generator` returns a :class:`LoadedGenerator`, one interface over

* a ``.keras`` file saved by ``keras-gan train`` (an
  :class:`~keras_gan.models.AdversarialModel`; a plain Keras generator saved
  alone works too when ``noise`` is given);
* an exported SavedModel (``keras_gan.export``): either a version directory
  (holding ``saved_model.pb``) or a model base directory of numeric version
  subdirectories, of which the highest is used. Its ``sample`` signature takes
  ``num_samples`` (int32) and ``seed`` (int64) and returns ``images``; JSON files
  in its ``assets/`` are read as metadata (``latent_dim``, ``noise``,
  ``value_range`` when present). A signature with a single input named ``z``
  (if the export offers one) is used to generate from given latent vectors,
  which latent-space interpolation needs.

``sample(n, seed)`` gives the same samples as ``model.sample(n, seed)`` for a
``.keras`` model and as the exported ``sample`` signature for a SavedModel.

Example:

```python
from keras_gan.loading import load_generator

gen = load_generator("runs/mnist_mlp/model.keras")     # or "saved_models/mnist_gan"
images = gen.sample(64, seed=0)
```
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
from collections.abc import Callable

import numpy as np

logger = logging.getLogger("keras_gan.loading")


@dataclasses.dataclass
class LoadedGenerator:
    """A generator ready to sample, whatever file it came from.

    Attributes:
        path: the file or directory loaded (the version directory of a SavedModel).
        kind: ``"keras"`` or ``"saved_model"``.
        sample_fn: ``fn(num_samples, seed) -> array``.
        generate_fn: ``fn(z) -> array`` or ``None`` when the file cannot be fed
            latent vectors.
        latent_dim, noise: the prior, when known.
        metadata: the SavedModel's metadata (empty for ``.keras``).
        model: the loaded Keras model (``.keras`` only).
    """

    path: str
    kind: str
    sample_fn: Callable
    generate_fn: Callable | None = None
    latent_dim: int | None = None
    noise: str | None = None
    metadata: dict = dataclasses.field(default_factory=dict)
    model: object = None

    def sample(self, num_samples, seed=0):
        """``num_samples`` generated examples, deterministic for a given ``seed``."""
        return np.asarray(self.sample_fn(int(num_samples), int(seed)))

    def __call__(self, num_samples, seed=0):
        return self.sample(num_samples, seed)

    def generate(self, z):
        """Generate from latent vectors ``z`` ``[n, latent_dim]``."""
        if self.generate_fn is None:
            raise ValueError(
                f"{self.path} cannot be fed latent vectors: its SavedModel has no signature "
                "with a single input named 'z'. Use the .keras file instead."
            )
        return np.asarray(self.generate_fn(np.asarray(z, np.float32)))

    def latent(self, num_samples, seed=0):
        """Latent vectors from the prior (the draw ``sample(num_samples, seed)`` uses)."""
        from keras_gan.noise import stateless_latent_noise

        if self.latent_dim is None or self.noise is None:
            raise ValueError(
                f"The latent prior of {self.path} is unknown (latent_dim={self.latent_dim}, "
                f"noise={self.noise})."
            )
        return stateless_latent_noise(num_samples, self.latent_dim, seed, self.noise).numpy()


def load_generator(path, noise=None):
    """Load ``path`` (a ``.keras`` file or a SavedModel directory); see the module doc.

    ``noise`` is needed only for a plain Keras generator saved alone.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model at {path!r}: expected a .keras file or a directory.")
    if os.path.isdir(path):
        return _load_saved_model(path)
    if not path.endswith(".keras"):
        raise ValueError(
            f"Cannot load {path!r}: expected a .keras file or an exported SavedModel directory."
        )
    return _load_keras(path, noise)


def load_keras_model(path, compile=False):
    """``keras.saving.load_model(path)`` of a ``.keras`` file (the package's classes
    registered), failing with one line that names the file and what is wrong with
    it: missing (``FileNotFoundError``), unreadable (the ``OSError``), truncated
    or damaged (``ValueError``; Keras itself says "File not found" when the zip
    archive is incomplete).
    """
    import zipfile

    import keras

    # Register the package's serializable classes (models, layers, schedules).
    import keras_gan.layers  # noqa: F401
    import keras_gan.models  # noqa: F401
    import keras_gan.schedules  # noqa: F401

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No model file {path!r} (expected a .keras file).")
    with open(path, "rb"):  # unreadable: the OSError names the file
        pass
    if not zipfile.is_zipfile(path):
        size = os.path.getsize(path)
        what = "is empty" if size == 0 else f"has {size:,} bytes but no complete zip directory"
        raise ValueError(
            f"Cannot load {path!r}: not a complete .keras file (a .keras file is a zip "
            f"archive; this one {what}: truncated or damaged)."
        )
    try:
        return keras.saving.load_model(path, compile=compile)
    except Exception as e:  # a corrupt or foreign file: one clear line
        raise ValueError(f"Cannot load {path!r} as a Keras model: {e}") from None


def _load_keras(path, noise):
    from keras_gan.models.base import AdversarialModel

    model = load_keras_model(path)
    if isinstance(model, AdversarialModel):
        return LoadedGenerator(
            path=path,
            kind="keras",
            sample_fn=lambda n, seed: model.sample(n, seed=seed),
            generate_fn=model.generate,
            latent_dim=model.latent_dim,
            noise=model.noise,
            model=model,
        )
    shape = model.input_shape
    if isinstance(shape, list) or len(shape) != 2 or shape[-1] is None:
        raise ValueError(
            f"{path} holds a {type(model).__name__} with inputs {shape}; expected an "
            "AdversarialModel or a generator taking z of shape [batch, latent_dim]."
        )
    if noise is None:
        raise ValueError(
            f"{path} holds a plain Keras generator; give its prior with noise= "
            "('normal' or 'uniform'), or load the whole AdversarialModel."
        )
    from keras_gan.metrics.parzen import draw_samples, predict_samples
    from keras_gan.noise import check_noise

    check_noise(noise)
    return LoadedGenerator(
        path=path,
        kind="keras",
        sample_fn=lambda n, seed: draw_samples(model, n, seed, noise=noise),
        generate_fn=lambda z: predict_samples(model, z),
        latent_dim=int(shape[-1]),
        noise=noise,
        model=model,
    )


def resolve_saved_model_dir(path):
    """The version directory of ``path`` (itself, or its highest numeric subdirectory)."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = [
        int(name)
        for name in os.listdir(path)
        if name.isdigit() and os.path.isfile(os.path.join(path, name, "saved_model.pb"))
    ]
    if not versions:
        raise ValueError(
            f"{path!r} is neither a SavedModel (no saved_model.pb) nor a model base directory "
            "with numeric version subdirectories."
        )
    return os.path.join(path, str(max(versions)))


def _read_metadata(version_dir):
    metadata = {}
    for name in sorted(glob.glob(os.path.join(version_dir, "assets", "*.json"))):
        try:
            with open(name) as f:
                content = json.load(f)
        except (OSError, ValueError) as e:
            logger.warning("Ignoring unreadable metadata %s: %s", name, e)
            continue
        if isinstance(content, dict):
            metadata.update(content)
    return metadata


def _single_output(outputs, what):
    if "images" in outputs:
        return outputs["images"]
    if len(outputs) == 1:
        return next(iter(outputs.values()))
    raise ValueError(f"The {what} signature returns {sorted(outputs)}; expected 'images'.")


def _load_saved_model(path):
    import tensorflow as tf

    version_dir = resolve_saved_model_dir(path)
    try:
        loaded = tf.saved_model.load(version_dir)
    except Exception as e:
        raise ValueError(f"Cannot load the SavedModel {version_dir!r}: {e}") from None
    signatures = dict(loaded.signatures)
    if "sample" not in signatures:
        raise ValueError(
            f"The SavedModel {version_dir!r} has no 'sample' signature (it has "
            f"{sorted(signatures)}); export it with keras_gan.export."
        )
    sample_sig = signatures["sample"]

    def sample_fn(n, seed):
        out = sample_sig(num_samples=tf.constant(n, tf.int32), seed=tf.constant(seed, tf.int64))
        return _single_output(out, "sample").numpy()

    generate_fn = None
    latent_dim = None
    for name, sig in sorted(signatures.items()):
        inputs = sig.structured_input_signature[1]
        if list(inputs) == ["z"]:
            spec = inputs["z"]
            latent_dim = spec.shape[-1]

            def generate_fn(z, sig=sig, name=name):
                return _single_output(sig(z=tf.constant(z, tf.float32)), name).numpy()

            break
    metadata = _read_metadata(version_dir)
    latent_dim = metadata.get("latent_dim", latent_dim)
    return LoadedGenerator(
        path=version_dir,
        kind="saved_model",
        sample_fn=sample_fn,
        generate_fn=generate_fn,
        latent_dim=None if latent_dim is None else int(latent_dim),
        noise=metadata.get("noise"),
        metadata=metadata,
        model=loaded,
    )
