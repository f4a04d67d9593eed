"""The real ``keras-gan serve`` as a subprocess on 127.0.0.1, over REST and gRPC.

One server for the module (see the ``served`` fixture) serves four models from
a model config file: ``mnist_gan`` (a tiny GAN trained a few steps on MNIST),
``versions`` (``latest 2`` policy, gets new versions during the tests),
``corruptible`` (gets corrupt versions), ``fragile`` (its directory breaks
under the server) and ``conditional`` (a stand-in conditional generator with
``labels`` inputs).
"""

import concurrent.futures
import json
import os
import re
import shutil
import socket
import time
import types

import grpc
import keras
import numpy as np
import pytest
import requests
import tensorflow as tf
from conftest import run_cli
from serving_helpers import start_server, wait_for
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from keras_gan import data, models, networks
from keras_gan.export import export_generator
from keras_gan.images import make_grid
from keras_gan.noise import stateless_latent_noise
from keras_gan.serving import GrpcSampleClient, SampleClient, ServingError

LATENT = 8
LIMIT = 64  # --max_num_samples of the test server
MAX_BYTES = 300_000  # --max_request_bytes of the test server
NUM_CLASSES = 3


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def gan():
    """A tiny MNIST generator trained for a few steps."""
    keras.utils.set_random_seed(7)
    g = networks.mlp_generator(latent_dim=LATENT, hidden=(16,), output_shape=(28, 28, 1))
    d = networks.mlp_discriminator((28, 28, 1), hidden=(16,))
    model = models.GAN(g, d, latent_dim=LATENT, noise="uniform", seed=7)
    model.compile()
    x, _ = data.load_arrays("mnist", num_examples=256)
    model.fit(x, batch_size=64, epochs=1, verbose=0)
    return model


def conditional_stand_in():
    z = keras.Input((LATENT,), name="z")
    labels = keras.Input((), dtype="int32", name="labels")
    h = keras.layers.Concatenate()([z, keras.layers.Embedding(NUM_CLASSES, 4)(labels)])
    generator = keras.Model([z, labels], keras.layers.Dense(5)(h), name="cond_generator")
    return types.SimpleNamespace(
        generator=generator, latent_dim=LATENT, noise="normal", num_classes=NUM_CLASSES
    )


def rescaled(gan, factor):
    """A model like ``gan`` with other weights (a "newer version")."""
    g = keras.models.clone_model(gan.generator)
    g.set_weights([w * factor for w in gan.generator.get_weights()])
    return types.SimpleNamespace(generator=g, latent_dim=LATENT, noise=gan.noise)


@pytest.fixture(scope="module")
def served(gan, tmp_path_factory):
    root = tmp_path_factory.mktemp("serving")
    base = root / "mnist_gan"
    v1 = export_generator(gan, base)
    for name in ("versions", "corruptible", "fragile"):
        shutil.copytree(v1, root / name / "1")
    cond = conditional_stand_in()
    export_generator(cond, root / "conditional")
    config = root / "models.config"
    config.write_text(
        f"""
        model_config_list {{
          config {{
            name: "mnist_gan" base_path: "{base}" model_platform: "tensorflow"
            version_labels {{ key: "stable" value: 1 }}
          }}
          config {{
            name: "versions" base_path: "{root / "versions"}"
            model_version_policy {{ latest {{ num_versions: 2 }} }}
          }}
          config {{ name: "corruptible" base_path: "{root / "corruptible"}" }}
          config {{ name: "fragile" base_path: "{root / "fragile"}" }}
          config {{ name: "conditional" base_path: "{root / "conditional"}" }}
        }}
        """
    )
    server = start_server(
        [
            "--model_config_file", str(config),
            "--file_system_poll_wait_seconds", "0.2",
            "--max_num_samples", str(LIMIT),
            "--max_request_bytes", str(MAX_BYTES),
        ],
        models=["mnist_gan", "versions", "corruptible", "fragile", "conditional"],
        log_path=root / "server.log",
    )  # fmt: skip
    server.root = root
    server.cond = cond
    yield server
    assert server.stop() == 0, server.log()[-3000:]  # a graceful SIGTERM shutdown
    assert "unexpected error" not in server.log()  # no request hit a bug (a 500)


@pytest.fixture(scope="module")
def stubs(served):
    channel = grpc.insecure_channel(
        served.grpc_target, options=[("grpc.max_send_message_length", -1)]
    )
    yield types.SimpleNamespace(
        predict=prediction_service_pb2_grpc.PredictionServiceStub(channel),
        models=model_service_pb2_grpc.ModelServiceStub(channel),
    )
    channel.close()


