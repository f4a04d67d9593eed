"""The adversarial model, with the loss, the regularizers and augmentation as axes.

:class:`GAN` plays the game of :class:`~keras_gan.models.AdversarialModel` with

* ``loss``: a pair of pure functions, D side and G side, from
  :data:`keras_gan.losses.LOSSES` (``non_saturating``, ``minimax``,
  ``wasserstein``, ``hinge``, ``least_squares``, ``relativistic_average``);
* ``regularizers``: :mod:`keras_gan.regularizers` objects, each with its weight
  and schedule (``GradientPenalty``, ``R1``, ``R2``, ``WeightClipping``);
* ``augment``: a :class:`keras_gan.augment.DiffAugment` applied to what D sees of
  real and generated data, in both players' updates.

WGAN-GP is ``GAN(..., loss="wasserstein", regularizers=[GradientPenalty(10)])``;
:class:`~keras_gan.models.WGANGP` and :class:`~keras_gan.models.WGAN` are presets
of this class with the papers' defaults.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_gan import losses
from keras_gan import regularizers as regularizers_lib
from keras_gan.models.base import AdversarialModel

__all__ = ["GAN"]

#: The losses ``compile(generator_loss=...)`` may swap between (same D side).
_LOGISTIC = ("non_saturating", "minimax")


def _regularizer_list(regularizers):
    if regularizers is None:
        return ()
    if isinstance(regularizers, (str, dict, regularizers_lib.Regularizer)):
        regularizers = [regularizers]
    found = tuple(regularizers_lib.get(r) for r in regularizers)
    names = [r.name for r in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"regularizers: {twice} given more than once; give each at most once.")
    return found


@keras.saving.register_keras_serializable(package="keras_gan")
class GAN(AdversarialModel):
    """An adversarial model with a choice of loss, regularizers and augmentation.

    With the defaults it is the GAN of Goodfellow et al. (2014) trained with
    Algorithm 1: ``D`` outputs a logit, ``D`` minimises the cross-entropy ``-V(D,
    G)`` and ``G`` the non-saturating ``-log D(G(z))``.

    Args:
        generator, discriminator, latent_dim: see
            :class:`keras_gan.models.AdversarialModel`.
        loss: the name of an adversarial loss (:data:`keras_gan.losses.LOSSES`).
        regularizers: :class:`keras_gan.regularizers.Regularizer` objects (or
            names, or ``{name: ..., ...}`` mappings); each at most once.
        augment: a :class:`keras_gan.augment.DiffAugment`, or its config mapping
            ``{"policy": [...], "probability": p}`` (``None``: no augmentation).
        noise, seed, vocabulary, ema_decay, ema_warmup: see
            :class:`keras_gan.models.AdversarialModel`.

    Metrics: ``d_loss``, ``g_loss``; from D's outputs ``d_real``/``d_fake`` (mean
    ``sigmoid`` for logit losses, mean output for ``hinge``/``least_squares``) or
    ``wasserstein`` (``E[D(x)] - E[D(G(z))]``, for ``wasserstein``); then each
    regularizer's (e.g. ``r1_penalty``), all averaged over the ``k`` discriminator
    updates of a step.

    Example:

    ```python
    import keras
    from keras_gan import data, models, networks, regularizers

    gan = models.GAN(
        networks.mlp_generator(latent_dim=100),
        networks.maxout_discriminator((28, 28, 1)),
        latent_dim=100,
        noise="uniform",
        loss="hinge",
        regularizers=[regularizers.R1(1.0, every=4)],
    )
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.1, momentum=0.5),
        g_optimizer=keras.optimizers.SGD(0.1, momentum=0.5),
        d_steps=1,
    )
    gan.fit(data.load_dataset("mnist", batch_size=100), epochs=5)
    images = gan.sample(16, seed=0)
    ```
    """

    metric_names = ("d_loss", "g_loss", "d_real", "d_fake")
    default_d_steps = 1

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        loss="non_saturating",
        regularizers=(),
        augment=None,
        noise="normal",
        seed=None,
        **kwargs,
    ):
        from keras_gan import augment as augment_lib

        # Set before AdversarialModel.__init__, which creates one tracker per metric.
        self.adversarial_loss = losses.get_loss(loss)
        self.regularizers = _regularizer_list(regularizers)
        self.augment = augment_lib.get(augment)
        self.metric_names = self._game_metric_names()
        super().__init__(generator, discriminator, latent_dim, noise=noise, seed=seed, **kwargs)
        self._check_unconditional_networks()
        for regularizer in self.regularizers:
            regularizer.check(self)
        if self.augment is not None:
            self.augment.check_data_shape(tuple(generator.output_shape[1:]))

    def _check_unconditional_networks(self):
        """A two-input network (``[x, labels]``, e.g. a projection discriminator) needs
        the labels only a conditional model feeds it."""
        if type(self).discriminator_inputs is not AdversarialModel.discriminator_inputs:
            return  # a conditional model
        for what, net in (("generator", self.generator), ("discriminator", self.discriminator)):
            try:
                n = len(net.inputs)
            except (AttributeError, TypeError, ValueError):  # subclassed: not known
                continue
            if n > 1:
                raise ValueError(
                    f"The {what} {net.name!r} takes {n} inputs ([x, labels], e.g. a projection "
                    f"discriminator), so it needs labels, which {type(self).__name__} does not "
                    "feed; use models.ConditionalGAN with labelled data, or an unconditional "
                    "network."
                )

    def _game_metric_names(self):
        names = ("d_loss", "g_loss") + self.adversarial_loss.metric_names
        for regularizer in self.regularizers:
            names += regularizer.metric_names
        return names

    @property
    def loss_name(self):
        """The name of the adversarial loss (``compile(generator_loss=...)`` included)."""
        return self.adversarial_loss.name

    @property
    def generator_loss(self):
        """The name of the loss (what ``compile(generator_loss=...)`` read before)."""
        return self.adversarial_loss.name

    @property
    def generator_needs_real(self):
        return self.adversarial_loss.generator_needs_real

    def compile(
        self,
        d_optimizer=None,
        g_optimizer=None,
        generator_loss=None,
        d_steps=None,
        jit_compile="auto",
        **kwargs,
    ):
        """Configure training.

        Args:
            d_optimizer, g_optimizer: optimizers (default: Adam(2e-4, beta_1=0.5)
                each, the DCGAN setting).
            generator_loss: with a ``non_saturating`` or ``minimax`` loss, switch
                the G side to ``"non_saturating"`` (``-log D(G(z))``) or
                ``"minimax"`` (``log(1 - D(G(z)))``); ``None`` keeps the model's
                ``loss``.
            d_steps: ``k`` discriminator updates per generator update (default
                ``default_d_steps``: 1, 5 for the WGAN presets).
            jit_compile: compile the step with XLA.
            **kwargs: ``run_eagerly``, ``steps_per_execution``, ``updates``...
                (see :meth:`keras_gan.models.AdversarialModel.compile`).
        """
        if generator_loss is not None:
            kwargs["generator_loss"] = generator_loss
        super().compile(
            d_optimizer, g_optimizer, d_steps=d_steps, jit_compile=jit_compile, **kwargs
        )

    def configure(self, generator_loss=None):
        if generator_loss is None:
            return
        if not isinstance(generator_loss, str):
            raise ValueError(
                "generator_loss must be a name so the model can be saved; allowed: "
                f"{sorted(losses.GENERATOR_LOSSES)}."
            )
        losses.get_generator_loss(generator_loss)  # an unknown name lists the allowed ones
        if self.adversarial_loss.name not in _LOGISTIC:
            raise ValueError(
                f"generator_loss={generator_loss!r} applies to the losses {list(_LOGISTIC)}; "
                f"this model's loss is {self.adversarial_loss.name!r} (remove the argument)."
            )
        self.adversarial_loss = losses.get_loss(generator_loss)

    # ------------------------------------------------------------------ the game
    def augment_for_discriminator(self, x):
        if self.augment is None:
            return x
        return self.augment(x, self.next_seed())

    def discriminator_objective(self, real, fake, real_out, fake_out, conditions, batch):
        loss = self.adversarial_loss.discriminator(real_out, fake_out, global_batch_size=batch)
        extra = {}
        for regularizer in self.regularizers:
            term, metrics = regularizer.discriminator_term(self, real, fake, conditions, batch)
            if term is not None:
                loss = loss + tf.cast(term, loss.dtype)
            extra.update(metrics)
        return loss, extra

    def generator_objective(self, fake_out, batch, real_out=None):
        return self.adversarial_loss.generator(real_out, fake_out, global_batch_size=batch)

    def after_discriminator_update(self):
        for regularizer in self.regularizers:
            regularizer.after_discriminator_update(self)

    def score_metrics(self, real_out, fake_out):
        return self.adversarial_loss.score_metrics(real_out, fake_out)

    def get_config(self):
        config = super().get_config()
        config["loss"] = self.adversarial_loss.name
        config["regularizers"] = [r.to_config() for r in self.regularizers]
        config["augment"] = None if self.augment is None else self.augment.get_config()
        return config
