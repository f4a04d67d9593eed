"""Request batching (``--enable_batching``): merged answers equal unbatched ones
bit for bit; TF Serving's parameter file; the probe that decides what merges."""

import concurrent.futures
import os
import types

import numpy as np
import production_server
import pytest
import tensorflow as tf
from prometheus_client.parser import text_string_to_metric_families

from keras_gan.serving import GrpcSampleClient, SampleClient
from keras_gan.serving.batching import (
    BatchingConfigError,
    BatchingParameters,
    parse_batching_parameters,
    probe_version,
)
from keras_gan.serving.registry import Signature
from keras_gan.serving.tensors import TensorSpec


def _batches(server):
    for family in text_string_to_metric_families(production_server.metrics(server)):
        if family.name == ":keras_gan:serving:batch_size":
            return {
                s.labels["model_name"]: s.value for s in family.samples if s.name.endswith("_count")
            }
    return {}


def test_batched_answers_equal_unbatched_under_16_concurrent_clients():
    """16 clients (REST and gRPC) send sample and serving_default requests of
    mixed sizes and seeds, conditional ones too; every answer equals the
    signature called alone (in this process, as an unbatched server does),
    and requests were really merged."""
    server = production_server.get()
    rng = np.random.default_rng(0)
    jobs = []
    for i in range(16 * 4):
        n = int(rng.choice([1, 2, 3, 4, 7, 16]))
        seed = int(rng.integers(0, 2**40))
        kind = ("sample", "generate", "cond")[i % 3]
        jobs.append((kind, n, seed))
    loaded = {
        name: tf.saved_model.load(os.path.join(server.root, name, "1")).signatures
        for name in ("mnist", "cond")
    }

    def alone(kind, n, seed):
        if kind == "sample":
            return loaded["mnist"]["sample"](
                num_samples=tf.constant(n), seed=tf.constant(seed, tf.int64)
            )
        if kind == "generate":
            return loaded["mnist"]["serving_default"](z=tf.constant(_z(n, seed)))
        labels = tf.constant(np.arange(n) % 3, tf.int32)
        return loaded["cond"]["sample"](
            num_samples=tf.constant(n), seed=tf.constant(seed, tf.int64), labels=labels
        )

    expected = [alone(*job)["images"].numpy() for job in jobs]
    before = _batches(server)

    def client_run(index):
        rest = index % 2 == 0
        results = {}
        make = (
            (lambda m: SampleClient(server.rest_url, model=m))
            if rest
            else (lambda m: GrpcSampleClient(server.grpc_target, model=m))
        )
        clients = {m: make(m) for m in ("mnist", "cond")}
        try:
            for j in range(index, len(jobs), 16):
                kind, n, seed = jobs[j]
                if kind == "sample":
                    results[j] = clients["mnist"].sample(n, seed=seed)
                elif kind == "generate":
                    results[j] = clients["mnist"].generate(_z(n, seed))
                else:
                    results[j] = clients["cond"].sample(n, seed=seed, labels=np.arange(n) % 3)
        finally:
            for c in clients.values():
                c.close()
        return results

    for _ in range(2):  # twice: the second round meets warm connections
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            answers = {}
            for part in pool.map(client_run, range(16)):
                answers.update(part)
        for j, want in enumerate(expected):
            got = np.asarray(answers[j], np.float32)
            assert got.shape == want.shape, jobs[j]
            assert np.array_equal(got, want), (jobs[j], np.abs(got - want).max())
    after = _batches(server)
    assert after.get("mnist", 0) > before.get("mnist", 0), "no request was merged"
    assert after.get("cond", 0) > before.get("cond", 0), "no conditional request was merged"


def _z(n, seed):
    return (
        np.random.default_rng(seed)
        .standard_normal((n, production_server.LATENT))
        .astype(np.float32)
    )


def test_the_probe_keeps_apart_the_sizes_that_round_differently():
    """A generator whose rows change with the batch size (as a matrix-vector
    kernel for one row does) is merged only for the sizes that stay exact."""

    def generator(z):
        # rows of a 3-row call are off by one ulp, like a batch-size-specific kernel
        bump = tf.where(tf.shape(z)[0] == 3, tf.constant(1e-7), tf.constant(0.0))
        return {"images": z * 2.0 + bump}

    spec = TensorSpec("z", tf.float32.as_datatype_enum, (None, 4))
    out = TensorSpec("images", tf.float32.as_datatype_enum, (None, 4))
    signature = Signature("serving_default", {"z": spec}, {"images": out}, generator)
    loaded = types.SimpleNamespace(
        signatures={"serving_default": signature},
        metadata={"latent_dim": 4, "noise": "normal"},
        num_classes=None,
    )
    sizes, sample_ok = probe_version(loaded, 8, list(range(2, 9)))
    # 3 alone differs from 3 rows of a larger call; 1 and 2 could land in a
    # 3-row call; 8 has no larger call to join.
    assert sizes == frozenset({4, 5, 6, 7})
    assert not sample_ok  # no sample signature
    # Padded to 8 rows (allowed_batch_sizes: 8): only 3 differs.
    assert probe_version(loaded, 8, [8])[0] == frozenset({1, 2, 4, 5, 6, 7})


def test_batching_parameters_text_format():
    params = parse_batching_parameters(
        "max_batch_size { value: 16 } batch_timeout_micros { value: 500 }\n"
        "num_batch_threads { value: 2 } allowed_batch_sizes: 8 allowed_batch_sizes: 16\n"
        'thread_pool_name { value: "pool" }'
    )
    assert params == BatchingParameters(16, 500, 100, 2, (8, 16))
    assert parse_batching_parameters("") == BatchingParameters()


@pytest.mark.parametrize(
    "text, message",
    [
        ("max_batch_size { value: 0 }", r"max_batch_size must be in \[1, "),
        ("max_batch_sizes { value: 4 }", r'no field named "max_batch_sizes".*fields: \['),
        ("num_batch_threads { value: -1 }", r"num_batch_threads must be in \[1, 256\]"),
        ("max_batch_size { value: 8 } allowed_batch_sizes: 4", "must equal max_batch_size"),
        ("allowed_batch_sizes: 8 allowed_batch_sizes: 4", "increasing"),
        ("max_batch_size: 4", "not a valid BatchingParameters"),
        ("pad_variable_length_inputs: true", "not supported"),
    ],
)
def test_bad_batching_parameters_are_refused(text, message):
    with pytest.raises(BatchingConfigError, match=message):
        parse_batching_parameters(text)


def test_serve_flags_read_the_batching_file_first(tmp_path):
    """``keras-gan serve`` reads the file before loading anything; its error
    becomes the command's one-line error (exit status 2)."""
    from keras_gan.cli.serve import _extension_options

    path = tmp_path / "batching.config"
    path.write_text("max_batch_size { value: 4 }\nbatch_timeout { value: 1 }\n")
    args = types.SimpleNamespace(
        enable_batching=True, batching_parameters_file=str(path), monitoring_config_file=None,
        model_config_file=None, model_config_file_poll_wait_seconds=0.0, explorer=True,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"batching.config: .*no field named \"batch_timeout\""):
        _extension_options(args)
    args.batching_parameters_file, args.enable_batching = None, True
    assert _extension_options(args)["batching_parameters"] == BatchingParameters()
    args.enable_batching = False
    args.batching_parameters_file = str(path)
    with pytest.raises(ValueError, match="needs --enable_batching"):
        _extension_options(args)