# ---------------------------------------------------------------- helpers
def post(served, path, body=None, raw=None):
    payload = raw if raw is not None else json.dumps(body).encode()
    r = requests.post(served.rest_url + path, data=payload, timeout=60)
    return r.status_code, r.json()


def get(served, path):
    r = requests.get(served.rest_url + path, timeout=60)
    return r.status_code, r.json()


def sample_body(n, seed, **extra):
    return {"signature_name": "sample", "inputs": {"num_samples": n, "seed": seed, **extra}}


def assert_still_serving(served):
    status, body = post(served, "/v1/models/mnist_gan:predict", sample_body(2, 0))
    assert status == 200 and np.asarray(body["outputs"]).shape == (2, 28, 28, 1)


def states(served, model):
    status, body = get(served, f"/v1/models/{model}")
    assert status == 200, body
    return {
        int(s["version"]): (s["state"], s["status"]["error_code"])
        for s in body["model_version_status"]
    }


def grpc_request(model="mnist_gan", signature="sample", version=None, **inputs):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    for k, v in inputs.items():
        proto = v if isinstance(v, tensor_pb2.TensorProto) else tf.make_tensor_proto(v)
        request.inputs[k].CopyFrom(proto)
    return request


def grpc_error(call, request):
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=60)
    return info.value.code(), info.value.details()


