"""Adversarial models: Keras models whose ``fit`` plays the game."""

# Register the package's custom layers (e.g. Maxout), optimizers and learning-rate schedules so
# that keras.models.load_model can rebuild saved networks and optimizers.
import keras_gan.layers  # noqa: F401
import keras_gan.optimizers  # noqa: F401
import keras_gan.schedules  # noqa: F401
from keras_gan.models.base import AdversarialModel
from keras_gan.models.conditional import ConditionalGAN
from keras_gan.models.gan import GAN
from keras_gan.models.wgan import WGAN, WGANGP

MODELS = {"gan": GAN, "wgan": WGAN, "wgan_gp": WGANGP, "conditional_gan": ConditionalGAN}

__all__ = ["AdversarialModel", "GAN", "WGAN", "WGANGP", "ConditionalGAN", "MODELS"]
