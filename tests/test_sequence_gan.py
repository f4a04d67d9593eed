"""Sequence networks with GAN and WGAN-GP: shapes, reproducible sampling, saving,
configs, and a short training run that makes the generator's strings valid."""

import os

import keras
import numpy as np
import pytest

from keras_gan import data, models, networks
from keras_gan.config import ConfigError, parse_config
from keras_gan.metrics import validity_rate
from keras_gan.training import train

LENGTH = 8
VOCAB = data.sequence_vocabulary("grammar", length=LENGTH)
SHAPE = (LENGTH, len(VOCAB))
OUTPUTS = ("softmax", "gumbel_softmax", "straight_through")


def tiny(model_cls=models.WGANGP, output="softmax", latent_dim=4, channels=8, seed=0, **kw):
    kw.setdefault("vocabulary", VOCAB)
    g = networks.sequence_generator(
        latent_dim=latent_dim, output_shape=SHAPE, channels=channels, num_blocks=1, output=output
    )
    d = networks.sequence_critic(SHAPE, channels=channels, num_blocks=1)
    return model_cls(g, d, latent_dim=latent_dim, seed=seed, **kw)


@pytest.mark.parametrize("output", OUTPUTS)
def test_generator_outputs_distributions_per_position(output):
    gan = tiny(output=output)
    y = gan.sample(32, seed=0)
    assert y.shape == (32, *SHAPE) and (y >= 0).all()
    np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-5)
    if output == "straight_through":
        assert set(np.unique(y)) == {0.0, 1.0}
    assert gan.discriminator(y).shape == (32, 1)


@pytest.mark.parametrize("output", OUTPUTS)
def test_sampling_is_reproducible_per_seed(output):
    gan = tiny(output=output)
    a = gan.sample(16, seed=7)
    np.testing.assert_array_equal(a, gan.sample(16, seed=7))
    assert not np.array_equal(a, gan.sample(16, seed=8))
    # The Gumbel noise is drawn from z, so the generator is a function of z.
    z = gan.sample_latent(16, seed=7)
    np.testing.assert_array_equal(gan.generate(z), a)
    np.testing.assert_array_equal(gan.generate(z[:5]), a[:5])