# ---------------------------------------------------------------- REST
def test_rest_status_and_metadata(served):
    status, body = get(served, "/v1/models/mnist_gan")
    assert status == 200
    assert body == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    assert get(served, "/v1/models/mnist_gan/versions/1")[1] == body
    status, meta = get(served, "/v1/models/mnist_gan/metadata")
    assert status == 200
    assert meta["model_spec"] == {"name": "mnist_gan", "version": "1", "signature_name": ""}
    sigs = meta["metadata"]["signature_def"]["signature_def"]
    z = sigs["serving_default"]["inputs"]["z"]
    assert z["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in z["tensor_shape"]["dim"]] == ["-1", str(LATENT)]
    assert set(sigs["sample"]["inputs"]) == {"num_samples", "seed"}
    assert sigs["sample"]["inputs"]["seed"]["dtype"] == "DT_INT64"
    assert sigs["sample"]["method_name"] == "tensorflow/serving/predict"
    ours = meta["metadata"]["keras_gan"]
    assert ours["latent_dim"] == LATENT and ours["output_shape"] == [28, 28, 1]
    assert ours["value_range"] == [0.0, 1.0] and ours["noise"] == "uniform"
    assert ours["model_class"] == "keras_gan.models.gan.GAN"
    # A version label from the config file.
    assert (
        get(served, "/v1/models/mnist_gan/labels/stable/metadata")[1]["model_spec"]["version"]
        == "1"
    )


def test_rest_row_and_columnar_predict_equal_the_in_process_generator(served, gan):
    z = np.random.default_rng(1).uniform(-1, 1, size=(5, LATENT)).astype(np.float32)
    expected = gan.generate(z)
    status, rows = post(served, "/v1/models/mnist_gan:predict", {"instances": z.tolist()})
    assert status == 200 and set(rows) == {"predictions"}
    np.testing.assert_allclose(np.asarray(rows["predictions"], np.float32), expected, atol=1e-6)
    status, named_rows = post(
        served,
        "/v1/models/mnist_gan/versions/1:predict",
        {"instances": [{"z": r} for r in z.tolist()]},
    )
    assert status == 200 and named_rows == rows
    status, cols = post(
        served,
        "/v1/models/mnist_gan:predict",
        {"signature_name": "serving_default", "inputs": {"z": z.tolist()}},
    )
    assert status == 200 and set(cols) == {"outputs"}
    np.testing.assert_allclose(np.asarray(cols["outputs"], np.float32), expected, atol=1e-6)
    assert post(served, "/v1/models/mnist_gan:predict", {"inputs": z.tolist()})[1] == cols


def test_rest_sample_is_deterministic_per_seed_and_equals_model_sample(served, gan):
    path = "/v1/models/mnist_gan:predict"
    a = np.asarray(post(served, path, sample_body(7, 2024))[1]["outputs"], np.float32)
    b = np.asarray(post(served, path, sample_body(7, 2024))[1]["outputs"], np.float32)
    c = np.asarray(post(served, path, sample_body(7, 2025))[1]["outputs"], np.float32)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    np.testing.assert_allclose(a, gan.sample(7, seed=2024), atol=1e-6)
    client = SampleClient(served.rest_url, model="mnist_gan")
    np.testing.assert_array_equal(client.sample(7, seed=2024), a)
    assert client.sample(LIMIT, seed=1).shape == (LIMIT, 28, 28, 1)
    meta = client.metadata()
    assert meta["latent_dim"] == LATENT and meta["value_range"] == [0.0, 1.0]
    assert meta["signatures"]["sample"]["inputs"]["seed"] == {"dtype": "int64", "shape": []}
    assert client.status() == [
        {"version": 1, "state": "AVAILABLE", "error_code": "OK", "error_message": ""}
    ]


BAD_REST = [
    # (what, method, path, body (obj, or bytes sent raw), status, message pattern)
    ("malformed JSON", "POST", ":predict", b'{"instances": [1, 2', 400, "Malformed JSON"),
    (
        "a 5000-digit number",
        "POST",
        ":predict",
        b'{"instances": [' + b"9" * 5000 + b"]}",
        400,
        "Malformed JSON.*digits",
    ),
    ("not UTF-8", "POST", ":predict", b"\xff\xfe{}", 400, "not UTF-8"),
    ("empty body", "POST", ":predict", b"", 400, "body is empty"),
    ("JSON array body", "POST", ":predict", [1, 2], 400, "must be a JSON object"),
    ("no inputs", "POST", ":predict", {"signature_name": "sample"}, 400, "Missing 'inputs' or"),
    ("both formats", "POST", ":predict", {"instances": [], "inputs": {}}, 400, "not both"),
    (
        "z of the wrong width",
        "POST",
        ":predict",
        {"instances": [[0.0] * 7]},
        400,
        r"input 'z' must be float32, shape \[batch, 8\]; got shape \[1, 7\]",
    ),
    ("ragged z", "POST", ":predict", {"instances": [[0.0] * 8, [0.0] * 7]}, 400, "rectangular"),
    ("strings in z", "POST", ":predict", {"instances": [["a"] * 8]}, 400, "got strings"),
    (
        "NaN in z",
        "POST",
        ":predict",
        b'{"instances": [[0,0,0,0,0,0,0,NaN]]}',
        400,
        "'z' must be finite",
    ),
    (
        "Infinity in z",
        "POST",
        ":predict",
        b'{"inputs": {"z": [[0,0,0,0,0,0,0,-Infinity]]}}',
        400,
        "'z' must be finite",
    ),
    ("overflowing z", "POST", ":predict", {"instances": [[1e300] * 8]}, 400, "finite"),
    ("empty instances", "POST", ":predict", {"instances": []}, 400, "'instances' is empty"),
    (
        "too many rows",
        "POST",
        ":predict",
        {"instances": [[0.0] * 8] * (LIMIT + 1)},
        400,
        rf"at most {LIMIT} per request",
    ),
    (
        "num_samples 0",
        "POST",
        ":predict",
        sample_body(0, 1),
        400,
        rf"num_samples must be in \[1, {LIMIT}\].*got 0",
    ),
    ("negative num_samples", "POST", ":predict", sample_body(-5, 1), 400, "got -5"),
    (
        "num_samples over the limit",
        "POST",
        ":predict",
        sample_body(LIMIT + 1, 1),
        400,
        rf"got {LIMIT + 1}",
    ),
    (
        "huge num_samples",
        "POST",
        ":predict",
        sample_body(2**40, 1),
        400,
        "out of the range of int32",
    ),
    ("float num_samples", "POST", ":predict", sample_body(1.5, 1), 400, "must hold integers"),
    ("string seed", "POST", ":predict", sample_body(2, "x"), 400, "'seed' must hold integers"),
    ("seed beyond int64", "POST", ":predict", sample_body(2, 2**70), 400, "out of the range"),
    (
        "sample in row format",
        "POST",
        ":predict",
        {"signature_name": "sample", "instances": [{"num_samples": 2, "seed": 1}]},
        400,
        "send scalar inputs with the columnar format",
    ),
    (
        "missing seed",
        "POST",
        ":predict",
        {"signature_name": "sample", "inputs": {"num_samples": 2}},
        400,
        r"missing \['seed'\]",
    ),
    (
        "extra input",
        "POST",
        ":predict",
        sample_body(2, 1, labels=[0, 1]),
        400,
        r"unexpected \['labels'\]",
    ),
    (
        "unknown signature",
        "POST",
        ":predict",
        {"signature_name": "nope", "inputs": [[0.0] * 8]},
        400,
        r'signature name: "nope" not found.*\[\'sample\', \'sample_png\', \'serving_default\'\]',
    ),
    (
        "signature_name not a string",
        "POST",
        ":predict",
        {"signature_name": 3, "inputs": []},
        400,
        "must be a string",
    ),
    (
        "oversized body",
        "POST",
        ":predict",
        b'{"instances": [' + b"0," * 200_000 + b"0]}",
        413,
        rf"limit is {MAX_BYTES} bytes",
    ),
    (
        "deeply nested JSON",
        "POST",
        ":predict",
        b"[" * 100_000 + b"]" * 100_000,
        400,
        "nested too deeply",
    ),
    ("classify", "POST", ":classify", {"examples": []}, 400, "classify is not supported"),
    ("GET on predict", "GET", ":predict", None, 400, "Malformed request: GET"),
]
BAD_PATHS = [
    ("unknown model", "POST", "/v1/models/nope:predict", sample_body(2, 1), 404,
     r"Servable not found for request: Latest\(nope\)"),
    ("unknown version", "POST", "/v1/models/mnist_gan/versions/9:predict", sample_body(2, 1),
     404, r"Specific\(mnist_gan, 9\).*available versions: \[1\]"),
    ("bad version", "GET", "/v1/models/mnist_gan/versions/abc", None, 400,
     "Failed to convert version: abc"),
    ("unknown label", "GET", "/v1/models/mnist_gan/labels/beta", None, 400,
     "Unrecognized servable version label: 'beta'"),
    ("status of an unknown model", "GET", "/v1/models/nope", None, 404,
     "Could not find any versions of model nope"),
    ("status of an unknown version", "GET", "/v1/models/mnist_gan/versions/5", None, 404,
     "Could not find version 5 of model mnist_gan"),
    ("metadata of an unknown version", "GET", "/v1/models/mnist_gan/versions/5/metadata", None,
     404, "Servable not found"),
    ("no model name", "GET", "/v1/models/versions/1", None, 400, "Missing model name"),
    ("unknown path", "GET", "/index.html", None, 404, "Not found: GET /index.html"),
    ("PUT", "PUT", "/v1/models/mnist_gan", b"{}", 400, "Malformed request: PUT"),
]  # fmt: skip


@pytest.mark.parametrize(
    "what, method, path, body, status, pattern",
    [(w, m, "/v1/models/mnist_gan" + p, *rest) for w, m, p, *rest in BAD_REST] + BAD_PATHS,
    ids=[c[0] for c in BAD_REST + BAD_PATHS],
)
def test_rest_bad_input_gets_4xx_json_and_the_server_keeps_answering(
    served, what, method, path, body, status, pattern
):
    payload = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    r = requests.request(method, served.rest_url + path, data=payload, timeout=60)
    assert r.status_code == status, r.text[:500]
    assert r.headers["Content-Type"].startswith("application/json")
    error = r.json()
    assert set(error) == {"error"}
    assert re.search(pattern, error["error"]), error["error"]
    assert_still_serving(served)


# ---------------------------------------------------------------- gRPC
def test_grpc_predict_metadata_and_status(served, stubs, gan):
    z = np.random.default_rng(2).uniform(-1, 1, size=(4, LATENT)).astype(np.float32)
    response = stubs.predict.Predict(grpc_request(signature="serving_default", z=z), timeout=60)
    assert response.model_spec.name == "mnist_gan" and response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"
    np.testing.assert_allclose(
        tf.make_ndarray(response.outputs["images"]), gan.generate(z), atol=1e-6
    )

    request = grpc_request(num_samples=np.int32(6), seed=np.int64(77))
    first = tf.make_ndarray(stubs.predict.Predict(request, timeout=60).outputs["images"])
    again = tf.make_ndarray(stubs.predict.Predict(request, timeout=60).outputs["images"])
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first, gan.sample(6, seed=77), atol=1e-6)
    rest = post(served, "/v1/models/mnist_gan:predict", sample_body(6, 77))[1]["outputs"]
    np.testing.assert_array_equal(first, np.asarray(rest, np.float32))  # same bytes both ways

    meta = stubs.predict.GetModelMetadata(
        get_model_metadata_pb2.GetModelMetadataRequest(
            model_spec={"name": "mnist_gan"}, metadata_field=["signature_def"]
        ),
        timeout=60,
    )
    assert list(meta.metadata) == ["signature_def"] and meta.model_spec.version.value == 1
    sigmap = get_model_metadata_pb2.SignatureDefMap()
    meta.metadata["signature_def"].Unpack(sigmap)
    assert {"serving_default", "sample"} <= set(sigmap.signature_def)
    assert sigmap.signature_def["sample"].inputs["num_samples"].dtype == tf.int32.as_datatype_enum

    status = stubs.models.GetModelStatus(
        get_model_status_pb2.GetModelStatusRequest(model_spec={"name": "mnist_gan"}), timeout=60
    )
    (version,) = status.model_version_status
    assert (
        version.version == 1 and version.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
    )

    with GrpcSampleClient(served.grpc_target, model="mnist_gan") as client:
        np.testing.assert_array_equal(client.sample(6, seed=77), first)
        np.testing.assert_allclose(client.generate(z), gan.generate(z), atol=1e-6)
        info = client.metadata()
        assert info["latent_dim"] == LATENT and info["value_range"] == [0.0, 1.0]
        assert info["version"] == 1 and info["output_shape"] == [28, 28, 1]
        assert client.status()[0]["state"] == "AVAILABLE"
        with pytest.raises(ServingError, match=r"num_samples must be in \[1, 64\]") as e:
            client.sample(0, seed=1)
        assert e.value.code == "INVALID_ARGUMENT"


