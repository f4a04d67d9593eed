"""``compile`` and (de)serialization of :class:`~keras_gan.models.AdversarialModel`.

``compile`` takes two optimizers (each model has defaults), ``d_steps``, the update
order, the joint discriminator pass and the steps-per-execution policy, plus the
model's own options (:meth:`configure`); ``get_compile_config`` saves them with
the optimizers so ``keras.models.load_model`` returns a model ready to train on.
``get_config`` holds the networks, the prior and the seed.

Example:

```python
gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), d_steps=1)
gan.save("gan.keras")
keras.models.load_model("gan.keras").fit(dataset)   # same optimizers and state
```
"""

from __future__ import annotations

import json

import keras
import numpy as np

from keras_gan.models.per_example import batch_dependent_layers

__all__ = ["AdversarialCompile", "UPDATE_ORDERS", "check_compute_dtype"]

#: The values of ``compile(updates=...)``.
UPDATE_ORDERS = ("alternating", "simultaneous")


def check_compute_dtype(what, net):
    """float16 layers would need loss scaling, which the adversarial step does not do."""
    half = [
        layer.name
        for layer in net._flatten_layers(include_self=False)
        if layer.compute_dtype == "float16"
    ]
    if half:
        raise ValueError(
            f"The {what} computes in float16 (layers {half[:3]}); float16 gradients need "
            "loss scaling, which this model's step does not do. Build it under the "
            "'float32' or 'mixed_bfloat16' dtype policy (keras_gan.training.dtype_policy)."
        )


