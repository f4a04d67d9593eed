"""Adversarial models: Keras models whose ``fit`` plays the game."""

from keras_gan.models.base import AdversarialModel
from keras_gan.models.gan import GAN

MODELS = {"gan": GAN}

__all__ = ["AdversarialModel", "GAN", "MODELS"]
