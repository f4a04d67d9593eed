"""Export: versioned SavedModels with the documented signatures, metadata and guards."""

import os
import re
import subprocess
import sys
import types

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import run_cli, toy_gan

from keras_gan import export, models, networks
from keras_gan.config import parse_config
from keras_gan.export import export_generator, read_metadata
from keras_gan.noise import stateless_latent_noise

LATENT = 6


def mnist_gan(output_activation="sigmoid", noise="uniform"):
    """A tiny MNIST-shaped GAN (a few thousand parameters)."""
    g = networks.mlp_generator(
        latent_dim=LATENT,
        hidden=(16,),
        output_shape=(28, 28, 1),
        output_activation=output_activation,
    )
    d = networks.mlp_discriminator((28, 28, 1), hidden=(8,))
    return models.GAN(g, d, latent_dim=LATENT, noise=noise)


def conditional_stand_in(num_classes=3, latent_dim=4):
    """What a conditional model looks like to export: ``num_classes`` and a
    generator called as ``generator([z, labels])``."""
    z = keras.Input((latent_dim,), name="z")
    labels = keras.Input((), dtype="int32", name="labels")
    embedded = keras.layers.Embedding(num_classes, 3)(labels)
    h = keras.layers.Concatenate()([z, embedded])
    generator = keras.Model([z, labels], keras.layers.Dense(2)(h), name="cond_generator")
    return types.SimpleNamespace(
        generator=generator, latent_dim=latent_dim, noise="normal", num_classes=num_classes
    )


def test_export_writes_next_versions_with_both_signatures(tmp_path):
    gan = mnist_gan()
    base = tmp_path / "mnist_gan"
    assert export_generator(gan, base) == str(base / "1")
    assert export_generator(gan, base) == str(base / "2")
    assert export_generator(gan, base, version=7) == str(base / "7")
    assert export_generator(gan, base) == str(base / "8")
    assert sorted(os.listdir(base)) == ["1", "2", "7", "8"]  # no temporary leftovers

    loaded = tf.saved_model.load(str(base / "8"))
    assert set(loaded.signatures) == {"serving_default", "sample", "sample_png"}  # an image
    z = np.random.default_rng(0).normal(size=(5, LATENT)).astype(np.float32)
    images = loaded.signatures["serving_default"](z=tf.constant(z))["images"].numpy()
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images, gan.generate(z), atol=1e-6)


def test_sample_signature_equals_model_sample_per_seed(tmp_path):
    gan = mnist_gan()
    loaded = tf.saved_model.load(export_generator(gan, tmp_path))
    sample = loaded.signatures["sample"]

    def call(n, seed):
        return sample(num_samples=tf.constant(n), seed=tf.constant(seed, tf.int64))["images"]

    a, b, c = call(9, 123).numpy(), call(9, 123).numpy(), call(9, 124).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    np.testing.assert_allclose(a, gan.sample(9, seed=123), atol=1e-6)
    big_seed = 2**62 + 5  # int64 seeds use both halves
    np.testing.assert_allclose(call(3, big_seed), gan.sample(3, seed=big_seed), atol=1e-6)


def test_graph_guards_num_samples_and_z(tmp_path):
    """The real TF Serving runs the graph without our server's checks."""
    loaded = tf.saved_model.load(export_generator(mnist_gan(), tmp_path, max_num_samples=50))
    sample = loaded.signatures["sample"]
    seed = tf.constant(0, tf.int64)
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_samples must be >= 1"):
        sample(num_samples=tf.constant(0), seed=seed)
    with pytest.raises(tf.errors.InvalidArgumentError, match="num_samples must be <= 50"):
        sample(num_samples=tf.constant(2**31 - 1), seed=seed)
    assert sample(num_samples=tf.constant(50), seed=seed)["images"].shape[0] == 50
    z = np.zeros((2, LATENT), np.float32)
    z[1, 3] = np.nan
    with pytest.raises(tf.errors.InvalidArgumentError, match="z must be finite"):
        loaded.signatures["serving_default"](z=tf.constant(z))


