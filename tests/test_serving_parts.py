"""The serving building blocks in process: config files, version policy and
swapping, request tensors, errors (the server itself: test_serving.py)."""

import os
import threading

import numpy as np
import pytest
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

from keras_gan.serving.config import (
    ModelConfigError,
    VersionPolicy,
    from_flags,
    load_model_config,
    parse_model_config,
)
from keras_gan.serving.errors import ServingError
from keras_gan.serving.registry import LoadError, ModelRegistry
from keras_gan.serving.tensors import (
    TensorSpec,
    array_to_tensor_proto,
    decode_tensor_proto,
    json_to_array,
    tensor_proto_to_array,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
Z = TensorSpec("z", types_pb2.DT_FLOAT, (None, 4))
N = TensorSpec("num_samples", types_pb2.DT_INT32, ())
SEED = TensorSpec("seed", types_pb2.DT_INT64, ())


# ------------------------------------------------------------------ config
def test_shipped_models_config_is_valid_for_tf_serving():
    """serving/models.config parses with TF Serving's own message and text format."""
    models = load_model_config(os.path.join(REPO, "serving", "models.config"))
    assert [m.name for m in models] == ["mnist_gan"]
    assert models[0].base_path == "/models/mnist_gan"
    assert models[0].policy == VersionPolicy("latest", num_versions=2)


def test_model_config_fields():
    models = parse_model_config(
        """
        model_config_list {
          config { name: "a" base_path: "/m/a" model_platform: "tensorflow" }
          config {
            name: "b" base_path: "rel/b"
            model_version_policy { specific { versions: 3 versions: 1 } }
            version_labels { key: "stable" value: 1 }
          }
          config { name: "c" base_path: "/m/c" model_version_policy { all {} } }
        }
        """
    )
    a, b, c = models
    assert a.policy == VersionPolicy("latest", 1) and a.labels == {}
    assert b.base_path == os.path.abspath("rel/b")  # relative to the current directory
    assert b.policy.select([1, 2, 3, 4]) == [1, 3] and b.labels == {"stable": 1}
    assert c.policy.select([5, 1, 2]) == [1, 2, 5]
    assert VersionPolicy("latest", 2).select([1, 7, 3]) == [3, 7]
    assert VersionPolicy().select([]) == []


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("model_config_list { config { name: 'a' base_path: ", "not a valid ModelServerConfig"),
        ("model_config_list { config { nam: 'a' } }", "not a valid ModelServerConfig.*nam"),
        ("", "must hold a model_config_list"),
        ("model_config_list {}", "has no config entries"),
        ("model_config_list { config { name: 'a' } }", r"config\[0\] \(a\): base_path"),
        ("model_config_list { config { base_path: '/x' } }", "needs a non-empty name"),
        ("model_config_list { config { name: 'a/b' base_path: '/x' } }", "may not contain"),
        (
            "model_config_list { config { name: 'a' base_path: '/x' } "
            "config { name: 'a' base_path: '/y' } }",
            "appears twice",
        ),
        (
            "model_config_list { config { name: 'a' base_path: '/x' model_platform: 'onnx' } }",
            "model_platform 'onnx' is not supported",
        ),
        (
            "model_config_list { config { name: 'a' base_path: '/x' "
            "model_version_policy { specific {} } } }",
            "specific policy needs at least one version",
        ),
    ],
)
def test_bad_model_configs_are_named(text, pattern):
    with pytest.raises(ModelConfigError, match=pattern):
        parse_model_config(text)


def test_flags_and_missing_config_file(tmp_path):
    (model,) = from_flags("mnist_gan", "saved_models/mnist_gan")
    assert model.name == "mnist_gan" and os.path.isabs(model.base_path)
    with pytest.raises(ModelConfigError, match="pass --model_base_path"):
        from_flags("m", None)
    with pytest.raises(ModelConfigError, match="cannot read the model config file"):
        load_model_config(str(tmp_path / "missing.config"))


# ------------------------------------------------------------------ registry
class FakeLoaded:
    def __init__(self, name, version, path):
        self.name, self.version, self.path = name, version, path
        self.metadata = None


