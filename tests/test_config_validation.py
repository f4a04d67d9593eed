"""Every bad config is rejected before any work: exit status 2, one line per
problem naming the key and what is allowed, no traceback, no run directory."""

import os
import re

import pytest
import yaml
from conftest import REPO, run_cli

from keras_gan.cli import main
from keras_gan.config import ConfigError, parse_config
from keras_gan.networks.arguments import MAX_WIDTH, activation_names

TINY = os.path.join(REPO, "tests", "configs", "tiny_toy.yaml")

BAD = [
    # (id, dotted overrides, pattern of the message)
    ("negative width", {"generator.hidden": [16, -4]},
     r"generator: .*hidden\.1: Input should be greater than or equal to 1 \(got -4\)"),
    ("zero width", {"discriminator.hidden": [0]},
     r"discriminator: .*hidden\.0: Input should be greater than or equal to 1"),
    ("width not a list", {"generator.hidden": 16}, r"hidden: Input should be a valid list"),
    ("fractional width", {"generator.hidden": [2.5]},
     r"hidden\.0: Input should be a valid integer"),
    ("absurd width", {"generator.hidden": [10**9]}, rf"less than or equal to {MAX_WIDTH}"),
    ("unknown activation", {"generator.activation": "relux"},
     r"activation: unknown activation 'relux'; allowed: \[.*'relu'"),
    ("activation not a string", {"discriminator.activation": 3},
     r"activation: Input should be a valid string"),
    ("unknown network key", {"generator.widht": 3}, r"unknown key\(s\) \['widht'\]"),
    ("negative learning rate", {"d_optimizer.learning_rate": -0.1},
     r"d_optimizer\.learning_rate: Input should be greater than 0"),
    ("infinite learning rate", {"g_optimizer.learning_rate": float("inf")},
     r"g_optimizer\.learning_rate: Input should be a finite number"),
    ("momentum 1", {"d_optimizer.momentum": 1.0}, r"d_optimizer\.momentum: .*less than 1"),
    ("floor above the rate", {"d_optimizer.decay_rate": 0.99, "d_optimizer.min_learning_rate": 1},
     r"min_learning_rate \(1\.0\) must be below learning_rate"),
    ("d_steps 0", {"training.d_steps": 0}, r"training\.d_steps: .*greater than or equal to 1"),
    ("epochs a boolean", {"training.epochs": True}, r"epochs: expected a number; got the boolean"),
    ("negative seed", {"training.seed": -1}, r"training\.seed: .*greater than or equal to 0"),
    ("unknown toy parameter", {"dataset.params": {"sdt": 1}},
     r"params: unknown parameter\(s\) \['sdt'\] of 'gaussians_8'; allowed: \['radius', 'std'\]"),
    ("negative toy std", {"dataset.params": {"std": -1}}, r"params\.std: must be > 0; got -1"),
    ("toy parameter not a number", {"dataset.params": {"std": "wide"}},
     r"params\.std: expected a number"),
    ("toy split", {"dataset.split": "train[:10]"}, r"split: toy data set 'gaussians_8' has"),
    ("infinite value range", {"dataset.value_range": [0, float("inf")]},
     r"dataset\.value_range\.1: Input should be a finite number"),
    ("empty logdir", {"logging.logdir": ""}, r"logging\.logdir: String should have at least 1"),
    ("checkpoint every 0", {"checkpoint.every_n_steps": 0},
     r"checkpoint\.every_n_steps: .*greater than or equal to 1"),
    ("keep 0", {"checkpoint.keep": 0}, r"checkpoint\.keep: .*greater than or equal to 1"),
    ("unknown checkpoint key", {"checkpoint.every": 5}, r"checkpoint\.every: unknown key"),
    ("diversity samples 1", {"monitoring.diversity_samples": 1},
     r"monitoring\.diversity_samples: .*greater than or equal to 2"),
    ("huge latent_dim", {"latent_dim": 10**12}, rf"latent_dim: at most {MAX_WIDTH}"),
]  # fmt: skip


def write_config(tmp_path, overrides):
    with open(TINY) as f:
        data = yaml.safe_load(f)
    for dotted, value in overrides.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    data["logging"]["logdir"] = str(tmp_path / "run") if "logging.logdir" not in overrides else ""
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("what, overrides, pattern", BAD, ids=[b[0] for b in BAD])
def test_bad_config_exits_2_before_any_work(tmp_path, capsys, what, overrides, pattern):
    path = write_config(tmp_path, overrides)
    assert main(["train", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"keras-gan train: error: Invalid config {path}:")
    assert "Traceback" not in err and out == ""
    assert re.search(pattern, err), err
    assert sorted(os.listdir(tmp_path)) == ["bad.yaml"]  # no run directory, no checkpoint


def test_builder_level_errors_also_exit_2_before_any_work(tmp_path, capsys):
    """What only the builder can tell (one dropout rate per layer) is reported
    as a config error before any file is written."""
    path = write_config(
        tmp_path,
        {"discriminator": {"name": "maxout_discriminator", "units": [8], "dropout": [0.1]}},
    )
    assert main(["train", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "cannot build the model: dropout needs 2 rates" in err and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["bad.yaml"]


def test_every_network_argument_of_the_shipped_builders_has_a_checked_type():
    from keras_gan import networks
    from keras_gan.networks.arguments import argument_schema

    for table in (networks.GENERATORS, networks.DISCRIMINATORS):
        for builder in table.values():
            fields = argument_schema(builder).model_fields
            assert fields, builder
            for name, field in fields.items():
                assert field.annotation is not object, (builder.__name__, name)
    assert {"relu", "leaky_relu", "sigmoid", "tanh", "linear"} <= set(activation_names())


def test_valid_network_arguments_pass():
    config = parse_config(
        {
            "generator": {"name": "mlp_generator", "hidden": [8, 8], "activation": "tanh"},
            "discriminator": {
                "name": "maxout_discriminator", "units": [4], "pieces": 2, "dropout": [0.0, 0.5],
            },
            "dataset": {"name": "gaussian_1d", "params": {"mean": 1, "std": 0.5}},
        }
    )  # fmt: skip
    assert config.discriminator.kwargs()["dropout"] == [0.0, 0.5]
    with pytest.raises(ConfigError, match=r"dropout\.1: Input should be less than 1"):
        parse_config(
            {
                "generator": {"name": "mlp_generator"},
                "discriminator": {"name": "maxout_discriminator", "dropout": [0.2, 1.0, 0.5]},
            }
        )


def test_a_bad_config_in_a_real_process(tmp_path):
    path = write_config(tmp_path, {"generator.hidden": [-1]})
    proc = run_cli("train", "--config", str(path), check=False)
    assert proc.returncode == 2
    assert "hidden.0: Input should be greater than or equal to 1" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["bad.yaml"]
