"""Tiny MNIST-shaped GANs and SavedModels for evaluation and figure tests."""

import json
import os

import tensorflow as tf

from keras_gan import models, networks
from keras_gan.noise import stateless_latent_noise

LATENT_DIM = 8


def tiny_mnist_gan(noise="uniform"):
    """An untrained 8 -> 32 -> 784 (sigmoid) generator and a small discriminator."""
    g = networks.mlp_generator(latent_dim=LATENT_DIM, hidden=(32,), output_shape=(28, 28, 1))
    d = networks.maxout_discriminator((28, 28, 1), units=(16,), pieces=2, dropout=(0.0, 0.0))
    return models.GAN(g, d, latent_dim=LATENT_DIM, noise=noise, seed=0)


def save_tiny_saved_model(gan, version_dir, with_z_signature=False, metadata=None):
    """A SavedModel following the export contract of ``keras_gan.export``: a ``sample``
    signature ``(num_samples int32, seed int64) -> {"images": float32}`` drawing z with
    ``stateless_latent_noise``; metadata JSON in ``assets/``; optionally ``generate(z)``."""
    generator, latent_dim, noise = gan.generator, gan.latent_dim, gan.noise

    class Exported(tf.Module):
        def __init__(self):
            super().__init__()
            self.generator = generator

        @tf.function(
            input_signature=[
                tf.TensorSpec([], tf.int32, name="num_samples"),
                tf.TensorSpec([], tf.int64, name="seed"),
            ]
        )
        def sample(self, num_samples, seed):
            z = stateless_latent_noise(num_samples, latent_dim, seed, noise)
            return {"images": self.generator(z, training=False)}

        @tf.function(input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name="z")])
        def generate(self, z):
            return {"images": self.generator(z, training=False)}

    module = Exported()
    os.makedirs(os.path.dirname(version_dir), exist_ok=True)
    meta_path = os.path.join(os.path.dirname(version_dir), "metadata.json")
    with open(meta_path, "w") as f:
        json.dump(metadata or {"latent_dim": latent_dim, "noise": noise}, f)
    module.metadata = tf.saved_model.Asset(meta_path)
    signatures = {"sample": module.sample}
    if with_z_signature:
        signatures["generate"] = module.generate
    tf.saved_model.save(module, version_dir, signatures=signatures)
    os.unlink(meta_path)
    return version_dir
