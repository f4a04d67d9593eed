"""Small models saved by the code *before* the losses/regularizers refactor (issue 22).

``tests/data/legacy/`` holds, for each model below, a ``.keras`` file, a checkpoint
written by :class:`keras_gan.callbacks.Checkpoint`, and the samples both gave for a
fixed seed when they were written. ``tests/test_legacy_models.py`` loads them with
the current code and compares, so presets (``GAN``, ``WGAN``, ``WGANGP``,
``ConditionalGAN``) keep loading and sampling the same.

Regenerate only on purpose (it overwrites the fixtures)::

    python tests/legacy_models.py
"""

import os
import sys

import numpy as np

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "legacy")
SAMPLE_SEED = 3
NUM_SAMPLES = 6
LATENT_DIM = 4
SEQ_LENGTH = 6


def _mlp_pair(latent_dim=LATENT_DIM, data_dim=2):
    from keras_gan import networks

    g = networks.mlp_generator(
        latent_dim=latent_dim, hidden=(16,), output_shape=(data_dim,), output_activation="linear"
    )
    d = networks.mlp_discriminator((data_dim,), hidden=(16,))
    return g, d


def build(name):
    """The untrained model ``name`` (the same architecture the fixture was saved from)."""
    from keras_gan import data, models, networks

    if name == "gan":  # a conv GAN with batch norm and a weight average
        g = networks.dcgan_generator(latent_dim=LATENT_DIM, output_shape=(8, 8, 1), base_filters=4)
        d = networks.dcgan_discriminator((8, 8, 1), base_filters=4, normalization="batch")
        return models.GAN(g, d, latent_dim=LATENT_DIM, seed=1, ema_decay=0.9)
    if name == "wgan_gp":
        return models.WGANGP(*_mlp_pair(), latent_dim=LATENT_DIM, seed=2)
    if name == "wgan":
        return models.WGAN(*_mlp_pair(), latent_dim=LATENT_DIM, clip_value=0.05, seed=3)
    if name == "conditional_gan":
        g = networks.conditional_mlp_generator(
            latent_dim=LATENT_DIM, num_classes=3, hidden=(16,), output_shape=(2,)
        )
        d = networks.conditional_mlp_discriminator((2,), num_classes=3, hidden=(16,))
        return models.ConditionalGAN(g, d, latent_dim=LATENT_DIM, num_classes=3, seed=4)
    if name == "sequence":
        vocab = data.sequence_vocabulary("grammar", length=SEQ_LENGTH)
        shape = (SEQ_LENGTH, len(vocab))
        g = networks.sequence_generator(
            latent_dim=LATENT_DIM, output_shape=shape, channels=4, num_blocks=1, output="softmax"
        )
        d = networks.sequence_critic(shape, channels=4, num_blocks=1)
        return models.WGANGP(g, d, latent_dim=LATENT_DIM, seed=5, vocabulary=vocab)
    raise ValueError(name)


NAMES = ("gan", "wgan_gp", "wgan", "conditional_gan", "sequence")


def training_data(name, n=64):
    rng = np.random.default_rng(0)
    if name == "gan":
        return (rng.uniform(-1, 1, (n, 8, 8, 1)).astype("float32"),)
    if name == "conditional_gan":
        return rng.normal(size=(n, 2)).astype("float32"), rng.integers(0, 3, n).astype("int32")
    if name == "sequence":
        from keras_gan import data

        vocab = data.sequence_vocabulary("grammar", length=SEQ_LENGTH)
        ids = rng.integers(0, len(vocab), (n, SEQ_LENGTH))
        return (np.eye(len(vocab), dtype="float32")[ids],)
    return (rng.normal(size=(n, 2)).astype("float32"),)


def samples(model):
    return model.sample(NUM_SAMPLES, seed=SAMPLE_SEED)


def compiled(name):
    model = build(name)
    model.compile(steps_per_execution=1)
    return model


def make(name):
    import keras

    from keras_gan.callbacks import Checkpoint

    keras.utils.set_random_seed(0)
    model = compiled(name)
    arrays = training_data(name)
    model.fit(*arrays, batch_size=model.d_steps * 8, epochs=1, steps_per_epoch=3, verbose=0)
    model.save(os.path.join(DATA_DIR, f"{name}.keras"))
    checkpoint = Checkpoint(os.path.join(DATA_DIR, f"{name}_checkpoint"), keep=1)
    checkpoint.set_model(model)
    checkpoint.save()
    np.save(os.path.join(DATA_DIR, f"{name}_samples.npy"), samples(model))


if __name__ == "__main__":
    os.makedirs(DATA_DIR, exist_ok=True)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for model_name in NAMES:
        make(model_name)
