"""The original GAN (Goodfellow et al. 2014)."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_gan import losses
from keras_gan.models.base import AdversarialModel

__all__ = ["GAN"]


@keras.saving.register_keras_serializable(package="keras_gan")
class GAN(AdversarialModel):
    """Generative Adversarial Net trained with Algorithm 1 of the paper.

    ``D`` outputs a logit; ``D(x) = sigmoid(logit)`` estimates ``P(x is real)``.
    ``D`` minimises the cross-entropy ``-V(D, G)``
    (:func:`keras_gan.losses.discriminator_loss`); ``G`` minimises either the
    non-saturating ``-log D(G(z))`` (default) or the minimax
    ``log(1 - D(G(z)))``.

    Metrics: ``d_loss``, ``g_loss``, ``d_real`` (mean ``D(x)``), ``d_fake``
    (mean ``D(G(z))``), averaged over the ``k`` discriminator updates of a step.

    Args: see :class:`keras_gan.models.AdversarialModel`.

    Example:

    ```python
    import keras
    from keras_gan import data, models, networks

    gan = models.GAN(
        networks.mlp_generator(latent_dim=100),
        networks.maxout_discriminator((28, 28, 1)),
        latent_dim=100,
        noise="uniform",
    )
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.1, momentum=0.5),
        g_optimizer=keras.optimizers.SGD(0.1, momentum=0.5),
        generator_loss="non_saturating",
        d_steps=1,
    )
    gan.fit(data.load_dataset("mnist", batch_size=100), epochs=5)
    images = gan.sample(16, seed=0)
    ```
    """

    metric_names = ("d_loss", "g_loss", "d_real", "d_fake")

    def compile(
        self,
        d_optimizer=None,
        g_optimizer=None,
        generator_loss="non_saturating",
        d_steps=1,
        jit_compile="auto",
        **kwargs,
    ):
        """Configure training.

        Args:
            d_optimizer, g_optimizer: optimizers (default: Adam(2e-4, beta_1=0.5)
                each, the DCGAN setting).
            generator_loss: ``"non_saturating"`` (``-log D(G(z))``) or
                ``"minimax"`` (``log(1 - D(G(z)))``).
            d_steps: ``k`` discriminator updates per generator update.
            jit_compile: compile the step with XLA.
            **kwargs: ``run_eagerly``, ``steps_per_execution``.
        """
        super().compile(
            d_optimizer,
            g_optimizer,
            d_steps=d_steps,
            jit_compile=jit_compile,
            generator_loss=generator_loss,
            **kwargs,
        )

    def configure(self, generator_loss="non_saturating"):
        if not isinstance(generator_loss, str):
            raise ValueError(
                "generator_loss must be a name so the model can be saved; allowed: "
                f"{sorted(losses.GENERATOR_LOSSES)}."
            )
        self._generator_loss_fn = losses.get_generator_loss(generator_loss)
        self.generator_loss = generator_loss

    def discriminator_objective(self, real, fake, real_out, fake_out, conditions, batch):
        return losses.discriminator_loss(real_out, fake_out, global_batch_size=batch), {}

    def generator_objective(self, fake_out, batch):
        return self._generator_loss_fn(fake_out, global_batch_size=batch)

    def score_metrics(self, real_out, fake_out):
        return {
            "d_real": tf.reduce_mean(tf.sigmoid(tf.cast(real_out, tf.float32))),
            "d_fake": tf.reduce_mean(tf.sigmoid(tf.cast(fake_out, tf.float32))),
        }