def test_saved_model_cli_shows_documented_signatures(tmp_path):
    path = export_generator(mnist_gan(), tmp_path)
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    if not os.path.exists(cli):
        pytest.skip("saved_model_cli is not installed next to this Python")
    out = subprocess.run(
        [cli, "show", "--all", "--dir", path],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        check=True,
    ).stdout
    assert "MetaGraphDef with tag-set: 'serve'" in out
    blocks = {
        name: (body, method)
        for name, body, method in re.findall(
            r"signature_def\['(\w+)'\]:\n(.*?)Method name is: ([^\n]*)", out, re.S
        )
    }
    assert {"serving_default", "sample"} <= set(blocks)

    def tensors(name, kind):
        block, method = blocks[name]
        assert method == "tensorflow/serving/predict"
        part = block.split("output(s):")[0 if kind == "inputs" else 1]
        return {
            name: (dtype, shape)
            for name, dtype, shape in re.findall(
                rf"{kind}\['(\w+)'\] tensor_info:\s+dtype: (\w+)\s+shape: ([^\n]+)", part
            )
        }

    assert tensors("serving_default", "inputs") == {"z": ("DT_FLOAT", f"(-1, {LATENT})")}
    assert tensors("serving_default", "outputs") == {"images": ("DT_FLOAT", "(-1, 28, 28, 1)")}
    assert tensors("sample", "inputs") == {
        "num_samples": ("DT_INT32", "()"),
        "seed": ("DT_INT64", "()"),
    }
    assert tensors("sample", "outputs") == {"images": ("DT_FLOAT", "(-1, 28, 28, 1)")}


def test_metadata_is_an_asset_of_the_savedmodel(tmp_path):
    gan = mnist_gan(output_activation="tanh", noise="normal")
    config = {"model": "gan", "latent_dim": LATENT, "dataset": {"name": "mnist"}}
    path = export_generator(gan, tmp_path, training_config=config)
    meta = read_metadata(path)
    assert meta["format"] == export.METADATA_FORMAT
    assert meta["latent_dim"] == LATENT and meta["noise"] == "normal"
    assert meta["output_shape"] == [28, 28, 1] and meta["output_dtype"] == "float32"
    assert meta["value_range"] == [-1.0, 1.0]  # inferred from tanh
    assert meta["model_class"] == "keras_gan.models.gan.GAN"
    assert meta["training_config"] == config
    assert meta["num_classes"] is None and meta["max_num_samples"] == 1024
    assert meta["keras_gan_version"] and meta["exported_at"].endswith("+00:00")
    assert meta["generator_parameters"] == gan.generator.count_params()
    # Tracked by the SavedModel (copied into assets/ and restored on load).
    loaded = tf.saved_model.load(path)
    asset = loaded.metadata_file.asset_path.numpy().decode()
    assert os.path.samefile(asset, os.path.join(path, "assets", export.METADATA_FILENAME))


@pytest.mark.parametrize(
    "activation, given, expected",
    [
        ("sigmoid", None, [0.0, 1.0]),
        ("tanh", None, [-1.0, 1.0]),
        ("linear", None, [0.0, 1.0]),
        ("sigmoid", (0, 255), [0.0, 255.0]),
    ],
)
def test_value_range(tmp_path, activation, given, expected):
    path = export_generator(mnist_gan(activation), tmp_path, value_range=given)
    assert read_metadata(path)["value_range"] == expected


def test_nan_weights_are_refused_before_anything_is_written(tmp_path):
    gan = mnist_gan()
    base = tmp_path / "m"
    export_generator(gan, base)
    kernel = gan.generator.get_layer("output").kernel
    values = kernel.numpy()
    values[0, 0] = np.nan
    kernel.assign(values)
    with pytest.raises(ValueError, match=r"Refusing to export.*output/kernel.*1 NaN/Inf"):
        export_generator(gan, base)
    values[0, 0] = np.inf
    kernel.assign(values)
    with pytest.raises(ValueError, match="NaN/Inf"):
        export_generator(gan, base)
    assert os.listdir(base) == ["1"]


