"""`keras-gan evaluate` and model loading: .keras files and exported SavedModels."""

import json
import os

import numpy as np
import pytest
from conftest import requires_mnist_idx, run_cli
from tiny_models import save_tiny_saved_model, tiny_mnist_gan

from keras_gan.cli import main
from keras_gan.data import load_arrays
from keras_gan.export import export_generator
from keras_gan.loading import load_generator, resolve_saved_model_dir
from keras_gan.metrics import parzen_evaluate

SIGMAS = ["0.1", "0.2", "0.4", "0.8"]
SPLITS = ["--test-split", "test[:300]", "--validation-split", "train[59700:]"]


@pytest.fixture(scope="module")
def tiny_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    gan = tiny_mnist_gan()
    keras_path = str(root / "model.keras")
    gan.save(keras_path)
    base = root / "saved_models" / "tiny"
    metadata = {"latent_dim": 8, "noise": "uniform", "value_range": [0, 1]}
    save_tiny_saved_model(gan, str(base / "1"), metadata=metadata)
    # Version 2 comes from the package's own exporter (what `keras-gan export` writes);
    # version 1 is a minimal third-party SavedModel with only the `sample` signature.
    export_generator(gan, str(base), version=2, value_range=(0.0, 1.0))
    return gan, keras_path, str(base)


def test_load_generator_keras_and_saved_model_agree(tiny_files):
    gan, keras_path, base = tiny_files
    from_keras = load_generator(keras_path)
    assert resolve_saved_model_dir(base) == os.path.join(base, "2")  # the highest version
    from_saved = load_generator(base)
    assert from_saved.kind == "saved_model" and from_saved.metadata["noise"] == "uniform"
    assert from_saved.metadata["model_class"].endswith(type(gan).__name__)
    assert from_saved.latent_dim == 8 and from_saved.generate_fn is not None
    expected = gan.sample(5, seed=11)
    np.testing.assert_allclose(from_keras.sample(5, seed=11), expected, atol=1e-6)
    np.testing.assert_allclose(from_saved.sample(5, seed=11), expected, atol=1e-6)
    z = gan.sample_latent(3, seed=2)
    np.testing.assert_allclose(from_saved.generate(z), gan.generate(z), atol=1e-6)
    version_1 = load_generator(os.path.join(base, "1"))
    assert version_1.generate_fn is None  # no z signature in version 1
    with pytest.raises(ValueError, match="no signature with a single input named 'z'"):
        version_1.generate(z)


def test_load_generator_bad_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model at"):
        load_generator(str(tmp_path / "missing.keras"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="expected a .keras file"):
        load_generator(str(tmp_path / "notes.txt"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="numeric version subdirectories"):
        load_generator(str(tmp_path / "empty"))
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="Cannot load"):
        load_generator(str(tmp_path / "broken.keras"))


def _evaluate_args(model, json_out):
    return [
        "evaluate", "--model", model, "--dataset", "mnist", *SPLITS, "--num-samples", "500",
        "--seed", "4", "--sigmas", *SIGMAS, "--json-out", str(json_out),
    ]  # fmt: skip


@pytest.mark.slow
@requires_mnist_idx
def test_evaluate_cli_on_keras_file_and_saved_model(tiny_files, tmp_path, capsys):
    """The SavedModel through the real console process, the .keras file through main()
    in-process (the same code path, without a second TensorFlow start-up)."""
    gan, keras_path, base = tiny_files
    x_test, _ = load_arrays("mnist", "test[:300]")
    x_valid, _ = load_arrays("mnist", "train[59700:]")
    expected = parzen_evaluate(
        gan, x_test, x_valid, num_samples=500, sigmas=[float(s) for s in SIGMAS], seed=4
    )
    outputs = [run_cli(*_evaluate_args(base, tmp_path / "saved.json")).stdout]
    assert main(_evaluate_args(keras_path, tmp_path / "keras.json")) == 0
    outputs.append(capsys.readouterr().out)
    for stdout, name in zip(outputs, ("saved.json", "keras.json")):
        line, json_line = stdout.strip().splitlines()[-2:]
        assert "Parzen log-likelihood" in line and "nats" in line
        record = json.loads(json_line)
        assert record == json.loads((tmp_path / name).read_text())
        assert record["mean"] == pytest.approx(expected.mean, abs=1e-3)
        assert record["stderr"] == pytest.approx(expected.stderr, abs=1e-3)
        assert record["sigma"] == expected.sigma
        assert record["num_samples"] == 500 and record["num_test"] == 300
        assert record["num_validation"] == 300 and len(record["sigma_scores"]) == 4


@requires_mnist_idx
def test_evaluate_cli_errors_are_one_line(tiny_files, tmp_path, capsys):
    _, keras_path, _ = tiny_files
    cases = [
        (["--model", str(tmp_path / "nope.keras")], "No model at"),
        (["--model", keras_path, "--num-samples", "0"], "--num-samples must be >= 1"),
        (["--model", keras_path, "--sigmas", "-1"], "sigma must be finite and > 0"),
        (["--model", keras_path, "--validation-split", "valid"], "Invalid split"),
        (["--model", keras_path, "--dataset", "fashion"], "Unknown dataset"),
    ]
    for args, message in cases:  # in-process: main() is what the console script runs
        assert main(["evaluate", *args, *SPLITS[:2]]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("keras-gan evaluate: error:") and message in err, err
        assert "Traceback" not in err
