"""Configs for WGAN, WGAN-GP and conditional GANs: strict options, per-model compile."""

import keras
import pytest

from keras_gan import models
from keras_gan.config import (
    MODEL_DEFAULT_D_STEPS,
    MODEL_OPTIONS,
    ConfigError,
    load_config,
    parse_config,
)
from keras_gan.training import build_model, train

TOY = {
    "latent_dim": 2,
    "generator": {"name": "mlp_generator", "hidden": [16]},
    "discriminator": {"name": "mlp_discriminator", "hidden": [16]},
    "dataset": {"name": "gaussians_8", "num_examples": 512},
}
CONDITIONAL = {
    **TOY,
    "model": "conditional_gan",
    "generator": {"name": "conditional_mlp_generator", "hidden": [16]},
    "discriminator": {"name": "conditional_mlp_discriminator", "hidden": [16]},
}


def test_model_tables_agree():
    assert set(MODEL_OPTIONS) == set(models.MODELS) == set(MODEL_DEFAULT_D_STEPS)
    for name, cls in models.MODELS.items():
        assert MODEL_DEFAULT_D_STEPS[name] == cls.default_d_steps


def test_each_model_gets_only_its_own_options():
    wgan_gp = build_model(
        parse_config({**TOY, "model": "wgan_gp", "model_options": {"gradient_penalty_weight": 2}})
    )
    assert isinstance(wgan_gp, models.WGANGP) and wgan_gp.gradient_penalty_weight == 2.0
    assert wgan_gp.d_steps == 5  # the model's default when the config does not say
    # No optimizer in the config: the model's paper defaults.
    assert isinstance(wgan_gp.d_optimizer, keras.optimizers.Adam)
    assert (float(wgan_gp.d_optimizer.learning_rate), wgan_gp.d_optimizer.beta_2) == (
        pytest.approx(1e-4),
        0.9,
    )
    wgan = build_model(parse_config({**TOY, "model": "wgan", "model_options": {"clip_value": 0.1}}))
    assert isinstance(wgan, models.WGAN) and wgan.clip_value == 0.1
    assert isinstance(wgan.g_optimizer, keras.optimizers.RMSprop)
    gan = build_model(parse_config({**TOY, "training": {"generator_loss": "minimax"}}))
    assert type(gan) is models.GAN and gan.generator_loss == "minimax" and gan.d_steps == 1
    # A configured optimizer wins, and so does an explicit d_steps.
    config = parse_config(
        {
            **TOY,
            "model": "wgan_gp",
            "training": {"d_steps": 3},
            "d_optimizer": {"name": "sgd", "learning_rate": 0.01},
        }
    )
    model = build_model(config)
    assert model.d_steps == 3 and isinstance(model.d_optimizer, keras.optimizers.SGD)
    assert isinstance(model.g_optimizer, keras.optimizers.Adam)


def test_conditional_config_resolves_labels_and_classes():
    config = parse_config(CONDITIONAL)
    assert config.dataset.with_labels and config.model_kwargs() == {"num_classes": 8}
    model = build_model(config)
    assert isinstance(model, models.ConditionalGAN) and model.num_classes == 8
    assert model.generator.get_layer("label_one_hot").num_tokens == 8
    config = parse_config({**CONDITIONAL, "model_options": {"num_classes": 12}})
    assert build_model(config).num_classes == 12


def test_conditional_config_trains_end_to_end(tmp_path):
    config = load_config(
        "toy_conditional_gan",
        overrides={
            "training.epochs": 1,
            "training.steps_per_epoch": 3,
            "training.verbose": 0,
            "dataset.num_examples": 2048,
            "logging.logdir": str(tmp_path),
            "logging.num_samples": 16,
        },
    )
    result = train(config)
    loaded = keras.models.load_model(result.model_path)
    assert isinstance(loaded, models.ConditionalGAN) and loaded.num_classes == 8
    assert loaded.sample(4, labels=[1, 2, 3, 4], seed=0).shape == (4, 2)
    assert any((tmp_path / "samples").iterdir())


@pytest.mark.parametrize(
    "extra, pattern",
    [
        (
            {"model": "wgan_gp", "model_options": {"lambda": 1}},
            r"model_options\.lambda: unknown key.*allowed keys for model 'wgan_gp': "
            r"\['gradient_penalty_weight'\]",
        ),
        (
            {"model": "wgan_gp", "model_options": {"gradient_penalty_weight": -1}},
            r"gradient_penalty_weight: Input should be greater than or equal to 0",
        ),
        (
            {"model": "wgan", "model_options": {"clip_value": 0}},
            r"clip_value: Input should be greater than 0",
        ),
        (
            {"model": "wgan", "model_options": {"gradient_penalty_weight": 1}},
            r"allowed keys for model 'wgan': \['clip_value'\]",
        ),
        (
            {"model": "gan", "model_options": {"num_classes": 3}},
            r"model_options\.num_classes: unknown key.*allowed keys for model 'gan': \[\]",
        ),
        (
            {"model": "wgan", "training": {"generator_loss": "minimax"}},
            r"training\.generator_loss applies only to models \['gan', 'conditional_gan'\]",
        ),
        ({"model": "conditional_gan"}, r"network 'mlp_generator' does not fit model"),
        (
            {"model": "gan", "generator": {"name": "conditional_mlp_generator"}},
            r"'conditional_mlp_generator' does not fit model 'gan'.*unconditional",
        ),
        (
            {
                "generator": {"name": "dcgan_generator", "num_classes": 3},
            },
            r"unknown key\(s\) \['num_classes'\] for network 'dcgan_generator'",
        ),
    ],
)
def test_invalid_model_configs(extra, pattern):
    with pytest.raises(ConfigError, match=pattern):
        parse_config({**TOY, **extra})


@pytest.mark.parametrize(
    "extra, pattern",
    [
        ({"dataset": {"name": "swiss_roll"}}, r"dataset 'swiss_roll' has no labels"),
        (
            {"dataset": {"name": "gaussians_8", "with_labels": False}},
            r"dataset\.with_labels: model 'conditional_gan' trains on labels",
        ),
        (
            {"model_options": {"num_classes": 5}},
            r"num_classes: 5 is less than the 8 classes of dataset 'gaussians_8'",
        ),
        ({"model_options": {"num_classes": 1}}, r"num_classes: Input should be greater than"),
        (
            {"generator": {"name": "conditional_mlp_generator", "num_classes": 3}},
            r"unknown key\(s\) \['num_classes'\]",
        ),
    ],
)
def test_invalid_conditional_configs(extra, pattern):
    with pytest.raises(ConfigError, match=pattern):
        parse_config({**CONDITIONAL, **extra})
