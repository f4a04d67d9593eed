"""Regularizers of the discriminator: small objects with a weight and a schedule.

A regularizer adds a weighted term to the discriminator's loss (a gradient
penalty) or acts after each discriminator update (weight clipping).
:class:`keras_gan.models.GAN` takes a list of them, ``regularizers=[...]``; configs
name them (``regularizers: [{name: r1, gamma: 10, every: 16}]``).

* :class:`GradientPenalty` -- WGAN-GP's ``E[(||grad D(x_hat)|| - target)^2]`` on
  random interpolates of real and generated data (Gulrajani et al. 2017), or its
  one-sided form ``E[max(0, ||grad D(x_hat)|| - target)^2]`` (ibid., Appendix).
  Default weight 10, target 1, two-sided.
* :class:`R1` / :class:`R2` -- the zero-centred penalties ``gamma / 2 *
  E[||grad D(x)||^2]`` on real (R1) or generated (R2) data (Mescheder et al. 2018,
  "Which Training Methods for GANs do actually Converge?"). Default ``gamma = 10``.
* :class:`WeightClipping` -- WGAN's clipping of every discriminator weight to
  ``[-c, c]`` after each update (Arjovsky et al. 2017). Default ``c = 0.01``.

Lazy regularization (StyleGAN2, Karras et al. 2020, Sec. 3.1): with ``every=N``
the penalty is computed only on every ``N``-th discriminator update (those whose
``d_optimizer.iterations`` is a multiple of ``N``, so the first update has it) and
multiplied by ``N`` there, so its average strength is unchanged while it costs
``1 / N`` of the second-order gradients. The regularizer's metrics follow the same
rule (``N`` times the value on the updates that compute it, 0 on the others), so
their mean over an epoch is still the average value.

The gradient penalties differentiate each example's score with respect to that
example only, which is the regularizer's meaning only if the discriminator
treats examples independently: a discriminator with batch normalization is
refused (the same rule WGAN-GP always had).

Example:

```python
from keras_gan import models, networks, regularizers

gan = models.GAN(
    networks.mlp_generator(latent_dim=2, output_shape=(2,), output_activation="linear"),
    networks.mlp_discriminator((2,)),
    latent_dim=2,
    loss="non_saturating",
    regularizers=[regularizers.R1(10.0, every=4)],
)
```
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from keras_gan import losses
from keras_gan.noise import portable_uniform

__all__ = [
    "Regularizer",
    "GradientPenalty",
    "R1",
    "R2",
    "WeightClipping",
    "REGULARIZERS",
    "get",
    "squared_gradient_norm_penalty",
    "batch_norm_layers",
]


def batch_norm_layers(model):
    """Names of the ``BatchNormalization`` layers anywhere inside ``model``."""
    layers = model._flatten_layers(include_self=False, recursive=True)
    return [layer.name for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]


def _number(value, what, positive=False, integer=False):
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number; got {value!r}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number; got {value!r}.") from None
    bound = ">= 1" if integer else ("> 0" if positive else ">= 0")
    if integer:
        if not math.isfinite(number) or number != int(number) or number < 1:
            raise ValueError(f"{what} must be an int {bound}; got {value!r}.")
        return int(number)
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise ValueError(f"{what} must be a finite number {bound}; got {value!r}.")
    return number


def squared_gradient_norm_penalty(critic_fn, x, global_batch_size=None):
    """``E[||grad_x D(x)||^2]``, the zero-centred penalty of R1/R2 before ``gamma / 2``.

    Call it inside the discriminator's ``GradientTape`` (its gradient with respect
    to D's weights goes through the inner gradient). A linear ``D(x) = w.x`` gives
    ``||w||^2``.
    """
    x = losses._as_float(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        scores = critic_fn(x)
    grads = tape.gradient(scores, x)
    if grads is None:  # a discriminator that ignores its input
        grads = tf.zeros_like(x)
    return losses._reduce(tf.square(grads), global_batch_size)


class Regularizer:
    """Base class. A subclass sets :attr:`name` and :attr:`metric_names` and
    implements :meth:`penalty` (a loss term) and/or :meth:`after_discriminator_update`.

    Args:
        weight: the term's weight (``>= 0``).
        every: lazy regularization, once every ``every`` discriminator updates,
            scaled by ``every`` (see the module docstring).
    """

    #: The registry (and config) name.
    name = None
    #: Metrics this regularizer reports, in order.
    metric_names = ()
    #: Whether it needs D to treat examples independently (no batch norm).
    per_example = True

    def __init__(self, weight, every=1):
        self.weight = _number(weight, f"{type(self).__name__} weight")
        self.every = _number(every, f"{type(self).__name__} every", integer=True)

    def check(self, model):
        """Raise a ``ValueError`` if this regularizer cannot regularize ``model``'s D."""
        if not self.per_example:
            return
        found = batch_norm_layers(model.discriminator)
        if found:
            raise ValueError(
                f"{self!r} needs a discriminator without batch normalization: it makes each "
                "score depend on the whole batch, so the per-example gradient penalty no "
                f"longer constrains D (Gulrajani et al. 2017, Sec. 4). Found {found}. Use "
                "LayerNormalization or no normalization, e.g. "
                "networks.dcgan_discriminator(normalization='layer')."
            )

    def penalty(self, model, real, fake, conditions, global_batch):
        """``(unweighted penalty, metrics)`` for one discriminator update, or ``None``."""
        return None

    def discriminator_term(self, model, real, fake, conditions, global_batch):
        """``(weight * penalty, metrics)`` to add to D's loss, lazy when ``every > 1``."""
        if type(self).penalty is Regularizer.penalty:
            return None, {}
        if self.every == 1:
            value, metrics = self.penalty(model, real, fake, conditions, global_batch)
            return tf.cast(self.weight, value.dtype) * value, metrics

        def applied():
            value, metrics = self.penalty(model, real, fake, conditions, global_batch)
            scale = tf.cast(self.every, value.dtype)
            scaled = {k: tf.cast(v, tf.float32) * self.every for k, v in metrics.items()}
            return tf.cast(self.weight, value.dtype) * scale * value, scaled

        dtype = losses._as_float(real).dtype  # the penalty's dtype (float64 data stays)

        def skipped():
            zero = tf.zeros([], tf.float32)
            return tf.zeros([], dtype), {k: zero for k in self.metric_names}

        step = model.d_optimizer.iterations
        return tf.cond(tf.equal(step % self.every, 0), applied, skipped)

    def after_discriminator_update(self, model):
        """Called after every discriminator update (weight clipping)."""

    def get_config(self):
        return {"weight": self.weight, "every": self.every}

    def to_config(self):
        """``{"name": ..., **get_config()}``: what a saved model and a config hold."""
        return {"name": self.name, **self.get_config()}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self), tuple(sorted(self.get_config().items()))))


