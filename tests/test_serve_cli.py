"""``keras-gan serve`` with TF Serving's single-model flags, and its flag errors."""

import re
import time

import numpy as np
import pytest
from conftest import run_cli, toy_gan
from serving_helpers import start_server

from keras_gan.export import export_generator
from keras_gan.serving import GrpcSampleClient, ServingError


@pytest.mark.slow
def test_model_name_and_base_path_flags_with_rest_disabled(tmp_path):
    """``--rest_api_port 0`` disables REST (as in TF Serving); gRPC serves the
    newest version only (TF Serving's default policy, latest 1)."""
    gan = toy_gan(latent_dim=3, width=8, depth=1)
    base = tmp_path / "toy"
    export_generator(gan, base, version=4)
    export_generator(gan, base, version=2)  # older number: not served
    server = start_server(
        ["--model_name", "toy", "--model_base_path", str(base)],
        models=["toy"],
        log_path=tmp_path / "server.log",
        rest=False,
    )
    try:
        with GrpcSampleClient(server.grpc_target, model="toy") as client:
            assert [(s["version"], s["state"]) for s in client.status()] == [(4, "AVAILABLE")]
            np.testing.assert_allclose(client.sample(5, seed=8), gan.sample(5, seed=8), atol=1e-6)
            with pytest.raises(ServingError, match=r"Specific\(toy, 2\)"):
                client.sample(5, seed=8, version=2)
        assert "REST disabled" in server.log()
        start = time.monotonic()
        assert server.stop() == 0  # SIGTERM: a clean exit
        assert time.monotonic() - start < 20
    finally:
        server.stop()


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "Nothing to serve: pass --model_base_path"),
        (["--model_config_file", "/nonexistent/models.config"], "cannot read the model config"),
        (
            ["--model_config_file", "x.config", "--model_base_path", "/tmp"],
            "either --model_config_file or --model_base_path",
        ),
        (["--model_base_path", "/tmp", "--port", "70000"], r"--port must be in \[0, 65535\]"),
        (["--model_base_path", "/tmp", "--port", "9000", "--rest_api_port", "9000"], "must differ"),
        (["--model_base_path", "/tmp", "--max_num_samples", "0"], "max_num_samples must be >= 1"),
        (["--model_name", "a/b", "--model_base_path", "/tmp"], "may not contain"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args, message):
    proc = run_cli("serve", *args, check=False, timeout=120)
    assert proc.returncode == 2
    assert re.search(message, proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr
