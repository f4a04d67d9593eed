"""``--model_config_file_poll_wait_seconds``: models added and removed in the
config file while requests continue; a bad new file keeps the old config."""

import shutil
import threading

import production_server
import pytest
import requests
from serving_helpers import wait_for

from keras_gan.serving import SampleClient, ServingError
from keras_gan.serving.reload import ConfigPoller


def _state(server, name):
    r = requests.get(f"{server.rest_url}/v1/models/{name}", timeout=10)
    if r.status_code != 200:
        return r.status_code
    return r.json()["model_version_status"][0]["state"]


def test_config_reload_adds_and_removes_a_model_while_requests_continue():
    server = production_server.get()
    shutil.copytree(f"{server.root}/mnist", f"{server.root}/extra", dirs_exist_ok=True)
    stop = threading.Event()
    failures, answered = [], [0]

    def keep_asking():
        with SampleClient(server.rest_url, model="mnist") as client:
            while not stop.is_set():
                try:
                    client.sample(2, seed=1)
                    answered[0] += 1
                except ServingError as e:
                    failures.append(e)

    thread = threading.Thread(target=keep_asking)
    thread.start()
    try:
        assert _state(server, "extra") == 404
        names = (*production_server.MODELS, "extra")
        production_server.write_config(server, production_server.config_text(server.root, names))
        wait_for(lambda: _state(server, "extra") == "AVAILABLE", timeout=60, what="extra loaded")
        with SampleClient(server.rest_url, model="extra") as extra:
            assert extra.sample(1, seed=0).shape == (1, 28, 28, 1)

        # A broken file is logged and changes nothing.
        production_server.write_config(server, "model_config_list { config { name: ")
        wait_for(lambda: "model config not reloaded" in server.log(), timeout=30, what="the error")
        assert _state(server, "extra") == "AVAILABLE"

        production_server.write_config(server, production_server.config_text(server.root))
        wait_for(lambda: _state(server, "extra") == 404, timeout=60, what="extra removed")
    finally:
        production_server.write_config(server, production_server.config_text(server.root))
        stop.set()
        thread.join(timeout=60)
    assert failures == [] and answered[0] > 0
    log = server.log()
    assert "model config reloaded" in log and "added ['extra']" in log
    assert "removed ['extra']" in log


def test_the_poller_needs_a_positive_wait():
    with pytest.raises(ValueError, match="poll_wait_seconds must be > 0"):
        ConfigPoller(None, "x", 0)