@pytest.mark.parametrize("model_cls", [models.GAN, models.WGANGP])
@pytest.mark.parametrize("output", OUTPUTS)
def test_every_output_trains_with_gan_and_wgan_gp(model_cls, output):
    gan = tiny(model_cls, output=output)
    gan.compile()
    k = gan.d_steps
    ds = data.load_dataset("grammar", batch_size=16 * k, num_examples=64 * k, length=LENGTH)
    history = gan.fit(ds, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    before = [w.copy() for w in gan.generator.get_weights()]
    gan.fit(ds, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(before, gan.generator.get_weights()))


def test_short_training_raises_the_validity_rate_well_above_an_untrained_generator():
    """150 WGAN-GP updates (softmax outputs) on length-8 bracket strings. An untrained
    generator's strings are almost never valid (measured: 0.0% and 0.3% for seeds 0
    and 1); after training about 35% are (34.6%, 34.7%; after the merge of issue 7's
    training changes, seeds 1-3 gave 32.4%, 34.3% and 39.3%; one seed is kept for
    time). The test asks for a gain of at least 20 points and for more than 20
    distinct strings (not one collapsed mode)."""
    seed = 0
    keras.utils.set_random_seed(seed)
    gan = tiny(models.WGANGP, latent_dim=8, channels=16, seed=seed)
    gan.compile(keras.optimizers.Adam(2e-3, 0.5, 0.9), keras.optimizers.Adam(2e-3, 0.5, 0.9))
    ds = data.load_dataset(
        "grammar", batch_size=32 * gan.d_steps, num_examples=5000, length=LENGTH, seed=seed
    ).repeat()
    before = validity_rate(gan.sample(1000, seed=123), "brackets")
    gan.fit(ds, epochs=1, steps_per_epoch=150, verbose=0)
    samples = gan.sample(1000, seed=123)
    after = validity_rate(samples, "brackets")
    assert after >= before + 0.20, (before, after)
    assert len({row.tobytes() for row in samples.argmax(-1)}) > 20


def test_saved_model_keeps_vocabulary_temperature_and_samples(tmp_path):
    gan = tiny(models.GAN, output="straight_through")
    gan.compile()
    gan.generator.get_layer("tokens").temperature = 0.3
    path = str(tmp_path / "model.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.vocabulary == VOCAB
    assert loaded.generator.get_layer("tokens").temperature == pytest.approx(0.3)
    np.testing.assert_array_equal(loaded.sample(8, seed=1), gan.sample(8, seed=1))


def test_network_and_vocabulary_errors():
    with pytest.raises(ValueError, match=r"Unknown output 'argmax'. Allowed: \['softmax'"):
        networks.sequence_generator(output_shape=SHAPE, output="argmax")
    with pytest.raises(ValueError, match=r"output_shape must be \(length, vocab_size\)"):
        networks.sequence_generator(output_shape=(28, 28, 1))
    with pytest.raises(ValueError, match="at least 2 tokens"):
        networks.sequence_critic((8, 1))
    with pytest.raises(ValueError, match="channels must be an int >= 1"):
        networks.sequence_critic(SHAPE, channels=0)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        networks.sequence_generator(output_shape=SHAPE, output="gumbel_softmax", temperature=0)
    with pytest.raises(ValueError, match=r"A vocabulary of 3 tokens needs a generator"):
        tiny(vocabulary=["a", "b", "c"])
    g = networks.mlp_generator(latent_dim=2, hidden=(4,), output_shape=(5,))
    with pytest.raises(ValueError, match=r"needs a generator of sequences"):
        models.GAN(g, networks.mlp_discriminator((5,)), latent_dim=2, vocabulary=list("abcde"))
    with pytest.raises(ValueError, match="must not list a token twice"):
        models.GAN(g, networks.mlp_discriminator((5,)), latent_dim=2, vocabulary=list("abcda"))


# ------------------------------------------------------------------ configs
GRAMMAR_CONFIG = {
    "model": "wgan_gp",
    "latent_dim": 4,
    "generator": {
        "name": "sequence_generator",
        "channels": 8,
        "num_blocks": 1,
        "output": "straight_through",
    },
    "discriminator": {"name": "sequence_critic", "channels": 8, "num_blocks": 1},
    "dataset": {"name": "grammar", "num_examples": 160, "params": {"length": LENGTH}},
    "training": {"epochs": 2, "batch_size": 16, "verbose": 0},
    "temperature_schedule": {"decay_rate": 0.5, "min_temperature": 0.4},
}


def test_config_trains_a_sequence_gan_and_logs_text_samples(tmp_path):
    config = parse_config(
        {
            **GRAMMAR_CONFIG,
            "logging": {"logdir": str(tmp_path / "run")},
            "export": {"base_dir": str(tmp_path / "export")},
        }
    )
    result = train(config)
    assert result.model.vocabulary == VOCAB
    assert result.history["temperature"] == pytest.approx([1.0, 0.5])
    assert all(0.0 <= v <= 1.0 for v in result.history["validity"])
    with open(os.path.join(result.logdir, "samples", "samples_epoch_0002.txt")) as f:
        assert len(f.read().splitlines()) == 32
    from keras_gan.export import read_metadata

    assert read_metadata(result.export_path)["vocabulary"] == VOCAB


def test_a_resumed_config_run_continues_the_temperature_schedule(tmp_path):
    """Checkpoint/resume (keras-gan train): the second run restores the decayed
    temperature and continues the per-epoch schedule where the first one stopped."""
    config = {**GRAMMAR_CONFIG, "logging": {"logdir": str(tmp_path / "run"), "png": False}}
    first = train(parse_config({**config, "training": {**config["training"], "epochs": 1}}))
    assert first.history["temperature"] == pytest.approx([1.0])
    second = train(parse_config({**config, "training": {**config["training"], "epochs": 3}}))
    assert second.resumed_from is not None and second.final_step == 3 * first.final_step
    assert second.history["temperature"] == pytest.approx([0.5, 0.4])
    assert second.model.generator.get_layer("tokens").temperature == pytest.approx(0.4)


def test_config_errors():
    with pytest.raises(ConfigError, match="temperature_schedule needs a generator"):
        parse_config(
            {**GRAMMAR_CONFIG, "generator": {"name": "sequence_generator", "output": "softmax"}}
        )
    with pytest.raises(ConfigError, match="generator.name: unknown network 'sequence_gen'"):
        parse_config(
            {**GRAMMAR_CONFIG, "generator": {"name": "sequence_gen"}, "temperature_schedule": None}
        )
    # Data set parameters are checked when the config is parsed, before any data is drawn.
    bad = {**GRAMMAR_CONFIG, "dataset": {"name": "grammar", "params": {"grammar": "dyck"}}}
    with pytest.raises(ConfigError, match="Unknown grammar 'dyck'"):
        parse_config(bad)
    bad = {**GRAMMAR_CONFIG, "dataset": {"name": "grammar", "params": {"lenght": 8}}}
    with pytest.raises(ConfigError, match=r"Unknown argument\(s\) \['lenght'\]"):
        parse_config(bad)
    bad = {**GRAMMAR_CONFIG, "dataset": {"name": "grammar", "split": "validation"}}
    with pytest.raises(ConfigError, match="Invalid split 'validation' for grammar data"):
        parse_config(bad)
    bad = {**GRAMMAR_CONFIG, "dataset": {"name": "text", "params": {"length": 8}}}
    with pytest.raises(ConfigError, match="needs path"):
        parse_config(bad)
    with pytest.raises(ConfigError, match="needs labelled data"):
        parse_config(
            {
                **GRAMMAR_CONFIG,
                "model": "conditional_gan",
                "generator": {"name": "conditional_mlp_generator"},
                "discriminator": {"name": "conditional_mlp_discriminator"},
                "temperature_schedule": None,
            }
        )