def test_failed_write_leaves_no_version_and_no_temporary(tmp_path, monkeypatch):
    gan = mnist_gan()
    base = tmp_path / "m"
    real_save = tf.saved_model.save

    def save_then_fail(obj, path, **kwargs):
        real_save(obj, path, **kwargs)  # a complete SavedModel in the temporary...
        raise OSError("disk full")  # ...then the write fails

    monkeypatch.setattr(tf.saved_model, "save", save_then_fail)
    with pytest.raises(OSError, match="disk full"):
        export_generator(gan, base)
    assert os.listdir(base) == []


def test_versions_are_never_overwritten(tmp_path):
    gan = mnist_gan()
    export_generator(gan, tmp_path, version=3)
    with pytest.raises(ValueError, match=r"Version 3 already exists.*next one \(4\)"):
        export_generator(gan, tmp_path, version=3)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="version must be an int >= 1"):
            export_generator(gan, tmp_path, version=bad)
    os.makedirs(tmp_path / ".tmp-export-crashed")  # a crashed export: not a version
    os.makedirs(tmp_path / "notes")
    assert export.list_versions(tmp_path) == [3]
    assert export.next_version(tmp_path) == 4


def test_bad_models_and_arguments_are_named(tmp_path):
    with pytest.raises(TypeError, match="needs a model with a keras.Model `generator`"):
        export_generator(object(), tmp_path)
    with pytest.raises(ValueError, match="value_range must be finite with low < high"):
        export_generator(mnist_gan(), tmp_path, value_range=(1, 0))
    with pytest.raises(ValueError, match="max_num_samples must be an int >= 1"):
        export_generator(mnist_gan(), tmp_path, max_num_samples=0)
    assert not os.listdir(tmp_path)