def make_registry(tmp_path, policy=VersionPolicy(), fail=()):
    """A registry over ``tmp_path/m`` whose loader fails for the versions in
    ``fail`` (a set the test may change) and records what it loads."""
    from keras_gan.serving.config import ServedModelConfig

    loads = []

    def loader(name, version, path):
        loads.append(version)
        if version in fail:
            raise LoadError(f"corrupt version {version}", "DATA_LOSS")
        return FakeLoaded(name, version, path)

    base = tmp_path / "m"
    base.mkdir(exist_ok=True)
    registry = ModelRegistry([ServedModelConfig("m", str(base), policy)], 0, loader=loader)
    return registry, base, loads


def states(registry):
    return {v: (s.state, s.error_code) for v, s in registry.status("m")}


def test_newest_version_is_served_and_the_old_one_unloaded_after(tmp_path):
    registry, base, loads = make_registry(tmp_path)
    with pytest.raises(ServingError, match="Could not find any versions of model m"):
        registry.status("m")
    (base / "1").mkdir()
    (base / "tmp-export").mkdir()  # not numeric: ignored, as by TF Serving
    registry.poll()
    assert registry.get("m").version == 1
    (base / "2").mkdir()
    registry.poll()
    assert registry.get("m").version == 2 and loads == [1, 2]
    assert states(registry) == {2: ("AVAILABLE", "OK"), 1: ("END", "OK")}
    with pytest.raises(ServingError, match=r"Specific\(m, 1\).*available versions: \[2\]"):
        registry.get("m", 1)


def test_a_corrupt_new_version_keeps_the_last_good_one(tmp_path):
    fail = {2}
    registry, base, loads = make_registry(tmp_path, fail=fail)
    (base / "1").mkdir()
    registry.poll()
    (base / "2").mkdir()
    registry.poll()
    assert registry.get("m").version == 1
    assert states(registry) == {2: ("END", "DATA_LOSS"), 1: ("AVAILABLE", "OK")}
    assert registry.status("m", 2)[0][1].error_message == "corrupt version 2"
    with pytest.raises(ServingError, match="version 2 failed to load: corrupt version 2"):
        registry.get("m", 2)
    registry.poll()
    assert loads == [1, 2]  # not retried while its files are unchanged
    fail.clear()
    os.utime(base / "2", ns=(1, 1))  # its files changed: retried, now good
    registry.poll()
    assert registry.get("m").version == 2 and loads == [1, 2, 2]


def test_latest_two_keeps_two_versions_and_unknown_names(tmp_path):
    registry, base, _ = make_registry(tmp_path, policy=VersionPolicy("latest", 2))
    for v in (1, 2, 3):
        (base / str(v)).mkdir()
    registry.poll()
    assert registry.get("m").version == 3 and registry.get("m", 2).version == 2
    with pytest.raises(ServingError, match="Servable not found"):
        registry.get("m", 1)
    with pytest.raises(ServingError, match=r"no model named 'x' is served \(served: \['m'\]\)"):
        registry.get("x")
    with pytest.raises(ServingError, match="Unrecognized servable version label"):
        registry.get("m", label="stable")


def test_nothing_loadable_reports_why(tmp_path):
    registry, base, _ = make_registry(tmp_path, fail={1})
    (base / "1").mkdir()
    registry.poll()
    with pytest.raises(ServingError, match=r"Latest\(m\): no version loaded; version 1: corrupt"):
        registry.get("m")
    assert registry.first_error().startswith("model 'm'")
    os.rmdir(base / "1")
    os.rmdir(base)
    registry.poll()  # the base path vanished: nothing crashes, the status says why
    with pytest.raises(ServingError, match="Servable not found"):
        registry.get("m")


def test_requests_see_a_consistent_version_while_polling(tmp_path):
    registry, base, _ = make_registry(tmp_path)
    (base / "1").mkdir()
    registry.poll()
    errors = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                assert registry.get("m").version in (1, 2, 3)
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for v in (2, 3):
        (base / str(v)).mkdir()
        registry.poll()
    stop.set()
    for t in threads:
        t.join()
    assert not errors and registry.get("m").version == 3


# ------------------------------------------------------------------ tensors
def proto(dtype, dims, **values):
    shape = tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims]
    )
    return tensor_pb2.TensorProto(dtype=dtype, tensor_shape=shape, **values)


