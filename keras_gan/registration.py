"""Registering the package's Keras classes when Keras is imported.

Keras rebuilds a saved model from the names its classes were registered under
(``keras_gan>GAN``, ``keras_gan>Maxout``, ...), so the classes must be imported
before ``keras.models.load_model`` runs. Importing them eagerly in
``keras_gan/__init__.py`` would make every ``keras-gan`` command, ``--help``
included, import TensorFlow first. Instead a post-import hook on ``keras``
(``wrapt``'s, as used by instrumentation libraries) imports
:mod:`keras_gan.models` as soon as Keras is imported, or at once if it already
is: a process that imports ``keras_gan`` and Keras, in either order, can load
the package's models.

The serving process runs exports only and never needs the training classes:
:mod:`keras_gan.serving.server` calls :func:`skip_registration` so that the
TensorFlow it imports (which imports Keras) does not pull them in.
"""

from __future__ import annotations

import wrapt

_enabled = True
_hooked = False


def _register(_keras_module):
    if _enabled:
        import keras_gan.models  # noqa: F401  (the models' imports register everything)


def register_on_keras_import():
    """Register the package's Keras classes when Keras is (or has been) imported."""
    global _hooked
    if not _hooked:
        _hooked = True
        wrapt.register_post_import_hook(_register, "keras")


def skip_registration():
    """Do not import the training classes when Keras is imported (serving processes).

    Has no effect if Keras was imported already (the classes are registered then).
    """
    global _enabled
    _enabled = False