FLOAT = tf.float32.as_datatype_enum


def _proto(dtype, dims, **values):
    shape = tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims]
    )
    return tensor_pb2.TensorProto(dtype=dtype, tensor_shape=shape, **values)


BAD_GRPC = [
    ("float64 z", dict(signature="serving_default", z=np.zeros((1, LATENT))),
     "INVALID_ARGUMENT", "must be DT_FLOAT"),
    ("claims a huge z",
     dict(signature="serving_default", z=_proto(FLOAT, [10**12, LATENT], float_val=[1])),
     "INVALID_ARGUMENT", f"at most {LIMIT} per request"),
    ("NaN z", dict(signature="serving_default", z=np.full((1, LATENT), np.nan, np.float32)),
     "INVALID_ARGUMENT", "must be finite"),
    ("num_samples 0", dict(num_samples=np.int32(0), seed=np.int64(0)),
     "INVALID_ARGUMENT", "num_samples must be in"),
    ("int64 num_samples", dict(num_samples=np.int64(2), seed=np.int64(0)),
     "INVALID_ARGUMENT", "must be DT_INT32"),
    ("missing seed", dict(num_samples=np.int32(2)), "INVALID_ARGUMENT", r"missing \['seed'\]"),
    ("unknown signature", dict(signature="nope", z=np.zeros((1, LATENT), np.float32)),
     "INVALID_ARGUMENT", "not found in signature def"),
    ("unknown model", dict(model="nope", num_samples=np.int32(2), seed=np.int64(0)),
     "NOT_FOUND", "Servable not found"),
    ("unknown version", dict(version=4, num_samples=np.int32(2), seed=np.int64(0)),
     "NOT_FOUND", r"Specific\(mnist_gan, 4\)"),
    ("no model name", dict(model="", num_samples=np.int32(2), seed=np.int64(0)),
     "INVALID_ARGUMENT", "Missing model name"),
    ("oversized message", dict(signature="serving_default",
                               z=np.zeros((MAX_BYTES // 4 // LATENT + 1, LATENT), np.float32)),
     "RESOURCE_EXHAUSTED", ""),
]  # fmt: skip


@pytest.mark.parametrize("what, kwargs, code, pattern", BAD_GRPC, ids=[c[0] for c in BAD_GRPC])
def test_grpc_bad_input_gets_the_right_status(served, stubs, what, kwargs, code, pattern):
    got, details = grpc_error(stubs.predict.Predict, grpc_request(**kwargs))
    assert got.name == code
    assert re.search(pattern, details or ""), details
    good = grpc_request(num_samples=np.int32(2), seed=np.int64(0))
    assert stubs.predict.Predict(good, timeout=60).outputs["images"].tensor_shape.dim[0].size == 2


def test_grpc_metadata_and_status_errors(stubs):
    def metadata(fields, name="mnist_gan"):
        return get_model_metadata_pb2.GetModelMetadataRequest(
            model_spec={"name": name}, metadata_field=fields
        )

    code, details = grpc_error(stubs.predict.GetModelMetadata, metadata(["weights"]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "Metadata field weights" in details
    code, details = grpc_error(stubs.predict.GetModelMetadata, metadata([]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "at least one metadata_field" in details
    code, _ = grpc_error(stubs.predict.GetModelMetadata, metadata(["signature_def"], "nope"))
    assert code == grpc.StatusCode.NOT_FOUND
    request = get_model_status_pb2.GetModelStatusRequest(model_spec={"name": "nope"})
    code, details = grpc_error(stubs.models.GetModelStatus, request)
    assert code == grpc.StatusCode.NOT_FOUND and "Could not find any versions" in details


# ---------------------------------------------------------------- conditional
def test_conditional_model_takes_labels(served):
    cond = served.cond
    labels = np.array([0, 2, 1, 2], np.int32)
    z = np.asarray(stateless_latent_noise(4, LATENT, 5, "normal"))
    expected = cond.generator([z, labels], training=False).numpy()
    status, body = post(
        served, "/v1/models/conditional:predict", sample_body(4, 5, labels=labels.tolist())
    )
    assert status == 200
    np.testing.assert_allclose(np.asarray(body["outputs"], np.float32), expected, atol=1e-6)
    rows = [{"z": zi, "labels": int(li)} for zi, li in zip(z.tolist(), labels)]
    status, body = post(served, "/v1/models/conditional:predict", {"instances": rows})
    assert status == 200
    np.testing.assert_allclose(np.asarray(body["predictions"], np.float32), expected, atol=1e-6)
    with GrpcSampleClient(served.grpc_target, model="conditional") as client:
        np.testing.assert_allclose(client.sample(4, seed=5, labels=labels), expected, atol=1e-6)
        assert client.metadata()["num_classes"] == NUM_CLASSES
        with pytest.raises(ServingError, match=r"labels must be in \[0, 2\].*got 3"):
            client.sample(2, seed=0, labels=[0, 3])

    for labels_value, pattern in (
        ([0, 3], r"labels must be in \[0, 2\] \(num_classes = 3\); got 3"),
        ([-1, 0], "got -1"),
        ([0, 1, 2], r"one class per sample: 2 \(num_samples\); got 3"),
    ):
        status, body = post(
            served, "/v1/models/conditional:predict", sample_body(2, 0, labels=labels_value)
        )
        assert status == 400 and re.search(pattern, body["error"]), body
    status, body = post(served, "/v1/models/conditional:predict", sample_body(2, 0))
    assert status == 400 and "missing ['labels']" in body["error"]
    assert_still_serving(served)


# ---------------------------------------------------------------- versions
def test_new_versions_are_picked_up_and_older_ones_answer_by_version(served, gan):
    base = served.root / "versions"
    client = SampleClient(served.rest_url, model="versions")
    one = client.sample(3, seed=9)
    np.testing.assert_allclose(one, gan.sample(3, seed=9), atol=1e-6)

    newer = rescaled(gan, 0.5)
    export_generator(newer, base)  # version 2, written atomically while serving
    wait_for(lambda: states(served, "versions").get(2, ("",))[0] == "AVAILABLE", what="version 2")
    assert states(served, "versions") == {2: ("AVAILABLE", "OK"), 1: ("AVAILABLE", "OK")}
    z = np.asarray(stateless_latent_noise(3, LATENT, 9, "uniform"))
    np.testing.assert_allclose(client.sample(3, seed=9), newer.generator(z).numpy(), atol=1e-6)
    np.testing.assert_array_equal(client.sample(3, seed=9, version=1), one)
    assert client.metadata()["version"] == 2

    export_generator(rescaled(gan, 0.25), base)  # version 3: latest 2 keeps 3 and 2
    wait_for(lambda: states(served, "versions").get(1, ("",))[0] == "END", what="unloading 1")
    assert states(served, "versions") == {
        3: ("AVAILABLE", "OK"), 2: ("AVAILABLE", "OK"), 1: ("END", "OK")
    }  # fmt: skip
    with pytest.raises(ServingError, match=r"Specific\(versions, 1\)") as e:
        client.sample(3, seed=9, version=1)
    assert e.value.http_status == 404


def test_a_corrupt_version_does_not_take_the_model_down(served, gan):
    base = served.root / "corruptible"
    client = SampleClient(served.rest_url, model="corruptible")
    good = client.sample(2, seed=3)

    # Each broken version is prepared aside and renamed into place, so the
    # server sees it complete (and never a valid half-way state).
    (base / ".new").mkdir()
    (base / ".new" / "saved_model.pb").write_bytes(b"\x08\x01 this is not a SavedModel")
    (base / ".new").rename(base / "2")
    wait_for(lambda: 2 in states(served, "corruptible"), what="version 2 tried")
    wait_for(lambda: states(served, "corruptible")[2][0] == "END", what="version 2 failed")
    state, code = states(served, "corruptible")[2]
    assert code != "OK"
    body = get(served, "/v1/models/corruptible/versions/2")[1]
    assert "not a valid SavedModel" in body["model_version_status"][0]["status"]["error_message"]
    assert states(served, "corruptible")[1] == ("AVAILABLE", "OK")
    np.testing.assert_array_equal(client.sample(2, seed=3), good)

    # A complete-looking copy whose variables are cut short.
    shutil.copytree(base / "1", base / ".new")
    data_file = next((base / ".new" / "variables").glob("*.data-*"))
    data_file.write_bytes(data_file.read_bytes()[:10])
    (base / ".new").rename(base / "3")
    wait_for(lambda: states(served, "corruptible").get(3, ("",))[0] == "END", what="version 3")
    assert states(served, "corruptible")[3][1] != "OK"
    np.testing.assert_array_equal(client.sample(2, seed=3), good)
    assert client.metadata()["version"] == 1

    export_generator(rescaled(gan, 0.5), base)  # version 4, good: replaces 1
    wait_for(lambda: states(served, "corruptible").get(4, ("",))[0] == "AVAILABLE", what="v4")
    assert client.metadata()["version"] == 4
    assert_still_serving(served)


def test_a_model_directory_that_breaks_keeps_the_last_good_version_serving(served, gan):
    """Unreadable new versions, the served version's files damaged in place, the
    base directory removed or turned into a file: the loaded version keeps
    answering and the status says what is wrong."""
    base = served.root / "fragile"
    client = SampleClient(served.rest_url, model="fragile")
    good = client.sample(2, seed=3)

    def version_status(version):
        status, body = get(served, f"/v1/models/fragile/versions/{version}")
        return body["model_version_status"][0] if status == 200 else None

    def failed(version):
        entry = version_status(version)
        return entry if entry and entry["state"] == "END" else None

    def staged(breakage):
        """A copy of version 1, broken by ``breakage(path)``, renamed into place."""
        stage = base.parent / "fragile-stage"
        shutil.copytree(base / "1", stage)
        breakage(stage)
        return stage

    # New versions whose files cannot be read are refused and reported.
    def pb_is_a_directory(path):
        (path / "saved_model.pb").unlink()
        (path / "saved_model.pb").mkdir()

    def variables_is_a_file(path):
        shutil.rmtree(path / "variables")
        (path / "variables").write_bytes(b"\0" * 64)

    def metadata_is_garbage(path):
        (path / "assets" / "keras_gan_metadata.json").write_bytes(b"\xff{not json")

    cases = [
        (2, pb_is_a_directory, "NOT_FOUND", "no saved_model.pb"),
        (3, variables_is_a_file, "DATA_LOSS", "could not load"),
        (4, metadata_is_garbage, "DATA_LOSS", "keras_gan_metadata.json is unreadable"),
    ]
    for version, breakage, code, text in cases:
        staged(breakage).rename(base / str(version))
        entry = wait_for(lambda v=version: failed(v), what=f"version {version} refused")
        assert entry["status"]["error_code"] == code and text in entry["status"]["error_message"]
        assert version_status(1)["state"] == "AVAILABLE"
        np.testing.assert_array_equal(client.sample(2, seed=3), good)

    # The served version's files are damaged in place: it answers from memory.
    (base / "1" / "saved_model.pb").write_bytes(b"garbage")
    shutil.rmtree(base / "1" / "variables")
    time.sleep(1.0)  # several polls
    assert version_status(1)["state"] == "AVAILABLE"
    np.testing.assert_array_equal(client.sample(2, seed=3), good)

    # The base directory goes away, then turns into a file.
    moved = base.parent / "fragile-moved"
    base.rename(moved)
    note = wait_for(
        lambda: version_status(1)["status"]["error_message"] or None, what="status note"
    )
    assert "cannot list base path" in note and version_status(1)["state"] == "AVAILABLE"
    assert version_status(1)["status"]["error_code"] == "OK"
    np.testing.assert_array_equal(client.sample(2, seed=3), good)
    base.write_text("not a directory")
    time.sleep(1.0)
    assert "cannot list base path" in version_status(1)["status"]["error_message"]
    np.testing.assert_array_equal(client.sample(2, seed=3), good)

    # Repaired with a good new version: it takes over and the note goes.
    base.unlink()
    moved.rename(base)
    export_generator(rescaled(gan, 0.5), base, version=5)
    wait_for(lambda: (version_status(5) or {}).get("state") == "AVAILABLE", what="version 5")
    assert client.metadata()["version"] == 5
    assert version_status(5)["status"] == {"error_code": "OK", "error_message": ""}
    assert not np.array_equal(client.sample(2, seed=3), good)
    assert_still_serving(served)


# ---------------------------------------------------------------- concurrency
def test_concurrent_rest_and_grpc_requests_are_answered_correctly(served, gan):
    jobs = [(i % 2 == 0, 4 + i % 5, 1000 + i) for i in range(24)]  # (rest?, n, seed)
    expected = {seed: gan.sample(n, seed=seed) for _, n, seed in jobs}

    def worker(chunk):
        results = []
        rest = SampleClient(served.rest_url, model="mnist_gan")
        with GrpcSampleClient(served.grpc_target, model="mnist_gan") as grpc_client:
            for use_rest, n, seed in chunk:
                client = rest if use_rest else grpc_client
                results.append((seed, client.sample(n, seed=seed)))
        rest.close()
        return results

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        chunks = [jobs[i::8] for i in range(8)]
        results = [r for rs in pool.map(worker, chunks) for r in rs]
    assert len(results) == len(jobs)
    for seed, images in results:
        np.testing.assert_allclose(images, expected[seed], atol=1e-6)


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v1/models/mnist_gan HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 10_000 + b"\r\n\r\n",
        b"POST /v1/models/mnist_gan:predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    ],
    ids=["bad request line", "long path", "long header", "negative length"],
)
def test_malformed_http_gets_a_json_400(served, raw):
    with socket.create_connection(("127.0.0.1", served.rest_port), timeout=30) as sock:
        sock.sendall(raw)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == b"400", answer[:300]
    assert b"application/json" in head
    assert json.loads(body)["error"].startswith("Bad HTTP request")
    assert_still_serving(served)


def test_slow_clients_do_not_block_the_others(served):
    """Connections that send half a request and stall hold no worker."""
    stalled = []
    try:
        for _ in range(16):
            sock = socket.create_connection(("127.0.0.1", served.rest_port), timeout=10)
            sock.sendall(
                b"POST /v1/models/mnist_gan:predict HTTP/1.1\r\nHost: x\r\n"
                b'Content-Length: 100000\r\n\r\n{"instances": [[0.1, '
            )
            stalled.append(sock)
        start = time.monotonic()
        for _ in range(3):
            assert_still_serving(served)
        with GrpcSampleClient(served.grpc_target, model="mnist_gan") as client:
            assert client.sample(2, seed=0).shape == (2, 28, 28, 1)
        assert time.monotonic() - start < 30
    finally:
        for sock in stalled:
            sock.close()
    assert_still_serving(served)


# ---------------------------------------------------------------- CLI sample
def test_sample_cli_writes_a_png_grid_over_rest_and_grpc(served, gan, tmp_path):
    from PIL import Image

    expected = make_grid(gan.sample(16, seed=3), value_range=(0, 1))
    for server in (served.rest_url, served.grpc_target):
        out = tmp_path / "grid.png"
        proc = run_cli(
            "sample", "--server", server, "--model", "mnist_gan", "-n", "16", "--seed", "3",
            "--out", str(out),
        )  # fmt: skip
        assert "Wrote 16 samples of shape [28, 28, 1] (seed 3)" in proc.stdout
        grid = np.asarray(Image.open(out))
        assert grid.shape == expected.shape[:2] == (4 * 30 + 2, 4 * 30 + 2)
        assert np.abs(grid.astype(int) - expected[..., 0].astype(int)).max() <= 1
        out.unlink()
    proc = run_cli("sample", "--server", served.rest_url, "--model", "nope", "--out",
                   str(tmp_path / "x.png"), check=False)  # fmt: skip
    assert proc.returncode == 2 and "NOT_FOUND" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_the_server_lists_its_models_and_sample_asks_to_pick_one(served, tmp_path, capsys):
    from keras_gan.cli import main

    names = ["conditional", "corruptible", "fragile", "mnist_gan", "versions"]
    listing = requests.get(f"{served.rest_url}/v1/models", timeout=30).json()
    assert listing == {"models": [{"name": n} for n in names]}
    assert SampleClient(served.rest_url).served_models() == names
    out = str(tmp_path / "x.png")
    assert main(["sample", "--server", served.rest_url, "--out", out]) == 2
    line = capsys.readouterr().err.strip()
    assert line == (
        f"keras-gan sample: error: {served.rest_url} serves 5 models ({', '.join(names)}); "
        "pick one with --model."
    )
    # gRPC has no listing: the model is TF Serving's default name, and the error says so.
    assert main(["sample", "--server", served.grpc_target, "--out", out]) == 2
    line = capsys.readouterr().err.strip()
    assert "NOT_FOUND" in line and line.endswith("(name the model with --model NAME)")
    assert not os.path.exists(out)