def test_tensor_protos_round_trip():
    for array in (
        np.arange(12, dtype=np.float32).reshape(3, 4),
        np.int32(7),
        np.array([2**40], np.int64),
    ):
        np.testing.assert_array_equal(decode_tensor_proto(array_to_tensor_proto(array)), array)
    z = tensor_proto_to_array(Z, array_to_tensor_proto(np.ones((2, 4), np.float32)), 8)
    assert z.shape == (2, 4) and z.dtype == np.float32
    # The value fields, with TF's rule that the last value fills the rest.
    z = tensor_proto_to_array(Z, proto(types_pb2.DT_FLOAT, [2, 4], float_val=[1.0, 2.0]), 8)
    np.testing.assert_array_equal(z.ravel(), [1, 2, 2, 2, 2, 2, 2, 2])
    assert tensor_proto_to_array(N, proto(types_pb2.DT_INT32, [], int_val=[5]), 8) == 5


@pytest.mark.parametrize(
    "spec, message, pattern",
    [
        (Z, proto(types_pb2.DT_DOUBLE, [1, 4], double_val=[0.0] * 4), "must be DT_FLOAT"),
        (Z, proto(types_pb2.DT_FLOAT, [10**12, 4], float_val=[1.0]), "at most 8 per request"),
        (Z, proto(types_pb2.DT_FLOAT, [1, 5], float_val=[1.0]), r"shape \[batch, 4\]"),
        (Z, proto(types_pb2.DT_FLOAT, [0, 4]), "at least one entry"),
        (Z, proto(types_pb2.DT_FLOAT, [1, 4], tensor_content=b"abc"), "tensor_content has 3"),
        (Z, proto(types_pb2.DT_FLOAT, [1, 4], float_val=[1.0] * 5), "5 values for shape"),
        (Z, proto(types_pb2.DT_FLOAT, [1, 4], float_val=[1, 2, float("nan"), 4]), "finite"),
        (N, proto(types_pb2.DT_INT32, [1], int_val=[3]), "int32, a scalar; got shape"),
    ],
)
def test_bad_tensor_protos_are_refused_before_allocating(spec, message, pattern):
    with pytest.raises(ServingError, match=pattern) as info:
        tensor_proto_to_array(spec, message, max_batch=8)
    assert info.value.code == "INVALID_ARGUMENT" and info.value.http_status == 400


@pytest.mark.parametrize(
    "spec, value, pattern",
    [
        (Z, [[1, 2, 3], [1, 2, 3, 4]], "rectangular"),
        (Z, [[1, 2, 3, "a"]], "must hold numbers.*got strings"),
        (Z, [[True, False, True, True]], "got booleans"),
        (Z, [[1, 2, 3, None]], "must hold numbers"),
        (Z, [[1, 2, 3, {"b64": "AA=="}]], "must hold numbers"),
        (Z, [[1, 2, 3, 1e300]], "finite"),
        (Z, [[1, 2, 3, 4]] * 9, "at most 8"),
        (Z, [], r"shape \[batch, 4\]; got shape \[0\]"),
        (N, 1.5, "must hold integers"),
        (N, 2**31, r"out of the range of int32 \[-2147483648, 2147483647\]"),
        (N, "4", "must hold integers"),
        (SEED, 2**64, "out of the range of int64"),
        (SEED, [1], "int64, a scalar; got shape"),
    ],
)
def test_bad_json_values_are_named(spec, value, pattern):
    with pytest.raises(ServingError, match=pattern):
        json_to_array(spec, value, max_batch=8)


def test_json_values_convert_exactly():
    z = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    np.testing.assert_array_equal(json_to_array(Z, z.tolist(), 8), z)
    assert json_to_array(SEED, -(2**63), 8) == -(2**63)
    assert json_to_array(Z, [[1, 2, 3, 4]], 8).dtype == np.float32  # ints are fine for floats


def test_error_codes_map_to_tf_servings_http_statuses():
    assert ServingError("INVALID_ARGUMENT", "x").http_status == 400
    assert ServingError("NOT_FOUND", "x").http_status == 404
    assert ServingError("FAILED_PRECONDITION", "x").http_status == 400
    assert ServingError("nonsense", "x").code == "UNKNOWN"
    assert ServingError.from_http(413, "big").code == "INVALID_ARGUMENT"
    assert ServingError.from_http(413, "big").http_status == 413