class AdversarialCompile:
    """Mixin of :class:`~keras_gan.models.AdversarialModel`: ``compile`` and configs."""

    @property
    def training_data(self):
        """What the model was trained on, as ``keras-gan train`` records it
        (``{dataset, split, source, location, num_examples}``), or ``None``; saved
        with the model."""
        text = getattr(self, "_training_data_json", None)
        return None if text is None else json.loads(text)

    @training_data.setter
    def training_data(self, value):
        # kept as JSON text: Keras would wrap a dict attribute in a tracked structure
        self._training_data_json = None if value is None else json.dumps(value)

    # --------------------------------------------------------------- compile
    def compile(
        self,
        d_optimizer=None,
        g_optimizer=None,
        d_steps=None,
        jit_compile="auto",
        run_eagerly=False,
        steps_per_execution="auto",
        joint_discriminator_pass="auto",
        updates="alternating",
        **options,
    ):
        """Configure training.

        Args:
            d_optimizer: optimizer of the discriminator (instance, name or
                config; default per model, see :meth:`default_optimizers`).
            g_optimizer: optimizer of the generator (must not be the same
                object as ``d_optimizer``).
            d_steps: ``k``, discriminator updates per generator update.
            jit_compile: compile the training step with XLA (``"auto"``
                follows Keras: off on CPU-only machines).
            run_eagerly: as in ``keras.Model.compile``.
            steps_per_execution: training steps per call of the compiled
                training function: ``"auto"`` (see the module docstring) or
                an int (as in ``keras.Model.compile``).
            joint_discriminator_pass: call the discriminator once on real and
                generated data concatenated (``"auto"``: when it treats
                examples independently; see the module docstring).
            updates: ``"alternating"`` (Algorithm 1: D's update, then G's
                against the updated D) or ``"simultaneous"`` (one gradient step
                of both players from one forward pass; needs ``d_steps=1``; see
                the module docstring).
            **options: model-specific options (see the subclass).
        """
        d_default, g_default = self.default_optimizers()
        d_optimizer = keras.optimizers.get(d_optimizer) if d_optimizer is not None else d_default
        g_optimizer = keras.optimizers.get(g_optimizer) if g_optimizer is not None else g_default
        if d_optimizer is g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer must be two different optimizer objects "
                "(each keeps its own state); pass two instances."
            )
        d_steps = self.default_d_steps if d_steps is None else d_steps
        if isinstance(d_steps, bool) or not isinstance(d_steps, (int, np.integer)) or d_steps < 1:
            raise ValueError(f"d_steps must be an int >= 1; got {d_steps!r}.")
        joint = self._resolve_joint_pass(joint_discriminator_pass)
        if updates not in UPDATE_ORDERS:
            raise ValueError(f"updates must be one of {list(UPDATE_ORDERS)}; got {updates!r}.")
        if updates == "simultaneous" and d_steps != 1:
            raise ValueError(
                f"updates='simultaneous' takes one step of each player per batch, so d_steps "
                f"must be 1; got d_steps={d_steps}. Use updates='alternating' for k > 1."
            )
        auto_steps = isinstance(steps_per_execution, str) and steps_per_execution == "auto"
        if not auto_steps and (
            isinstance(steps_per_execution, bool)
            or not isinstance(steps_per_execution, (int, np.integer))
            or steps_per_execution < 1
        ):
            raise ValueError(
                f"steps_per_execution must be 'auto' or an int >= 1; got {steps_per_execution!r}."
            )
        self.configure(**options)
        super().compile(
            optimizer=None,
            jit_compile=jit_compile,
            run_eagerly=run_eagerly,
            steps_per_execution=1 if auto_steps else int(steps_per_execution),
        )
        self._auto_steps_per_execution = auto_steps
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_steps = int(d_steps)
        self.joint_discriminator_pass = joint
        self.updates = updates
        # Create the optimizers' slot variables now, under the model's
        # distribution strategy, rather than lazily inside the traced step.
        with self.distribute_strategy.scope():
            for optimizer, net in (
                (d_optimizer, self.discriminator),
                (g_optimizer, self.generator),
            ):
                if not optimizer.built:
                    optimizer.build(net.trainable_variables)
        self._adversarial_compile_config = dict(
            d_steps=self.d_steps,
            jit_compile=jit_compile,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            joint_discriminator_pass=joint_discriminator_pass,
            updates=updates,
            **options,
        )

    def _resolve_joint_pass(self, value):
        if isinstance(value, str) and value == "auto":
            return not batch_dependent_layers(self.discriminator)
        if not isinstance(value, bool):
            raise ValueError(
                f"joint_discriminator_pass must be True, False or 'auto'; got {value!r}."
            )
        if value:
            found = batch_dependent_layers(self.discriminator)
            if found:
                raise ValueError(
                    "joint_discriminator_pass=True needs a discriminator that treats examples "
                    "independently (a joint call on real and generated data would change its "
                    f"outputs); these layers are not known to: {found}. Use False or 'auto'."
                )
        return value

    def configure(self, **options):
        """Accept model-specific ``compile`` options (none in the base class)."""
        if options:
            raise TypeError(
                f"{type(self).__name__}.compile() got unexpected argument(s) {sorted(options)}."
            )

    def get_compile_config(self):
        if not self.compiled or self.d_optimizer is None:
            return {}
        return dict(
            d_optimizer=keras.optimizers.serialize(self.d_optimizer),
            g_optimizer=keras.optimizers.serialize(self.g_optimizer),
            **self._adversarial_compile_config,
        )

    def compile_from_config(self, config):
        config = dict(config)
        d_optimizer = keras.optimizers.deserialize(config.pop("d_optimizer"))
        g_optimizer = keras.optimizers.deserialize(config.pop("g_optimizer"))
        self.compile(d_optimizer=d_optimizer, g_optimizer=g_optimizer, **config)

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(self.discriminator),
            latent_dim=self.latent_dim,
            noise=self.noise,
            seed=self.seed,
        )
        if self.vocabulary is not None:
            config["vocabulary"] = list(self.vocabulary)
        if self.ema_decay is not None:
            config["ema_decay"] = self.ema_decay
            config["ema_warmup"] = self.ema_warmup
        if self.training_data is not None:
            config["training_data"] = self.training_data
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("generator", "discriminator", "critic"):  # WGANs name D "critic"
            if key in config:
                config[key] = keras.saving.deserialize_keras_object(
                    config[key], custom_objects=custom_objects
                )
        data = config.pop("training_data", None)
        model = cls(**config)
        model.training_data = data
        return model
