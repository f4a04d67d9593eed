"""Conditional GAN: model ``p(x | c)`` by feeding the class ``c`` to both nets.

The extension sketched in Goodfellow et al. (2014, Sec. 7) and developed by
Mirza & Osindero (2014): ``G(z, c)`` and ``D(x, c)`` both see the label, and the
game is the GAN's, played per class. The loss is exactly :class:`GAN`'s (this
class inherits it); only what the networks are fed differs.

Network contract (relied on by export and serving):

* ``generator([z, labels])`` with ``z`` float ``[batch, latent_dim]`` and
  ``labels`` int32 ``[batch]``;
* ``discriminator([x, labels])`` returning one logit per example;
* labels are class indices in ``[0, num_classes)``; the networks encode them
  (one-hot or an embedding) themselves. See
  :mod:`keras_gan.networks.conditional` for builders.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_gan.data.checks import check_conditional_data, check_labels
from keras_gan.models.gan import GAN

__all__ = ["ConditionalGAN"]


def _num_inputs(net):
    try:
        return len(net.inputs)
    except (AttributeError, TypeError, ValueError):  # subclassed model: not known statically
        return None


@keras.saving.register_keras_serializable(package="keras_gan")
class ConditionalGAN(GAN):
    """A GAN conditioned on integer class labels.

    Training data is labelled: a ``tf.data.Dataset`` of ``(x, labels)`` pairs
    (``load_dataset(name, with_labels=True)``) or ``fit(x, labels)``. Labels are
    checked before training (shape ``[batch]``, integer, in
    ``[0, num_classes)``) and, inside the step, by an assertion (not under XLA).
    The generator update uses the labels of the step's last minibatch, so G
    learns the data's class distribution.

    Args:
        generator: ``generator([z, labels])`` -> data.
        discriminator: ``discriminator([x, labels])`` -> one logit per example.
        latent_dim: size of ``z``.
        num_classes: number of classes (labels are ``0 .. num_classes - 1``).
        noise, seed: see :class:`keras_gan.models.AdversarialModel`.

    ``compile`` is :meth:`GAN.compile` (``generator_loss``, ``d_steps``...).

    Example:

    ```python
    from keras_gan import data, models, networks

    cgan = models.ConditionalGAN(
        networks.conditional_mlp_generator(latent_dim=100, num_classes=10,
                                           output_shape=(28, 28, 1)),
        networks.conditional_mlp_discriminator((28, 28, 1), num_classes=10),
        latent_dim=100,
        num_classes=10,
    )
    cgan.compile()
    cgan.fit(data.load_dataset("mnist", batch_size=100, with_labels=True), epochs=5)
    sevens = cgan.sample(16, labels=7, seed=0)
    one_of_each = cgan.sample(10, seed=0)         # labels 0, 1, ..., 9
    ```
    """

    def __init__(
        self, generator, discriminator, latent_dim, num_classes, noise="normal", seed=None, **kwargs
    ):
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
            raise ValueError(f"num_classes must be an int >= 2; got {num_classes!r}.")
        if num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2; got {num_classes}.")
        for what, net, call in (
            ("generator", generator, "generator([z, labels])"),
            ("discriminator", discriminator, "discriminator([x, labels])"),
        ):
            n = _num_inputs(net) if isinstance(net, keras.Model) else None
            if n is not None and n != 2:
                raise ValueError(
                    f"ConditionalGAN's {what} must take two inputs, {call}; got a model with "
                    f"{n} input(s). Build it with keras_gan.networks.conditional_* builders."
                )
        super().__init__(generator, discriminator, latent_dim, noise=noise, seed=seed, **kwargs)
        self.num_classes = int(num_classes)

    # ------------------------------------------------------------------ hooks
    def unpack(self, data):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        if labels is None:
            raise ValueError(
                "ConditionalGAN needs labelled data: (x, labels) pairs, e.g. "
                "load_dataset(name, with_labels=True), or fit(x, labels)."
            )
        labels = tf.convert_to_tensor(labels)
        if labels.shape.rank == 2 and labels.shape[-1] == 1:
            labels = tf.squeeze(labels, axis=-1)
        labels = tf.cast(labels, tf.int32)
        message = f"labels must be in [0, {self.num_classes}) (num_classes={self.num_classes})"
        checks = [
            tf.debugging.assert_non_negative(labels, message=message),
            tf.debugging.assert_less(labels, tf.constant(self.num_classes, tf.int32), message),
        ]
        with tf.control_dependencies(checks):
            labels = tf.identity(labels)
        return x, labels

    def generator_inputs(self, z, conditions):
        return [z, conditions]

    def discriminator_inputs(self, x, conditions):
        return [x, conditions]

    # ------------------------------------------------------------- sampling
    def sample_labels(self, num_samples, labels=None):
        """The labels :meth:`sample` uses: ``None`` cycles ``0, 1, ..., num_classes - 1``,
        an int repeats one class, an array gives one label per sample."""
        num_samples = int(num_samples)
        if labels is None:
            return (np.arange(num_samples) % self.num_classes).astype(np.int32)
        if np.ndim(labels) == 0:
            labels = np.full(num_samples, labels, dtype=np.asarray(labels).dtype)
        return check_labels(labels, self.num_classes, "labels", num_examples=num_samples)

    def generate(self, z, labels=None, batch_size=1024, average=True):
        """Run the generator on latent vectors ``z`` and ``labels`` (one per row);
        ``average`` as in :meth:`keras_gan.models.GAN.generate`."""
        if labels is None:
            raise ValueError(
                "ConditionalGAN.generate needs labels: one class index in "
                f"[0, {self.num_classes}) per latent vector."
            )
        labels = check_labels(labels, self.num_classes, "labels", num_examples=len(z))
        return super().generate(z, conditions=labels, batch_size=batch_size, average=average)

    def sample(self, num_samples, labels=None, seed=None, batch_size=1024, average=True):
        """Generate ``num_samples`` examples of the given classes.

        ``labels``: ``None`` (cycle through the classes), one int, or ``[n]``
        ints. The same ``seed`` gives the same latent vectors as
        :meth:`GAN.sample`, so the same samples for the same labels.
        ``average=False`` samples the generator being trained (see
        :meth:`keras_gan.models.GAN.generate`).
        """
        labels = self.sample_labels(num_samples, labels)
        z = self.sample_latent(num_samples, seed)
        return self.generate(z, labels, batch_size=batch_size, average=average)

    # ------------------------------------------------------- input checking
    def check_training_data(self, x, y=None):
        super().check_training_data(x, y)
        check_conditional_data(x, y, self.num_classes)

    def get_config(self):
        config = super().get_config()
        config["num_classes"] = self.num_classes
        return config