def critic_of(model, conditions):
    """``x -> D(x)`` in training mode, with the model's conditions (labels)."""

    def critic(x):
        out = model.discriminator(model.discriminator_inputs(x, conditions), training=True)
        return model.adversarial_output(out)

    return critic


def _replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


class GradientPenalty(Regularizer):
    """WGAN-GP's gradient penalty on interpolates of real and generated data.

    ``weight * E[(||grad D(x_hat)||_2 - target)^2]`` with ``x_hat = eps * x + (1 -
    eps) * G(z)``, one ``eps ~ U[0, 1]`` per example drawn from the model's seeded
    stream; ``one_sided=True`` penalises only norms above ``target``.

    Metrics: ``gradient_penalty`` (before the weight) and ``grad_norm`` (mean
    ``||grad D(x_hat)||``).

    Example:

    ```python
    from keras_gan.regularizers import GradientPenalty

    penalty = GradientPenalty(10.0, target=1.0, one_sided=False)
    ```
    """

    name = "gradient_penalty"
    metric_names = ("gradient_penalty", "grad_norm")

    def __init__(self, weight=10.0, target=1.0, one_sided=False, every=1):
        super().__init__(weight, every)
        self.target = _number(target, "GradientPenalty target")
        if not isinstance(one_sided, bool):
            raise ValueError(f"GradientPenalty one_sided must be True or False; got {one_sided!r}.")
        self.one_sided = one_sided

    def penalty(self, model, real, fake, conditions, global_batch):
        real = tf.convert_to_tensor(real)
        # portable_uniform: the same interpolation weights with and without XLA.
        epsilon = tf.cast(portable_uniform([tf.shape(real)[0]], model.next_seed()), real.dtype)
        penalty, norms = losses.gradient_penalty(
            critic_of(model, conditions),
            real,
            fake,
            epsilon=epsilon,
            global_batch_size=global_batch,
            target=self.target,
            one_sided=self.one_sided,
        )
        return penalty, {
            "gradient_penalty": penalty * _replicas(),
            "grad_norm": tf.reduce_mean(norms),
        }

    def get_config(self):
        config = super().get_config()
        config.update(target=self.target, one_sided=self.one_sided)
        return config


