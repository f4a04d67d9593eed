"""Serving speed: ``keras-gan serve`` over REST and gRPC, with and without
request batching, against the in-process call.

Exports the paper's MNIST generator (100-1200-1200-784, ReLU/sigmoid; random
weights, which do not change the cost) or uses ``--model-dir``, starts two
``keras-gan serve`` on 127.0.0.1 -- one plain, one with ``--enable_batching``
(``--max-batch-size``, ``--batch-timeout-micros``, ``--num-batch-threads``) --
and asks for ``--sizes`` samples per request through the ``sample`` signature
at each ``--concurrency``, for ``--seconds`` per configuration:

* ``in-process``: the same SavedModel's ``sample`` signature called directly in
  this process (no serialisation, no network: the bound);
* ``grpc`` / ``grpc+batching``: :class:`keras_gan.serving.GrpcSampleClient`;
* ``rest`` / ``rest+batching``: :class:`keras_gan.serving.SampleClient` (JSON).

Each concurrent client is its own process (its own GIL, its own connections),
started once for the whole run and warmed up on each configuration before the
clock starts. Reported per configuration: p50 and p99 latency of a request
(client side, including decoding) and samples/s; with batching, the ratio of
its throughput to the unbatched one and of its p99 to the unbatched p50.

``--png`` then compares, at ``--png-samples`` (256) per request over REST,
``sample_png`` (PNG strings, ``{"b64": ...}``) with ``sample`` (float JSON) and
gRPC floats: bytes on the wire and latency.

The grid of the issue (sizes 1 4 16 64, concurrency 1 8 16, about 12 minutes on
2 cores at 2 s per configuration)::

    python benchmarks/serving.py --sizes 1 4 16 64 --concurrency 1 8 16 --seconds 2 --png

Quick check::

    python benchmarks/serving.py --sizes 16 --concurrency 1 4 --seconds 1
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
def _client_worker(commands, ready, results, start_at):
    """A client process for the whole run: for each command, warm up, report
    ready, wait for the start time, send requests until the deadline."""
    from keras_gan.serving import GrpcSampleClient, SampleClient

    clients = {}
    while True:
        command = commands.get()
        if command is None:
            break
        transport, address, model, size, seed0, seconds = command
        key = (transport, address)
        if key not in clients:
            clients[key] = (
                SampleClient(address, model=model)
                if transport == "rest"
                else GrpcSampleClient(address, model=model)
            )
        client = clients[key]
        client.sample(size, seed=seed0)  # connection and first-call costs
        ready.put(True)
        while time.time() < start_at.value:
            time.sleep(0.0005)
        latencies = []
        deadline = start_at.value + seconds
        i = 0
        while time.time() < deadline:
            t = time.perf_counter()
            images = client.sample(size, seed=seed0 + i)
            latencies.append(time.perf_counter() - t)
            assert images.shape[0] == size
            i += 1
        results.put((time.time(), latencies))
    for client in clients.values():
        client.close()


class ClientPool:
    """``n`` client processes, started once (importing gRPC and the protos
    costs seconds of CPU per process)."""

    def __init__(self, n):
        ctx = mp.get_context("spawn")
        self.results = ctx.Queue()
        self.ready = ctx.Queue()
        self.start_at = ctx.Value("d", 0.0)
        self.queues = [ctx.Queue() for _ in range(n)]
        self.procs = [
            ctx.Process(
                target=_client_worker,
                args=(q, self.ready, self.results, self.start_at),
                daemon=True,
            )
            for q in self.queues
        ]
        for p in self.procs:
            p.start()

    def run(self, transport, address, model, size, concurrency, seconds):
        """``(wall seconds, latencies)`` of ``concurrency`` clients for ``seconds``."""
        self.start_at.value = time.time() + 3600.0  # set once every client is warm
        for i in range(concurrency):
            self.queues[i].put((transport, address, model, size, 1000 * (i + 1), seconds))
        for _ in range(concurrency):
            self.ready.get(timeout=600)
        begin = time.time() + 0.2
        self.start_at.value = begin
        outcomes = [self.results.get(timeout=600) for _ in range(concurrency)]
        ends, latencies = zip(*outcomes)
        return max(ends) - begin, [x for lat in latencies for x in lat]

    def close(self):
        for q in self.queues:
            q.put(None)
        for p in self.procs:
            p.join(timeout=30)


def run_in_process(signature, size, concurrency, seconds, batcher=None, loaded=None):
    """Threads calling the signature directly; with ``batcher``, through the
    server's batcher (the merging without any transport)."""
    import tensorflow as tf

    def call(seed):
        if batcher is not None:
            arrays = {"num_samples": np.int32(size), "seed": np.int64(seed)}
            return batcher.run(loaded, "sample", loaded.signatures["sample"], arrays)["images"]
        out = signature(num_samples=tf.constant(size), seed=tf.constant(seed, tf.int64))
        return out["images"].numpy()

    call(0)
    latencies, lock = [], threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def worker(offset):
        mine = []
        barrier.wait()
        i = 0
        while time.perf_counter() < deadline[0]:
            t = time.perf_counter()
            call(offset + i)
            mine.append(time.perf_counter() - t)
            i += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(1000 * (i + 1),)) for i in range(concurrency)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    deadline[0] = start + seconds
    barrier.wait()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies


# ------------------------------------------------------------------ server
def start_server(base_dir, model, threads, batching=None):
    """A ``keras-gan serve`` process; ``batching``: a BatchingParameters file."""
    import subprocess

    import requests

    from keras_gan.serving.server import free_port

    grpc_port, rest_port = free_port(), free_port()
    log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
    extra = ["--enable_batching", "--batching_parameters_file", batching] if batching else []
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "keras_gan", "serve",
            "--host", "127.0.0.1", "--port", str(grpc_port), "--rest_api_port", str(rest_port),
            "--model_name", model, "--model_base_path", base_dir,
            "--max_num_samples", "4096", "--num_request_threads", str(threads), *extra,
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
                proc.log = log.name
                return proc, f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{rest_port}"
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"keras-gan serve not ready; see {log.name}")


def wait_for_probe(proc, timeout=300):
    """Until the batched server logged its batching probe (merging starts then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(proc.log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for line in text.splitlines():
            if " request sizes merge bit-exactly" in line:
                return line.split("INFO keras_gan.serving: ")[-1]
        time.sleep(0.5)
    raise RuntimeError(f"no batching probe result in {proc.log}")


def png_comparison(rest_url, grpc_target, model, n, repeats):
    """Bytes and latency at ``n`` samples: REST sample_png, REST floats, gRPC floats."""
    import requests

    from keras_gan.serving import GrpcSampleClient

    rows = []
    session = requests.Session()
    for name, signature in (("rest sample_png", "sample_png"), ("rest sample (floats)", "sample")):
        body = {"signature_name": signature, "inputs": {"num_samples": n, "seed": 0}}
        url = f"{rest_url}/v1/models/{model}:predict"
        session.post(url, json=body).raise_for_status()
        times, size = [], 0
        for i in range(repeats):
            body["inputs"]["seed"] = i
            t = time.perf_counter()
            r = session.post(url, json=body)
            r.raise_for_status()
            if signature == "sample":
                np.asarray(r.json()["outputs"], np.float32)  # decoded, as a client does
            else:
                [len(x["b64"]) for x in r.json()["outputs"]]
            times.append(time.perf_counter() - t)
            size = len(r.content)
        rows.append({"what": name, "bytes": size, "p50_ms": 1000 * statistics.median(times)})
    with GrpcSampleClient(grpc_target, model=model) as client:
        client.sample(n, seed=0)
        times = []
        for i in range(repeats):
            t = time.perf_counter()
            client.sample(n, seed=i)
            times.append(time.perf_counter() - t)
    rows.append(
        {
            "what": "grpc sample (floats)",
            "bytes": n * 784 * 4,
            "p50_ms": 1000 * statistics.median(times),
        }
    )
    return rows


# ------------------------------------------------------------------ main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--seconds", type=float, default=2.0, help="per configuration")
    parser.add_argument("--transports", nargs="+", default=list(TRANSPORTS), choices=TRANSPORTS)
    parser.add_argument("--model-dir", help="an exported version directory (default: export one)")
    parser.add_argument("--server-threads", type=int, default=4, help="--num_request_threads")
    parser.add_argument("--max-batch-size", type=int, default=64)
    parser.add_argument("--batch-timeout-micros", type=int, default=0)
    parser.add_argument("--num-batch-threads", type=int, default=1)
    parser.add_argument("--png", action="store_true", help="also compare PNG and float answers")
    parser.add_argument("--png-samples", type=int, default=256)
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
    from keras_gan.serving.batching import Batcher, BatchingParameters
    from keras_gan.serving.registry import load_version

    loaded = load_version(model, 1, version_dir)
    batcher = Batcher(
        BatchingParameters(
            max_batch_size=args.max_batch_size,
            batch_timeout_micros=args.batch_timeout_micros,
            num_batch_threads=args.num_batch_threads,
        )
    )
    batcher.run(
        loaded,
        "sample",
        loaded.signatures["sample"],
        {"num_samples": np.int32(1), "seed": np.int64(0)},
    )
    while batcher._probe(loaded) is None:  # the probe runs in the background
        time.sleep(0.2)
    batching_file = os.path.join(tmp, "batching.config")
    with open(batching_file, "w") as f:
        f.write(
            f"max_batch_size {{ value: {args.max_batch_size} }}\n"
            f"batch_timeout_micros {{ value: {args.batch_timeout_micros} }}\n"
            f"num_batch_threads {{ value: {args.num_batch_threads} }}\n"
        )
    servers = {}
    remote = [t for t in args.transports if t != "in-process"]
    pool = None
    rows, png_rows, probe = [], [], None
    try:
        if remote:
            servers["plain"] = start_server(base_dir, model, args.server_threads)
            servers["batching"] = start_server(base_dir, model, args.server_threads, batching_file)
            # The probe starts with the first request.
            from keras_gan.serving import SampleClient

            with SampleClient(servers["batching"][2], model=model) as c:
                c.sample(1, seed=0)
            probe = wait_for_probe(servers["batching"][0])
            print(f"batching: {probe}", flush=True)
            pool = ClientPool(max(args.concurrency))
        for size in args.sizes:
            for concurrency in args.concurrency:
                plain = {}
                for transport in args.transports:
                    for mode in ("plain", "batching"):
                        if transport == "in-process":
                            wall, lat = run_in_process(
                                signature, size, concurrency, args.seconds,
                                batcher=batcher if mode == "batching" else None, loaded=loaded,
                            )  # fmt: skip
                            name = transport if mode == "plain" else f"{transport}+batching"
                        else:
                            _, grpc_target, rest_url = servers[mode]
                            address = grpc_target if transport == "grpc" else rest_url
                            wall, lat = pool.run(
                                transport, address, model, size, concurrency, args.seconds
                            )
                            name = transport if mode == "plain" else f"{transport}+batching"
                        row = {
                            "transport": name,
                            "samples": size,
                            "concurrency": concurrency,
                            "requests": len(lat),
                            "p50_ms": 1000 * statistics.median(lat),
                            "p99_ms": 1000 * percentile(lat, 99),
                            "samples_per_s": size * len(lat) / wall,
                        }
                        if mode == "plain":
                            plain[transport] = row
                        else:
                            base = plain[transport]
                            row["speedup"] = row["samples_per_s"] / base["samples_per_s"]
                            row["p99_vs_plain_p50"] = row["p99_ms"] / base["p50_ms"]
                        rows.append(row)
                        extra = (
                            f"  x{row['speedup']:.2f} throughput, p99/plain p50 "
                            f"{row['p99_vs_plain_p50']:.2f}"
                            if "speedup" in row
                            else ""
                        )
                        print(
                            f"{name:>14}  n={size:<4} c={concurrency:<2} "
                            f"p50 {row['p50_ms']:8.2f} ms  p99 {row['p99_ms']:8.2f} ms  "
                            f"{row['samples_per_s']:9.0f} samples/s{extra}",
                            flush=True,
                        )
        if args.png and remote:
            _, grpc_target, rest_url = servers["plain"]
            png_rows = png_comparison(rest_url, grpc_target, model, args.png_samples, 20)
    finally:
        if pool is not None:
            pool.close()
        for proc, _, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=60)
    print()
    print("| transport | samples/request | concurrency | p50 ms | p99 ms | samples/s "
          "| batching speedup | batched p99 / plain p50 |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        speedup = f"{r['speedup']:.2f}" if "speedup" in r else ""
        tail = f"{r['p99_vs_plain_p50']:.2f}" if "p99_vs_plain_p50" in r else ""
        print(
            f"| {r['transport']} | {r['samples']} | {r['concurrency']} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['samples_per_s']:.0f} | {speedup} | {tail} |"
        )
    if png_rows:
        print()
        print(f"| {args.png_samples} samples | bytes | p50 ms |")
        print("|---|---:|---:|")
        for r in png_rows:
            print(f"| {r['what']} | {r['bytes']:,} | {r['p50_ms']:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"argv": sys.argv[1:], "probe": probe, "results": rows, "png": png_rows},
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
