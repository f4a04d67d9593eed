"""Prometheus metrics (``--monitoring_config_file``): TF Serving's names, parsed
with ``prometheus_client``'s parser, counters that rise by exactly the
requests sent."""

import numpy as np
import production_server
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from keras_gan.serving import GrpcSampleClient, SampleClient, ServingError
from keras_gan.serving.monitoring import (
    DEFAULT_PATH,
    MonitoringConfigError,
    parse_monitoring_config,
)


def _samples(server):
    """``{(sample name, frozenset(labels)): value}`` of the parsed exposition."""
    out = {}
    for family in text_string_to_metric_families(production_server.metrics(server)):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def _value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_counters_rise_by_exactly_the_requests_sent():
    server = production_server.get()
    count = ":tensorflow:serving:request_count"
    latency = ":tensorflow:serving:request_latency_count"
    before = _samples(server)
    with SampleClient(server.rest_url, model="mnist") as rest:
        for seed in range(5):
            rest.sample(2, seed=seed)
        rest.metadata()
        for _ in range(2):
            with pytest.raises(ServingError, match="num_samples must be in"):
                rest.sample(100_000, seed=0)
    with GrpcSampleClient(server.grpc_target, model="mnist") as grpc_client:
        for _ in range(3):
            grpc_client.generate(np.zeros((1, production_server.LATENT), np.float32))
        grpc_client.status()
        with pytest.raises(ServingError, match="num_samples must be in"):
            grpc_client.sample(100_000, seed=0)
    after = _samples(server)

    def delta(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta(count, model_name="mnist", status="OK") == 5 + 3
    assert delta(count, model_name="mnist", status="INVALID_ARGUMENT") == 2 + 1
    assert delta(latency, model_name="mnist", API="predict", entrypoint="REST") == 7
    assert delta(latency, model_name="mnist", API="predict", entrypoint="GRPC") == 4
    assert delta(latency, model_name="mnist", API="GetModelMetadata", entrypoint="REST") == 1
    assert delta(latency, model_name="mnist", API="GetModelStatus", entrypoint="GRPC") == 1
    runtime = ":tensorflow:serving:runtime_latency_count"
    assert delta(runtime, model_name="mnist", API="predict", runtime="TF2") == 8
    # The histogram's buckets are TF Serving's (10 * 1.8^i microseconds) and cumulative.
    buckets = sorted(
        (float(dict(k)["le"]), v)
        for (n, k), v in after.items()
        if n == ":tensorflow:serving:request_latency_bucket"
        and dict(k)["entrypoint"] == "REST"
        and dict(k)["API"] == "predict"
        and dict(k)["model_name"] == "mnist"
    )
    assert len(buckets) == 34 and buckets[0][0] == 10.0 and buckets[1][0] == pytest.approx(18.0)
    assert [v for _, v in buckets] == sorted(v for _, v in buckets)
    # Every version load, and its warm-up, is recorded.
    loads = {
        dict(k)["model_path"]: v
        for (n, k), v in after.items()
        if n == ":tensorflow:cc:saved_model:load_attempt_count" and dict(k)["status"] == "success"
    }
    assert {p.split("/")[-2] for p in loads} >= {"mnist", "cond", "seq"}
    warmups = [
        v for (n, _), v in after.items() if n == ":tensorflow:serving:model_warmup_latency_count"
    ]
    assert len(warmups) >= 3 and min(warmups) >= 1


def test_the_text_is_prometheus_text_format():
    server = production_server.get()
    r = requests.get(server.rest_url + DEFAULT_PATH, timeout=10)
    assert r.headers["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE :tensorflow:serving:request_latency histogram" in r.text
    assert "# TYPE :tensorflow:serving:request_count untyped" in r.text


def test_monitoring_config():
    assert parse_monitoring_config("prometheus_config { enable: true }") == DEFAULT_PATH
    assert parse_monitoring_config('prometheus_config { enable: true, path: "/m" }') == "/m"
    assert parse_monitoring_config("prometheus_config { enable: false }") is None
    for text, message in [
        ('prometheus_config { enable: true path: "metrics" }', "absolute URL path"),
        ('prometheus_config { enable: true path: "/a b" }', "absolute URL path"),
        ('prometheus_config { enable: true path: "/v1/models/x" }', "under /v1/"),
        ("prometheus_config { enabled: true }", 'no field named "enabled"'),
    ]:
        with pytest.raises(MonitoringConfigError, match=message):
            parse_monitoring_config(text)
