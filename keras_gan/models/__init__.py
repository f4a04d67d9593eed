"""Adversarial models: Keras models whose ``fit`` plays the game."""

# Registers the package's custom layers (e.g. Maxout) so that
# keras.models.load_model can rebuild saved networks.
import keras_gan.layers  # noqa: F401
from keras_gan.models.base import AdversarialModel
from keras_gan.models.gan import GAN

MODELS = {"gan": GAN}

__all__ = ["AdversarialModel", "GAN", "MODELS"]