def test_conditional_model_gets_labels_on_both_signatures(tmp_path):
    model = conditional_stand_in(num_classes=3, latent_dim=4)
    path = export_generator(model, tmp_path)
    meta = read_metadata(path)
    assert meta["num_classes"] == 3
    assert set(meta["signatures"]["sample"]["inputs"]) == {"num_samples", "seed", "labels"}
    loaded = tf.saved_model.load(path)
    specs = loaded.signatures["serving_default"].structured_input_signature[1]
    assert specs["labels"] == tf.TensorSpec([None], tf.int32, name="labels")
    specs = loaded.signatures["sample"].structured_input_signature[1]
    assert specs["labels"] == tf.TensorSpec([None], tf.int32, name="labels")

    labels = tf.constant([2, 0, 1, 1], tf.int32)
    out = loaded.signatures["sample"](
        num_samples=tf.constant(4), seed=tf.constant(11, tf.int64), labels=labels
    )["images"]
    z = stateless_latent_noise(4, 4, 11, "normal")
    np.testing.assert_allclose(out, model.generator([z, labels], training=False), atol=1e-6)
    out = loaded.signatures["serving_default"](z=z, labels=labels)["images"]
    np.testing.assert_allclose(out, model.generator([z, labels], training=False), atol=1e-6)

    seed = tf.constant(0, tf.int64)
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be < num_classes = 3"):
        loaded.signatures["sample"](num_samples=tf.constant(2), seed=seed, labels=[0, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be >= 0"):
        loaded.signatures["sample"](num_samples=tf.constant(2), seed=seed, labels=[-1, 0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="one entry per generated sample"):
        loaded.signatures["sample"](num_samples=tf.constant(3), seed=seed, labels=[0, 1])


def test_warmup_file_holds_one_request_per_signature(tmp_path):
    from tensorflow_serving.apis import prediction_log_pb2

    path = export_generator(mnist_gan(), tmp_path)
    records = list(
        tf.data.TFRecordDataset(
            os.path.join(path, "assets.extra", export.WARMUP_FILENAME)
        ).as_numpy_iterator()
    )
    logs = [prediction_log_pb2.PredictionLog.FromString(r) for r in records]
    requests = {log.predict_log.request.model_spec.signature_name: log for log in logs}
    assert set(requests) == {"serving_default", "sample", "sample_png"}
    z = requests["serving_default"].predict_log.request.inputs["z"]
    assert tf.make_ndarray(z).shape == (1, LATENT)


def test_train_exports_at_the_end_with_its_config(tmp_path):
    from keras_gan.training import train

    config = parse_config(
        {
            "latent_dim": 2,
            "generator": {"name": "mlp_generator", "hidden": [8]},
            "discriminator": {"name": "mlp_discriminator", "hidden": [8]},
            "dataset": {"name": "gaussians_8", "num_examples": 256},
            "training": {"epochs": 1, "batch_size": 64, "verbose": 0},
            "logging": {"logdir": str(tmp_path / "run"), "png": False},
            "export": {"base_dir": str(tmp_path / "saved" / "toy")},
        }
    )
    result = train(config)
    assert result.export_path == str(tmp_path / "saved" / "toy" / "1")
    meta = read_metadata(result.export_path)
    assert meta["training_config"] == config.model_dump(mode="json")
    assert meta["output_shape"] == [2] and meta["latent_dim"] == 2
    loaded = tf.saved_model.load(result.export_path)
    out = loaded.signatures["sample"](num_samples=tf.constant(4), seed=tf.constant(5, tf.int64))
    np.testing.assert_allclose(out["images"], result.model.sample(4, seed=5), atol=1e-6)


def test_cli_export_from_model_keras(tmp_path):
    gan = toy_gan(latent_dim=3, width=8, depth=1)
    model_path = str(tmp_path / "model.keras")
    gan.save(model_path)
    base = str(tmp_path / "saved")
    proc = run_cli(
        "export", "--model", model_path, "--base-dir", base, "--value-range", "-2", "2",
        timeout=300,
    )  # fmt: skip
    assert f"Exported generator: {os.path.join(base, '1')}" in proc.stdout
    meta = read_metadata(os.path.join(base, "1"))
    assert meta["value_range"] == [-2.0, 2.0] and meta["latent_dim"] == 3
    loaded = tf.saved_model.load(os.path.join(base, "1"))
    out = loaded.signatures["sample"](num_samples=tf.constant(5), seed=tf.constant(1, tf.int64))
    np.testing.assert_allclose(out["images"], gan.sample(5, seed=1), atol=1e-6)

    missing = run_cli("export", "--model", str(tmp_path / "nope.keras"), "--base-dir", base,
                      check=False)  # fmt: skip
    assert missing.returncode == 2
    assert "no model file" in missing.stderr and "Traceback" not in missing.stderr


FORBIDDEN = ("keras_gan.models", "keras_gan.training", "keras_gan.callbacks", "keras_gan.data")


def _imports(module):
    """keras_gan modules that ``module`` imports anywhere (lazy imports included).

    ``keras_gan.registration`` is a leaf: it imports the models only from the hook
    that registers them with Keras, which the serving commands switch off
    (tests/test_registration.py checks that at run time)."""
    import ast
    import importlib.util

    if module == "keras_gan.registration":
        return set()

    spec = importlib.util.find_spec(module)
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    found = {m for m in found if m.startswith("keras_gan")}
    return {m for m in found if _is_module(m)}


def _is_module(name):
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, AttributeError, ValueError):  # a class or function, not a module
        return False


def test_export_and_serving_import_no_training_code():
    """Everything reachable from export, serving and the serve/sample commands
    (following lazy imports too) stays clear of the training code."""

    def reachable(roots):
        seen, todo = set(), list(roots)
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(_imports(module))
        return seen

    # The walk sees lazy imports: `keras-gan export` loads models (it may).
    assert "keras_gan.models" in reachable(["keras_gan.cli.export"])
    roots = ["keras_gan.export", "keras_gan.cli.serve", "keras_gan.cli.sample"]
    roots += [
        f"keras_gan.serving.{m[:-3]}"
        for m in os.listdir(os.path.dirname(__import__("keras_gan.serving").serving.__file__))
        if m.endswith(".py")
    ]
    seen = reachable(roots)
    assert "keras_gan.serving.server" in seen and "keras_gan.noise" in seen
    assert not [m for m in seen if m.startswith(FORBIDDEN)]
