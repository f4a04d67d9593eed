"""Serving speed: ``keras-gan serve`` over REST and gRPC against the in-process call.

Exports the paper's MNIST generator (100-1200-1200-784, ReLU/sigmoid; random
weights, which do not change the cost) or uses ``--model-dir``, starts
``keras-gan serve`` on 127.0.0.1 and asks for ``--sizes`` samples per request
through the ``sample`` signature at each ``--concurrency``:

* ``in-process``: the same SavedModel's ``sample`` signature called directly in
  this process (no serialisation, no network: the bound);
* ``grpc``: :class:`keras_gan.serving.GrpcSampleClient` (PredictionService
  stub, tensors as raw bytes);
* ``rest``: :class:`keras_gan.serving.SampleClient` (JSON over HTTP, decoded
  into a NumPy array).

Each concurrent client is its own process (its own GIL, its own connection),
started and warmed up before the clock starts. Reported per configuration: p50
and p99 latency of a request (client side, including decoding the images) and
samples/s (all samples / wall time), plus the latency ratio to the in-process
bound. Clients and server share the machine's cores.

Full size (about 5 minutes on 2 cores)::

    python benchmarks/serving.py

Quick check::

    python benchmarks/serving.py --requests 8 --sizes 16 --concurrency 1 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TRANSPORTS = ("in-process", "grpc", "rest")


def percentile(values, q):
    """The ``q``-th percentile (linear interpolation), NaN for no values."""
    return float(np.percentile(values, q)) if len(values) else float("nan")


def export_paper_generator(base_dir):
    import types

    from keras_gan import networks
    from keras_gan.export import export_generator

    generator = networks.mlp_generator(
        latent_dim=100, hidden=(1200, 1200), output_shape=(28, 28, 1)
    )
    model = types.SimpleNamespace(generator=generator, latent_dim=100, noise="uniform")
    return export_generator(model, base_dir, max_num_samples=4096)


# ------------------------------------------------------------------ clients
def _client_process(transport, address, model, size, count, barrier, results, seed0):
    """One concurrent client: warm up, wait for the others, time ``count`` requests."""
    from keras_gan.serving import GrpcSampleClient, SampleClient

    client = (
        SampleClient(address, model=model)
        if transport == "rest"
        else GrpcSampleClient(address, model=model)
    )
    client.sample(size, seed=seed0)  # connection and first-call costs
    barrier.wait()
    latencies = []
    start = time.perf_counter()
    for i in range(count):
        t = time.perf_counter()
        images = client.sample(size, seed=seed0 + i)
        latencies.append(time.perf_counter() - t)
        assert images.shape[0] == size
    results.put((start, time.perf_counter(), latencies))
    client.close()


def run_remote(transport, address, model, size, concurrency, requests):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(concurrency)
    results = ctx.Queue()
    per_client = [
        requests // concurrency + (i < requests % concurrency) for i in range(concurrency)
    ]
    procs = [
        ctx.Process(
            target=_client_process,
            args=(transport, address, model, size, n, barrier, results, 1000 * (i + 1)),
        )
        for i, n in enumerate(per_client)
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=1800) for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"a {transport} client failed (exit {p.exitcode})")
    starts, ends, latencies = zip(*outcomes)
    return max(ends) - min(starts), [x for lat in latencies for x in lat]


def run_in_process(signature, size, concurrency, requests):
    import tensorflow as tf

    def call(seed):
        out = signature(num_samples=tf.constant(size), seed=tf.constant(seed, tf.int64))
        return out["images"].numpy()

    call(0)
    per_thread = [
        requests // concurrency + (i < requests % concurrency) for i in range(concurrency)
    ]
    latencies, lock = [], threading.Lock()
    barrier = threading.Barrier(concurrency + 1)

    def worker(n, offset):
        mine = []
        barrier.wait()
        for i in range(n):
            t = time.perf_counter()
            call(offset + i)
            mine.append(time.perf_counter() - t)
        with lock:
            latencies.extend(mine)

    threads = [
        threading.Thread(target=worker, args=(n, 1000 * (i + 1))) for i, n in enumerate(per_thread)
    ]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies


# ------------------------------------------------------------------ server
def start_server(base_dir, model, threads):
    import subprocess

    import requests

    from keras_gan.serving.server import free_port

    grpc_port, rest_port = free_port(), free_port()
    log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "keras_gan", "serve",
            "--host", "127.0.0.1", "--port", str(grpc_port), "--rest_api_port", str(rest_port),
            "--model_name", model, "--model_base_path", base_dir,
            "--max_num_samples", "4096", "--num_request_threads", str(threads),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", "")),
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"keras-gan serve exited; see {log.name}")
        try:
            r = requests.get(f"http://127.0.0.1:{rest_port}/v1/models/{model}", timeout=2)
            if r.ok and r.json()["model_version_status"][0]["state"] == "AVAILABLE":
                return proc, f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{rest_port}"
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"keras-gan serve not ready; see {log.name}")


# ------------------------------------------------------------------ main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 256])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--requests", type=int, default=200, help="requests per configuration")
    parser.add_argument("--transports", nargs="+", default=list(TRANSPORTS), choices=TRANSPORTS)
    parser.add_argument("--model-dir", help="an exported version directory (default: export one)")
    parser.add_argument("--server-threads", type=int, default=4, help="--num_request_threads")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    import tensorflow as tf

    tmp = tempfile.mkdtemp(prefix="keras-gan-bench-")
    model = "mnist_gan"
    if args.model_dir:
        version_dir = os.path.abspath(args.model_dir)
        base_dir = os.path.dirname(version_dir)
    else:
        base_dir = os.path.join(tmp, model)
        version_dir = export_paper_generator(base_dir)
    signature = tf.saved_model.load(version_dir).signatures["sample"]
    proc = grpc_target = rest_url = None
    if set(args.transports) - {"in-process"}:
        proc, grpc_target, rest_url = start_server(base_dir, model, args.server_threads)
    rows = []
    try:
        for size in args.sizes:
            for concurrency in args.concurrency:
                bound = None
                for transport in args.transports:
                    if transport == "in-process":
                        wall, lat = run_in_process(signature, size, concurrency, args.requests)
                    else:
                        address = grpc_target if transport == "grpc" else rest_url
                        wall, lat = run_remote(
                            transport, address, model, size, concurrency, args.requests
                        )
                    row = {
                        "transport": transport,
                        "samples": size,
                        "concurrency": concurrency,
                        "requests": len(lat),
                        "p50_ms": 1000 * statistics.median(lat),
                        "p99_ms": 1000 * percentile(lat, 99),
                        "samples_per_s": size * len(lat) / wall,
                    }
                    if transport == "in-process":
                        bound = row
                    row["p50_vs_in_process"] = (
                        row["p50_ms"] / bound["p50_ms"] if bound else float("nan")
                    )
                    rows.append(row)
                    print(
                        f"{transport:>10}  n={size:<4} c={concurrency:<2} "
                        f"p50 {row['p50_ms']:8.2f} ms  p99 {row['p99_ms']:8.2f} ms  "
                        f"{row['samples_per_s']:9.0f} samples/s  "
                        f"x{row['p50_vs_in_process']:.1f} of in-process p50",
                        flush=True,
                    )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=60)
    print()
    print(
        "| transport | samples/request | concurrency | p50 ms | p99 ms | samples/s "
        "| p50 / in-process |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['transport']} | {r['samples']} | {r['concurrency']} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['samples_per_s']:.0f} | {r['p50_vs_in_process']:.1f} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"argv": sys.argv[1:], "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
