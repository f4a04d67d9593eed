"""Exporting a sequence generator: token ids on ``sample``, the vocabulary in the
metadata, and the same sequences from the real ``keras-gan serve`` as in process."""

import numpy as np
import pytest
import requests
import tensorflow as tf
from serving_helpers import start_server

from keras_gan import data, models, networks
from keras_gan.cli import main as cli_main
from keras_gan.data.text import decode
from keras_gan.export import TOKEN_IDS_KEY, export_generator, read_metadata
from keras_gan.serving import GrpcSampleClient, SampleClient, ServingError

LENGTH = 8
LATENT = 6
VOCAB = data.sequence_vocabulary("grammar", length=LENGTH)


def sequence_gan(output="straight_through", vocabulary=VOCAB):
    g = networks.sequence_generator(
        latent_dim=LATENT, output_shape=(LENGTH, len(VOCAB)), channels=8, num_blocks=1,
        output=output,
    )  # fmt: skip
    d = networks.sequence_critic((LENGTH, len(VOCAB)), channels=8, num_blocks=1)
    return models.WGANGP(g, d, latent_dim=LATENT, seed=0, vocabulary=vocabulary)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    gan = sequence_gan()
    base = tmp_path_factory.mktemp("export") / "brackets"
    return gan, export_generator(gan, base), base


def test_sample_signature_returns_token_ids_equal_to_the_model(exported):
    gan, path, _ = exported
    meta = read_metadata(path)
    assert meta["vocabulary"] == VOCAB
    assert meta["signatures"]["sample"]["outputs"] == {
        "images": ["float32", [-1, LENGTH, len(VOCAB)]],
        TOKEN_IDS_KEY: ["int32", [-1, LENGTH]],
    }
    assert meta["signatures"]["serving_default"]["outputs"] == {
        "images": ["float32", [-1, LENGTH, len(VOCAB)]]
    }
    assert meta["value_range"] == [0.0, 1.0]
    loaded = tf.saved_model.load(path)
    out = loaded.signatures["sample"](num_samples=tf.constant(16), seed=tf.constant(3, tf.int64))
    expected = gan.sample(16, seed=3)
    np.testing.assert_array_equal(out["images"].numpy(), expected)
    assert out[TOKEN_IDS_KEY].dtype == tf.int32
    np.testing.assert_array_equal(out[TOKEN_IDS_KEY].numpy(), expected.argmax(-1))
    z = gan.sample_latent(4, seed=1)
    default = loaded.signatures["serving_default"](z=tf.constant(z))
    assert sorted(default) == ["images"]
    np.testing.assert_array_equal(default["images"].numpy(), gan.generate(z))


def test_image_generators_keep_their_signatures(tmp_path):
    g = networks.mlp_generator(latent_dim=2, hidden=(4,), output_shape=(3,))
    gan = models.GAN(g, networks.mlp_discriminator((3,), hidden=(4,)), latent_dim=2)
    meta = read_metadata(export_generator(gan, tmp_path / "toy"))
    assert meta["vocabulary"] is None
    assert list(meta["signatures"]["sample"]["outputs"]) == ["images"]


def test_vocabulary_must_fit_the_generator(tmp_path):
    with pytest.raises(ValueError, match="A vocabulary of 3 tokens needs a generator"):
        sequence_gan(vocabulary=["_", "(", ")"])
    gan = sequence_gan(vocabulary=None)
    with pytest.raises(ValueError, match="vocabulary must be a list of distinct strings"):
        export_generator(gan, tmp_path / "x", vocabulary=["a", "a", "b", "c", "d"])
    assert not (tmp_path / "x").exists()
    # Given at export time instead of by the model:
    meta = read_metadata(export_generator(gan, tmp_path / "y", vocabulary=VOCAB))
    assert meta["vocabulary"] == VOCAB


@pytest.mark.slow
def test_served_token_ids_equal_the_model_over_rest_and_grpc(exported, tmp_path, capsys):
    gan, _, base = exported
    server = start_server(
        ["--model_name", "brackets", "--model_base_path", str(base)],
        models=["brackets"],
        log_path=tmp_path / "server.log",
    )
    try:
        expected = gan.sample(5, seed=11).argmax(-1)
        body = {"signature_name": "sample", "inputs": {"num_samples": 5, "seed": 11}}
        r = requests.post(f"{server.rest_url}/v1/models/brackets:predict", json=body, timeout=60)
        assert r.status_code == 200, r.text
        outputs = r.json()["outputs"]
        assert outputs[TOKEN_IDS_KEY] == expected.tolist()  # JSON integers
        rest = SampleClient(server.rest_url, model="brackets")
        np.testing.assert_array_equal(rest.sample_tokens(5, seed=11), expected)
        vocabulary = rest.metadata()["vocabulary"]
        assert vocabulary == VOCAB
        strings = decode(rest.sample_tokens(3, seed=2), vocabulary, strip_padding="_")
        assert strings == decode(gan.sample(3, seed=2), VOCAB, strip_padding="_")
        with GrpcSampleClient(server.grpc_target, model="brackets") as client:
            ids = client.sample_tokens(5, seed=11)
            assert ids.dtype == np.int32
            np.testing.assert_array_equal(ids, expected)
            images = client.sample(5, seed=11)  # the distributions, as for any generator
            np.testing.assert_array_equal(images, gan.sample(5, seed=11))
        # keras-gan sample writes a sequence generator's samples as text.
        out = tmp_path / "samples.txt"
        # Without --model it samples the one model the server holds.
        args = ["sample", "--server", server.rest_url, "-n", "4"]
        assert cli_main([*args, "--seed", "2", "--out", str(out)]) == 0
        assert "Sampling 'brackets', the one model on" in capsys.readouterr().out
        assert out.read_text().splitlines() == decode(
            gan.sample(4, seed=2), VOCAB, strip_padding="_"
        )
    finally:
        assert server.stop() == 0, server.log()[-3000:]


def test_sample_tokens_of_an_image_generator_is_a_clear_error():
    class Fake(SampleClient):
        def predict(self, inputs, signature_name="serving_default", version=None):
            return np.zeros((2, 3), np.float32)

    with pytest.raises(ServingError, match="not a sequence generator"):
        Fake("http://127.0.0.1:1", model="toy").sample_tokens(2, seed=0)