class R1(Regularizer):
    """Zero-centred gradient penalty on real data, ``gamma / 2 * E[||grad D(x)||^2]``
    (Mescheder et al. 2018); ``every=16`` is StyleGAN2's lazy form.

    Metric: ``r1_penalty`` (``E[||grad D(x)||^2]``, before ``gamma / 2``).

    Example:

    ```python
    from keras_gan.regularizers import R1

    r1 = R1(gamma=10.0, every=16)
    ```
    """

    name = "r1"
    metric_names = ("r1_penalty",)

    def __init__(self, gamma=10.0, every=1):
        super().__init__(gamma, every)

    @property
    def gamma(self):
        return self.weight

    def _data(self, real, fake):
        return real

    def penalty(self, model, real, fake, conditions, global_batch):
        value = squared_gradient_norm_penalty(
            critic_of(model, conditions), self._data(real, fake), global_batch
        )
        # weight * penalty == gamma / 2 * E[||grad||^2]
        return 0.5 * value, {self.metric_names[0]: value * _replicas()}

    def get_config(self):
        return {"gamma": self.weight, "every": self.every}


class R2(R1):
    """R1's penalty on generated data, ``gamma / 2 * E[||grad D(G(z))||^2]``.

    Metric: ``r2_penalty``.
    """

    name = "r2"
    metric_names = ("r2_penalty",)

    def _data(self, real, fake):
        return fake


class WeightClipping(Regularizer):
    """Clip every trainable weight of D to ``[-clip_value, clip_value]`` after each
    of its updates (WGAN, Arjovsky et al. 2017).

    Example:

    ```python
    from keras_gan.regularizers import WeightClipping

    clipping = WeightClipping(0.01)
    ```
    """

    name = "weight_clipping"
    per_example = False

    def __init__(self, clip_value=0.01):
        super().__init__(_number(clip_value, "WeightClipping clip_value", positive=True))

    @property
    def clip_value(self):
        return self.weight

    def after_discriminator_update(self, model):
        c = self.clip_value

        def clip(var):
            return var.assign(tf.clip_by_value(var, -c, c))

        ctx = tf.distribute.get_replica_context()
        if ctx is None or not tf.distribute.has_strategy():
            for var in model.discriminator.trainable_variables:
                clip(var)
        else:  # mirrored variables are updated once, in cross-replica context
            variables = [v.value for v in model.discriminator.trainable_variables]

            def merged(strategy):
                for var in variables:
                    strategy.extended.update(var, clip)

            ctx.merge_call(merged)

    def get_config(self):
        return {"clip_value": self.clip_value}


#: Regularizers by config name.
REGULARIZERS = {cls.name: cls for cls in (GradientPenalty, R1, R2, WeightClipping)}


def get(spec):
    """A :class:`Regularizer` from an instance, a name (default arguments) or a
    ``{"name": ..., **arguments}`` dict (a config entry)."""
    if isinstance(spec, Regularizer):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ValueError(
            f"A regularizer is a Regularizer, a name or a {{name: ..., ...}} mapping; got "
            f"{spec!r}. Allowed names: {sorted(REGULARIZERS)}."
        )
    arguments = dict(spec)
    name = arguments.pop("name")
    if name not in REGULARIZERS:
        raise ValueError(f"Unknown regularizer {name!r}. Allowed: {sorted(REGULARIZERS)}.")
    cls = REGULARIZERS[name]
    try:
        return cls(**arguments)
    except TypeError:
        import inspect

        allowed = [p for p in inspect.signature(cls).parameters]
        raise ValueError(
            f"Unknown argument(s) {sorted(set(arguments) - set(allowed))} of regularizer "
            f"{name!r}. Allowed: {allowed}."
        ) from None
