"""The ``sample_png`` signature: PNG strings inside the SavedModel, served as
``{"b64": ...}`` over REST and DT_STRING over gRPC, equal to the float images
quantised to 8 bits."""

import io
import logging
import os

import numpy as np
import production_server
import requests
import tensorflow as tf
from PIL import Image

from keras_gan.export import export_generator
from keras_gan.serving import GrpcSampleClient, SampleClient
from keras_gan.serving.client import decode_pngs, has_png


def _decode(data):
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.mode == "L"
        return np.asarray(image)[..., None]


def test_sample_png_equals_the_float_sample_quantised_to_8_bits():
    server = production_server.get()
    sig = tf.saved_model.load(os.path.join(server.root, "mnist", "1")).signatures
    args = dict(num_samples=tf.constant(5), seed=tf.constant(11, tf.int64))
    floats = sig["sample"](**args)["images"].numpy()
    pngs = sig["sample_png"](**args)["images_bytes"].numpy()
    assert pngs.shape == (5,)
    want = production_server.quantise(floats)
    assert len(np.unique(want)) > 20  # many grey levels: a wrong quantisation shows
    for png, image in zip(pngs, want):
        np.testing.assert_array_equal(_decode(png), image)

    # REST: {"b64": ...} (TF Serving's rule for *_bytes outputs); gRPC: DT_STRING.
    body = requests.post(
        f"{server.rest_url}/v1/models/mnist:predict",
        json={"signature_name": "sample_png", "inputs": {"num_samples": 5, "seed": 11}},
        timeout=30,
    ).json()
    assert set(body["outputs"][0]) == {"b64"}
    with SampleClient(server.rest_url, model="mnist") as rest:
        assert has_png(rest.metadata())
        assert rest.sample_png(5, seed=11) == list(pngs)
    with GrpcSampleClient(server.grpc_target, model="mnist") as grpc_client:
        assert grpc_client.sample_png(5, seed=11) == list(pngs)
        np.testing.assert_array_equal(decode_pngs(grpc_client.sample_png(5, seed=11)), want)

    # Conditional image generators have it too, with their labels.
    with SampleClient(server.rest_url, model="cond") as rest:
        floats = rest.sample(3, seed=2, labels=[0, 1, 2])
        np.testing.assert_array_equal(
            decode_pngs(rest.sample_png(3, seed=2, labels=[0, 1, 2])),
            production_server.quantise(floats),
        )


def test_non_image_generators_get_no_png_signature(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="keras_gan.export"):
        path = export_generator(production_server.sequence_gan(), tmp_path / "seq")
    assert "no sample_png signature" in caplog.text and "sequence generator" in caplog.text
    assert "sample_png" not in tf.saved_model.load(path).signatures
    server = production_server.get()
    with SampleClient(server.rest_url, model="seq") as rest:
        assert not has_png(rest.metadata())


def test_keras_gan_sample_uses_png_when_present(tmp_path, monkeypatch):
    """``keras-gan sample`` asks for ``sample_png`` and pictures the same grid
    as the float images quantised to 8 bits."""
    from keras_gan.cli import build_parser
    from keras_gan.images import make_grid
    from keras_gan.serving import client as client_module

    server = production_server.get()
    asked = []
    original = client_module._Client.sample_png
    monkeypatch.setattr(
        client_module._Client,
        "sample_png",
        lambda self, *a, **k: asked.append(a) or original(self, *a, **k),
    )
    out = tmp_path / "grid.png"
    argv = ["sample", "--server", server.rest_url, "--model", "mnist", "-n", "4",
            "--seed", "3", "--out", str(out)]  # fmt: skip
    args = build_parser().parse_args(argv)
    assert args.func(args) == 0
    assert asked == [(4,)]
    with SampleClient(server.rest_url, model="mnist") as rest:
        floats = rest.sample(4, seed=3)
    want = make_grid(production_server.quantise(floats).astype(np.float32) / 255.0)
    with Image.open(out) as image:
        np.testing.assert_array_equal(np.asarray(image).reshape(want.shape), want)
