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

from keras_gan import losses
from keras_gan.data.checks import check_conditional_data, check_labels
from keras_gan.models.gan import GAN

__all__ = ["ConditionalGAN"]


def _check_weight(weight):
    if weight is None:
        return None
    if isinstance(weight, bool) or not isinstance(weight, (int, float, np.floating)):
        raise ValueError(f"auxiliary_classifier_weight must be a number >= 0; got {weight!r}.")
    if not np.isfinite(weight) or weight < 0:
        raise ValueError(f"auxiliary_classifier_weight must be a number >= 0; got {weight!r}.")
    return float(weight)


def _check_auxiliary_discriminator(net):
    """ACGAN's D: one input ``x``, two outputs ``[logit, class_logits]``."""
    try:
        inputs, outputs = len(net.inputs), len(net.outputs)
    except (AttributeError, TypeError, ValueError):  # subclassed: not known statically
        return
    if inputs != 1 or outputs != 2:
        raise ValueError(
            "With auxiliary_classifier_weight, the discriminator is discriminator(x) -> "
            f"[logit, class_logits] (one input, two outputs); got {inputs} input(s) and "
            f"{outputs} output(s). Build it with keras_gan.networks.acgan_discriminator."
        )


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
        auxiliary_classifier_weight: ``None`` (default), or the weight ``w`` of
            ACGAN's auxiliary-classifier loss (Odena et al. 2017; the WGAN-GP
            paper's conditional CIFAR-10 model): the discriminator is then
            ``discriminator(x) -> [logit, class_logits]`` (it does not see the
            labels, e.g. :func:`keras_gan.networks.acgan_discriminator`), D adds
            ``w * (CE(class_logits(x), c) + CE(class_logits(G(z, c)), c))`` to its
            loss and G adds ``w * CE(class_logits(G(z, c)), c)``; metric
            ``classifier_loss`` (D's two cross-entropies).
        loss, regularizers, augment, noise, seed: see :class:`keras_gan.models.GAN`.

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
        self,
        generator,
        discriminator,
        latent_dim,
        num_classes,
        noise="normal",
        seed=None,
        auxiliary_classifier_weight=None,
        **kwargs,
    ):
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
            raise ValueError(f"num_classes must be an int >= 2; got {num_classes!r}.")
        if num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2; got {num_classes}.")
        self.auxiliary_classifier_weight = _check_weight(auxiliary_classifier_weight)
        networks = [("generator", generator, "generator([z, labels])", 2)]
        if self.auxiliary_classifier_weight is None:
            networks.append(("discriminator", discriminator, "discriminator([x, labels])", 2))
        else:
            _check_auxiliary_discriminator(discriminator)
        for what, net, call, inputs in networks:
            n = _num_inputs(net) if isinstance(net, keras.Model) else None
            if n is not None and n != inputs:
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
        if self.auxiliary_classifier_weight is not None:
            return x  # ACGAN: D classifies x instead of being told its class
        return [x, conditions]

    # ------------------------------------------------ auxiliary classifier
    def _game_metric_names(self):
        names = super()._game_metric_names()
        if self.auxiliary_classifier_weight is not None:
            names += ("classifier_loss",)
        return names

    def adversarial_output(self, out):
        return out[0] if self.auxiliary_classifier_weight is not None else out

    def _classifier_loss(self, out, labels, batch):
        logits = tf.cast(out[1], tf.float32)
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return losses._reduce(ce, batch)

    def discriminator_objective(self, real, fake, real_out, fake_out, conditions, batch):
        if self.auxiliary_classifier_weight is None:
            return super().discriminator_objective(
                real, fake, real_out, fake_out, conditions, batch
            )
        loss, extra = super().discriminator_objective(
            real, fake, real_out[0], fake_out[0], conditions, batch
        )
        classifier = self._classifier_loss(real_out, conditions, batch) + self._classifier_loss(
            fake_out, conditions, batch
        )
        extra["classifier_loss"] = classifier * tf.distribute.get_strategy().num_replicas_in_sync
        weight = tf.cast(self.auxiliary_classifier_weight, loss.dtype)
        return loss + weight * tf.cast(classifier, loss.dtype), extra

    def _generator_loss(self, fake_out, global_batch, real_out, conditions=None):
        if self.auxiliary_classifier_weight is None:
            return super()._generator_loss(fake_out, global_batch, real_out, conditions)
        real_logit = None if real_out is None else real_out[0]
        loss = super()._generator_loss(fake_out[0], global_batch, real_logit, conditions)
        classifier = self._classifier_loss(fake_out, conditions, global_batch)
        return loss + tf.cast(self.auxiliary_classifier_weight, loss.dtype) * classifier

    def score_metrics(self, real_out, fake_out):
        return super().score_metrics(
            self.adversarial_output(real_out), self.adversarial_output(fake_out)
        )

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
        if self.auxiliary_classifier_weight is not None:
            config["auxiliary_classifier_weight"] = self.auxiliary_classifier_weight
        return config
