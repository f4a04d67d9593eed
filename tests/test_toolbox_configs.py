"""Config keys loss:, regularizers: and augment: (issue 22): validated before any
work, one line naming the key and what is allowed; build_model passes them on."""

import pytest

from keras_gan import models, regularizers
from keras_gan.config import ConfigError, parse_config
from keras_gan.training import build_model

TOY = {
    "latent_dim": 2,
    "generator": {"name": "mlp_generator", "hidden": [8]},
    "discriminator": {"name": "mlp_discriminator", "hidden": [8]},
    "dataset": {"name": "gaussians_8", "num_examples": 64},
}
IMAGES = {
    "latent_dim": 4,
    "generator": {"name": "dcgan_generator", "base_filters": 4},
    "discriminator": {"name": "dcgan_discriminator", "base_filters": 4},
    "dataset": {"name": "mnist", "value_range": [-1, 1]},
}


def test_loss_regularizers_and_augment_reach_the_model():
    config = parse_config(
        {
            **IMAGES,
            "loss": "hinge",
            "regularizers": [{"name": "r1", "gamma": 2.0, "every": 4}, "weight_clipping"],
            "augment": {"policy": ["translation", "color"], "probability": 0.5},
        }
    )
    model = build_model(config)
    assert type(model) is models.GAN and model.loss_name == "hinge"
    assert model.regularizers == (regularizers.R1(2.0, every=4), regularizers.WeightClipping())
    assert model.augment.policy == ("translation", "color") and model.augment.probability == 0.5
    # Without the keys: training.generator_loss, as before.
    old = build_model(parse_config({**TOY, "training": {"generator_loss": "minimax"}}))
    assert old.loss_name == "minimax" and old.regularizers == () and old.augment is None


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"loss": "hinge_v2"}, r"loss: allowed: 'non_saturating', 'minimax', 'wasserstein'"),
        ({"regularizers": [{"name": "r3"}]}, r"Unknown regularizer 'r3'. Allowed: \['gradient"),
        (
            {"regularizers": [{"name": "r1", "gamma": -1}]},
            r"R1 weight must be a finite number >= 0",
        ),
        ({"regularizers": ["r1", "r1"]}, r"\['r1'\] given more than once"),
        (
            {"model": "wgan_gp", "loss": "hinge"},
            r"loss applies to models \['gan', 'conditional_gan'\]",
        ),
        ({"model": "wgan", "regularizers": ["r1"]}, r"regularizers applies to models"),
        ({"loss": "hinge", "training": {"generator_loss": "minimax"}}, r"either loss or training"),
        ({"augment": {"policy": ["translation"]}}, r"augment: DiffAugment needs image data"),
    ],
)
def test_bad_toolbox_keys_get_one_clear_error(extra, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({**TOY, **extra})


def test_bad_augment_section():
    with pytest.raises(ConfigError, match=r"augment.policy.0: allowed: 'translation', 'cutout'"):
        parse_config({**IMAGES, "augment": {"policy": ["rotate"]}})
    with pytest.raises(ConfigError, match=r"augment.probability"):
        parse_config({**IMAGES, "augment": {"probability": 2}})
    with pytest.raises(ConfigError, match=r"augment.strength: unknown key"):
        parse_config({**IMAGES, "augment": {"strength": 2}})
