"""What a `keras-gan train` run shows in TensorBoard, read by a real TensorBoard
server: its HParams API (the run's config and data as hparams, its scalars as
metrics), and its Time Series, Images and HParams views in headless Chromium.

The screenshots stay in the test's temporary directory for a person to look at.
"""

import os
import socket
import subprocess
import sys
import time

import pytest
import requests
from browser import not_blank
from conftest import REPO, requires_mnist_idx

from keras_gan.config import load_config
from keras_gan.training import train

pytestmark = [pytest.mark.slow, requires_mnist_idx]
TINY = os.path.join(REPO, "tests", "configs", "tiny_mnist.yaml")
STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """A tiny MNIST run (step curves, a sample grid, an FID) under ``runs/``, and a
    TensorBoard serving ``runs/``; yields (base URL, the run's result)."""
    runs = tmp_path_factory.mktemp("tb") / "runs"
    config = load_config(
        TINY,
        overrides={
            "logging.logdir": str(runs / "tiny"),
            "logging.step_every": 1,
            "training.verbose": 0,
            "evaluation": {
                "metrics": ["fid"],
                "num_samples": 200,
                "every_epochs": 1,
                "reference_split": "test[:200]",
            },
        },
    )
    result = train(config)
    port = _free_port()
    tensorboard = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(runs), "--host", "127.0.0.1",
         "--port", str(port), "--load_fast=false"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if requests.get(f"{url}/data/runs", timeout=2).json():
                break
        except (requests.ConnectionError, requests.Timeout, ValueError):
            pass
        assert tensorboard.poll() is None, "tensorboard exited"
        assert time.monotonic() < deadline, "tensorboard did not start within 120 s"
        time.sleep(0.5)
    yield url, result, config
    tensorboard.terminate()
    tensorboard.wait(30)


def _hparams_api(url, path, body):
    answer = requests.post(f"{url}/data/plugin/hparams/{path}", json=body, timeout=30)
    answer.raise_for_status()
    return answer.json()


def test_the_run_is_a_session_with_its_config_data_and_final_scores(board):
    url, result, config = board
    experiment = _hparams_api(url, "experiment", {"experimentName": ""})
    names = {h["name"] for h in experiment["hparamInfos"]}
    assert {"model", "latent_dim", "d_optimizer.learning_rate", "training.batch_size"} <= names
    assert {"data.source", "data.num_examples", "discriminator.units"} <= names
    assert not [n for n in names if n.split(".")[0] in ("logging", "checkpoint", "monitoring")]
    metrics = {(m["name"]["group"], m["name"]["tag"]) for m in experiment["metricInfos"]}
    assert {("eval", "eval/fid"), ("train", "game/d_loss"), ("train", "epoch_g_loss")} <= metrics

    groups = _hparams_api(
        url,
        "session_groups",
        {"experimentName": "", "allowedStatuses": STATUSES, "startIndex": 0, "sliceSize": 10},
    )["sessionGroups"]
    assert [g["name"] for g in groups] == ["tiny"]
    (group,) = groups
    assert group["sessions"][0]["status"] == "STATUS_SUCCESS"
    hparams = group["hparams"]
    assert hparams["data.source"] == "idx" and hparams["data.num_examples"] == 512
    assert hparams["d_optimizer.learning_rate"] == pytest.approx(config.d_optimizer.learning_rate)
    assert hparams["discriminator.units"] == "[16]"
    final = {m["name"]["tag"]: m for m in group["metricValues"]}
    assert final["eval/fid"]["value"] == pytest.approx(result.evaluations[-1]["fid"], rel=1e-5)
    assert final["eval/fid"]["trainingStep"] == 6  # 2 epochs x 3 generator updates
    assert final["game/d_loss"]["trainingStep"] == 6


def _screenshot(tab, path):
    png = tab.screenshot(path=str(path), full_page=True)
    assert not_blank(png), f"blank screenshot {path}"


def test_the_views_show_the_run_in_a_browser(board, page, tmp_path):
    url = board[0]
    # Time Series: the step-level game curves and the evaluation, by tag.
    page.goto(f"{url}/?tagFilter=game%7Ceval#timeseries")
    for tag in ("/d_loss", "/d_real", "/d_fake", "/g_loss", "/fid"):
        page.get_by_text(tag, exact=True).first.wait_for(timeout=60_000)
    assert page.locator("canvas, svg").count() > 0
    _screenshot(page, tmp_path / "timeseries.png")

    # Images: the sample grid, loaded from TensorBoard's image endpoint.
    page.goto(f"{url}/#images")
    image = page.locator("img[src*='individualImage']").first
    image.wait_for(timeout=60_000)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    _screenshot(page, tmp_path / "images.png")

    # HParams: a table row for the run with its hyperparameters.
    page.goto(f"{url}/#hparams")
    page.get_by_text("d_optimizer.learning_rate").first.wait_for(timeout=60_000)
    page.get_by_text("tiny", exact=True).filter(visible=True).first.wait_for(timeout=60_000)
    _screenshot(page, tmp_path / "hparams.png")
    assert not page.console_errors, page.console_errors
