"""Wasserstein GANs: weight clipping (Arjovsky et al. 2017) and the gradient
penalty (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs").

Both train a *critic* ``D`` (a real-valued score, not a probability) to
estimate the Wasserstein-1 distance ``E[D(x)] - E[D(G(z))]`` over 1-Lipschitz
functions; the generator minimises ``-E[D(G(z))]``. They differ in how ``D`` is
kept (close to) 1-Lipschitz:

* :class:`WGAN` clips every critic weight to ``[-clip_value, clip_value]``
  after each critic update;
* :class:`WGANGP` adds ``lambda * E[(||grad D(x_hat)||_2 - 1)^2]`` to the
  critic loss, with ``x_hat`` on straight lines between real and generated
  points (:func:`keras_gan.losses.gradient_penalty`).

Both default to ``d_steps = 5`` critic updates per generator update and report
``wasserstein``, the critic's estimate ``E[D(x)] - E[D(G(z))]`` (averaged over
the step's critic updates; with a well-trained critic it tracks the distance
and falls as samples improve).
"""

from __future__ import annotations

import math

import keras

from keras_gan.models.gan import GAN
from keras_gan.regularizers import GradientPenalty, WeightClipping, batch_norm_layers

__all__ = ["WGAN", "WGANGP", "batch_norm_layers"]


class WassersteinModel(GAN):
    """What the WGAN presets share: the ``wasserstein`` loss, ``d_steps = 5``, the
    ``critic`` argument name, and a saved config without the GAN's axes (the
    preset fixes the loss and the regularizer)."""

    metric_names = ("d_loss", "g_loss", "wasserstein")
    default_d_steps = 5

    def __init__(self, generator, critic, latent_dim, regularizer, noise="normal", seed=None,
                 **kwargs):  # fmt: skip
        super().__init__(
            generator,
            critic,
            latent_dim,
            loss="wasserstein",
            regularizers=[regularizer],
            noise=noise,
            seed=seed,
            **kwargs,
        )

    @property
    def critic(self):
        """The critic (the same model as ``discriminator``)."""
        return self.discriminator

    def configure(self, **options):
        """The presets take no model-specific ``compile`` options."""
        if options:
            raise TypeError(
                f"{type(self).__name__}.compile() got unexpected argument(s) {sorted(options)}."
            )

    def get_config(self):
        config = super().get_config()
        config["critic"] = config.pop("discriminator")
        del config["loss"], config["regularizers"]
        if config["augment"] is None:
            del config["augment"]
        return config


@keras.saving.register_keras_serializable(package="keras_gan")
class WGAN(WassersteinModel):
    """Wasserstein GAN with weight clipping (Arjovsky et al. 2017, Algorithm 1).

    After every critic update each of the critic's trainable weights is clipped
    to ``[-clip_value, clip_value]``. Defaults follow the WGAN paper: RMSprop
    with learning rate ``5e-5`` for both networks, ``d_steps = 5``,
    ``clip_value = 0.01``.

    Args:
        generator: maps ``z`` to data.
        critic: maps data to one real score per example (no sigmoid).
        latent_dim: size of ``z``.
        clip_value: the clipping range's half-width ``c > 0``.
        noise, seed: see :class:`keras_gan.models.AdversarialModel`.

    Metrics: ``d_loss`` (``E[D(G(z))] - E[D(x)]``), ``g_loss``
    (``-E[D(G(z))]``), ``wasserstein`` (``E[D(x)] - E[D(G(z))]``).

    Example:

    ```python
    from keras_gan import data, models, networks

    wgan = models.WGAN(
        networks.mlp_generator(latent_dim=2, hidden=(512,) * 3, output_shape=(2,),
                               output_activation="linear"),
        networks.mlp_discriminator((2,), hidden=(512,) * 3),
        latent_dim=2,
        clip_value=0.01,
    )
    wgan.compile()  # RMSprop(5e-5) for both, d_steps=5
    wgan.fit(data.load_dataset("gaussians_8", batch_size=5 * 256), epochs=10)
    ```
    """

    def __init__(
        self, generator, critic, latent_dim, clip_value=0.01, noise="normal", seed=None, **kwargs
    ):
        clip_value = _positive_float(clip_value, "clip_value", allow_zero=False)
        super().__init__(
            generator, critic, latent_dim, WeightClipping(clip_value), noise, seed, **kwargs
        )
        self.clip_value = clip_value

    def default_optimizers(self):
        return keras.optimizers.RMSprop(5e-5), keras.optimizers.RMSprop(5e-5)

    def get_config(self):
        config = super().get_config()
        config["clip_value"] = self.clip_value
        return config


@keras.saving.register_keras_serializable(package="keras_gan")
class WGANGP(WassersteinModel):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017, Algorithm 1).

    The critic minimises::

        E[D(G(z))] - E[D(x)] + lambda * E[(||grad D(x_hat)||_2 - 1)^2]

    with ``x_hat = eps * x + (1 - eps) * G(z)`` and one ``eps ~ U[0, 1]`` per
    example (drawn from the model's seeded stream, so runs are reproducible).
    The generator minimises ``-E[D(G(z))]``. Defaults are the paper's: Adam
    (``1e-4``, ``beta_1 = 0.5``, ``beta_2 = 0.9``) for both networks,
    ``d_steps = 5``, ``lambda = 10``.

    The critic must not contain ``BatchNormalization``: batch norm makes each
    example's score depend on the whole batch, so the per-example gradient the
    penalty constrains is no longer the critic's (the paper's Sec. 4 drops it
    and suggests layer normalization). The constructor refuses such a critic
    with a ``ValueError``; use ``LayerNormalization`` or no normalization (e.g.
    ``networks.dcgan_discriminator(normalization="layer")``).

    Args:
        generator: maps ``z`` to data.
        critic: maps data to one real score per example (no sigmoid, no
            batch norm).
        latent_dim: size of ``z``.
        gradient_penalty_weight: ``lambda >= 0``.
        noise, seed: see :class:`keras_gan.models.AdversarialModel`.

    Metrics: ``d_loss`` (the penalised critic loss), ``g_loss``,
    ``wasserstein`` (``E[D(x)] - E[D(G(z))]``), ``gradient_penalty`` (the
    penalty before the weight ``lambda``), ``grad_norm`` (mean
    ``||grad D(x_hat)||``; 1 for an ideal critic).

    Example:

    ```python
    from keras_gan import data, models, networks

    wgan_gp = models.WGANGP(
        networks.mlp_generator(latent_dim=2, hidden=(512,) * 3, output_shape=(2,),
                               output_activation="linear"),
        networks.mlp_discriminator((2,), hidden=(512,) * 3),
        latent_dim=2,
        gradient_penalty_weight=10.0,
    )
    wgan_gp.compile()  # Adam(1e-4, 0.5, 0.9) for both, d_steps=5
    # A fit batch of 5 * 256 gives the 5 critic updates minibatches of 256.
    wgan_gp.fit(data.load_dataset("gaussians_8", batch_size=5 * 256), epochs=10)
    ```
    """

    metric_names = ("d_loss", "g_loss", "wasserstein", "gradient_penalty", "grad_norm")

    def __init__(
        self,
        generator,
        critic,
        latent_dim,
        gradient_penalty_weight=10.0,
        noise="normal",
        seed=None,
        **kwargs,
    ):
        weight = _positive_float(gradient_penalty_weight, "gradient_penalty_weight")
        if isinstance(critic, keras.Model):
            found = batch_norm_layers(critic)
            if found:
                raise ValueError(
                    "WGANGP's critic must not use batch normalization: it makes each score "
                    "depend on the whole batch, so the per-example gradient penalty no longer "
                    f"constrains the critic (Gulrajani et al. 2017, Sec. 4). Found {found}. "
                    "Use LayerNormalization or no normalization, e.g. "
                    "networks.dcgan_discriminator(normalization='layer')."
                )
        super().__init__(
            generator, critic, latent_dim, GradientPenalty(weight), noise, seed, **kwargs
        )
        self.gradient_penalty_weight = weight

    def default_optimizers(self):
        return (
            keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9),
            keras.optimizers.Adam(1e-4, beta_1=0.5, beta_2=0.9),
        )

    def get_config(self):
        config = super().get_config()
        config["gradient_penalty_weight"] = self.gradient_penalty_weight
        return config


def _positive_float(value, what, allow_zero=True):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number; got {value!r}.") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{what} must be a finite number {bound}; got {value!r}.")
    return value
