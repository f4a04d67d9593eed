"""Data-parallel scaling: measured on this machine's CPU cores, simulated beyond.

Measured (``--measure``, the default): training steps per second of the
paper's MNIST GAN (``mnist_mlp`` networks: generator 100-1200-1200-784, maxout
discriminator) and the DCGAN (``fashion_mnist_dcgan`` networks) with

* ``r1``: one replica (TensorFlow's default strategy, one CPU device);
* ``r2``: two replicas, ``tf.distribute.MirroredStrategy`` over two logical CPU
  devices (``tf.config.set_logical_device_configuration``), as
  ``keras-gan train --strategy mirrored`` builds it
  (:func:`keras_gan.distribute.build_strategy`);
* ``w2`` (``--settings ... w2``): two local worker processes,
  ``MultiWorkerMirroredStrategy`` over ``TF_CONFIG`` on 127.0.0.1 ports, as
  ``keras-gan train --strategy multi_worker`` builds it, the chief's timing.

Each setting is a fresh subprocess (logical devices and collectives are set at
program start), built as ``keras-gan train`` builds the model
(:func:`keras_gan.training.build_model` under the strategy's scope, batch norm
synchronized across replicas), but fed **synthetic data** of the right shape
(one uniform batch in the data's value range, repeated: no data loading cost),
with the configured per-replica batch (global batch = per-replica x replicas).
After ``--warmup`` steps it times ``--seconds`` of steps (the step count is set
from the warm-up's rate). Settings run in rounds whose order alternates
(``r1 r2``, ``r2 r1``, ...) and the report gives the median and the ratio of
each round's pair: the machine's speed drifts.

Also measured per setting: the all-reduce of gradients of exactly the two
networks' variable shapes, alone (``ReplicaContext.all_reduce`` in a
``tf.function`` under ``strategy.run``), which is the communication one step
adds (with ``d_steps = 1``: D's gradients once and G's once).

Simulated (:func:`simulate`, pure arithmetic, always printed): the all-reduce
volume per step of the MLP, DCGAN and ResNet networks (parameter counts from
the package's builders: ``(P_G + k P_D) x 4`` bytes, float32 gradients, ``k``
discriminator updates per step) and the step time it implies at 8 GPUs x N
machines with the ring all-reduce cost model (see :func:`allreduce_seconds`).

Example::

    python benchmarks/scaling.py                      # measure + simulate, ~8 min
    python benchmarks/scaling.py --simulate-only      # the table alone, ~20 s
    python benchmarks/scaling.py --settings r1 w2     # with two local workers
    python benchmarks/scaling.py --replot run.txt     # the tables of a saved output
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from benchmarks._cli import positive_int  # noqa: E402

#: Networks measured: name -> config whose networks, batch and optimizers are used.
MEASURED = {"mlp": "mnist_mlp", "dcgan": "fashion_mnist_dcgan"}

#: Networks simulated: name -> config (the ResNet: WGAN-GP's CIFAR-10 networks).
SIMULATED = {
    "mlp": "mnist_mlp",
    "dcgan": "fashion_mnist_dcgan",
    "resnet": "cifar10_wgan_gp_resnet",
}

#: Interconnects of the simulation: name -> bytes per second of one link.
LINKS = {
    "10GbE": 10e9 / 8,
    "25GbE": 25e9 / 8,
    "100GbE": 100e9 / 8,
}

#: NVLink inside one 8-GPU machine (V100 DGX-1 class: ~300 GB/s per GPU).
NVLINK = 300e9

#: Sustained float32 matrix-multiply rate assumed for one GPU: half of an
#: A100's 19.5 TFLOP/s float32 peak (NVIDIA A100 datasheet), a typical
#: sustained share for these small convolutions and dense layers.
GPU_FLOPS = 9.75e12

MACHINES = (1, 2, 4, 8, 16)
GPUS_PER_MACHINE = 8


# ---------------------------------------------------------------- simulation
def allreduce_seconds(volume_bytes, replicas, bandwidth):
    """Ring all-reduce time, bandwidth term only: ``2 (p - 1) / p x V / B``.

    Every replica sends and receives ``2 (p - 1) / p x V`` bytes (reduce-scatter
    then all-gather of ``p`` chunks) over its slowest link of ``B`` bytes/s.
    Latency (``2 (p - 1)`` messages) and overlap with the backward pass are
    ignored: a lower bound on the exposed time when nothing overlaps.
    """
    if replicas <= 1:
        return 0.0
    return 2.0 * (replicas - 1) / replicas * volume_bytes / bandwidth


def simulate(networks, machines=MACHINES, links=LINKS, gpus=GPUS_PER_MACHINE):
    """Rows of the scaling table.

    Args:
        networks: name -> dict with ``volume`` (bytes all-reduced per step) and
            ``compute`` (GPU seconds per step of one replica).
        machines: the N of 8 GPUs x N machines.
        links: inter-machine link name -> bytes/s. With N = 1 the ring runs
            over NVLink (:data:`NVLINK`); with N > 1 a flat ring over all
            ``8 N`` GPUs is bounded by the inter-machine link (each machine's
            ring crosses it once each way, as NCCL's ring does).

    Returns:
        ``[dict(network, link, machines, replicas, compute, comm, step,
        efficiency, comm_dominates)]``, ``efficiency = compute / step`` (the
        weak-scaling efficiency with no overlap).
    """
    rows = []
    for name, net in networks.items():
        for link, bandwidth in links.items():
            for n in machines:
                p = gpus * n
                comm = allreduce_seconds(net["volume"], p, NVLINK if n == 1 else bandwidth)
                step = net["compute"] + comm
                rows.append(
                    dict(
                        network=name,
                        link="NVLink" if n == 1 else link,
                        machines=n,
                        replicas=p,
                        compute=net["compute"],
                        comm=comm,
                        step=step,
                        efficiency=net["compute"] / step,
                        comm_dominates=comm > net["compute"],
                    )
                )
    return rows


def network_sizes(names=SIMULATED):
    """name -> parameters of G and D, ``k``, batch, all-reduce bytes, step FLOPs."""
    import numpy as np

    from keras_gan import flops, training
    from keras_gan.config import load_config

    sizes = {}
    for name, config_name in names.items():
        cfg = load_config(config_name)
        g, d = training.build_networks(cfg)
        count = [int(sum(np.prod(w.shape) for w in net.trainable_weights)) for net in (g, d)]
        k, m = cfg.training.d_steps, cfg.training.batch_size
        sizes[name] = dict(
            config=config_name,
            g_params=count[0],
            d_params=count[1],
            d_steps=k,
            batch=m,
            volume=4 * (count[0] + k * count[1]),
            flops=flops.training_step_flops(g, d, m, k),
        )
        sizes[name]["compute"] = sizes[name]["flops"] / GPU_FLOPS
    return sizes


def print_simulation(sizes):
    print(f"\n## Simulation: ring all-reduce, GPU at {GPU_FLOPS / 1e12:.2f} TFLOP/s sustained")
    print(
        "| network | P_G | P_D | k | batch | all-reduce MB/step | GFLOP/step | GPU ms/step "
        "| link where comm = compute (Gb/s) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, s in sizes.items():
        print(
            f"| {name} ({s['config']}) | {s['g_params']:,} | {s['d_params']:,} | {s['d_steps']} "
            f"| {s['batch']} | {s['volume'] / 1e6:.1f} | {s['flops'] / 1e9:.1f} "
            f"| {s['compute'] * 1e3:.2f} | {8 * 2 * s['volume'] / s['compute'] / 1e9:.0f} |"
        )
    rows = simulate(sizes)
    print(
        "\nStep ms (compute + exposed all-reduce) and efficiency compute/step; * = comm > compute"
    )
    header = " | ".join(f"{n}x8" for n in MACHINES)
    print(f"| network | link | {header} |")
    print("| --- | --- |" + " ---: |" * len(MACHINES))
    for name in sizes:
        for link in LINKS:
            cells = []
            for n in MACHINES:
                (r,) = [
                    r
                    for r in rows
                    if r["network"] == name and r["machines"] == n and (n == 1 or r["link"] == link)
                ][:1]
                star = "*" if r["comm_dominates"] else ""
                cells.append(f"{r['step'] * 1e3:.1f} ({r['efficiency']:.0%}){star}")
            print(f"| {name} | {link} (1x8: NVLink) | " + " | ".join(cells) + " |")
    return rows


# ---------------------------------------------------------------- measurement
def _worker(spec):
    """One setting in this (fresh) process; prints one JSON line."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    setting = spec["setting"]
    if setting == "r2":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
    from keras_gan import distribute, training
    from keras_gan.config import load_config

    name = {"r1": "default", "r2": "mirrored", "w2": "multi_worker"}[setting]
    strategy = distribute.build_strategy(name, connect_timeout=120)
    replicas = distribute.num_replicas(strategy)
    workers = 2 if setting == "w2" else 1
    cfg = load_config(spec["config"])
    with strategy.scope():
        model = training.build_model(cfg)
    if replicas * workers > 1:
        distribute.synchronize_batch_norm(model.generator, model.discriminator)
    distribute.multi_worker_step_outputs(model)  # as keras-gan train does
    t = cfg.training
    per_replica = t.batch_size * t.d_steps
    global_batch = per_replica * replicas  # replicas counts all workers' replicas
    low, high = cfg.dataset.value_range
    shape = (global_batch, *training.example_shape(cfg.dataset))
    images = tf.random.uniform(shape, low, high, seed=0)
    dataset = tf.data.Dataset.from_tensors(images).repeat()
    if setting == "w2":
        dataset = distribute.shard_by_data(dataset.unbatch().batch(global_batch))

    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=spec["warmup"], verbose=0)
    warm = time.perf_counter() - start
    model.fit(dataset, epochs=1, steps_per_epoch=spec["warmup"], verbose=0)
    rate = spec["warmup"] / max(time.perf_counter() - start - warm, 1e-3)
    steps = max(10, int(rate * spec["seconds"]))
    if setting == "w2":  # every worker must run the same number of steps: their mean
        total = strategy.reduce("SUM", strategy.run(lambda: tf.constant(steps, tf.int64)), None)
        steps = int(total.numpy()) // workers
    load = os.getloadavg()[0]
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    seconds = time.perf_counter() - start

    shapes = [w.shape for w in model.discriminator.trainable_weights] * t.d_steps + [
        w.shape for w in model.generator.trainable_weights
    ]
    grads = [tf.random.normal(s, seed=1) for s in shapes]

    @tf.function
    def allreduce():
        def body():
            ctx = tf.distribute.get_replica_context()
            return tf.add_n([tf.reduce_sum(g) for g in ctx.all_reduce("SUM", grads)])

        return strategy.run(body)

    allreduce()
    reps = 20
    t0 = time.perf_counter()
    for _ in range(reps):
        out = allreduce()
    tf.nest.map_structure(lambda x: x.numpy() if hasattr(x, "numpy") else x, out)
    reduce_seconds = (time.perf_counter() - t0) / reps
    print(
        json.dumps(
            dict(
                steps=steps,
                seconds=seconds,
                steps_per_s=steps / seconds,
                examples_per_s=steps * global_batch / seconds,
                replicas=replicas,
                per_replica_batch=per_replica,
                allreduce_ms=reduce_seconds * 1e3,
                allreduce_mb=4 * sum(int(tf.reduce_prod(s)) for s in shapes) / 1e6,
                load=[load, os.getloadavg()[0]],
            )
        ),
        flush=True,
    )


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_setting(config, setting, args):
    spec = dict(config=config, setting=setting, warmup=args.warmup, seconds=args.seconds)
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(PYTHONPATH=REPO + os.pathsep + env.get("PYTHONPATH", ""), TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    if setting != "w2":
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        procs = [proc]
    else:
        workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
        running = []
        for i in range(2):
            tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}
            running.append(
                subprocess.Popen(
                    cmd,
                    env=dict(env, TF_CONFIG=json.dumps(tf_config)),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        procs = []
        for p in running:
            out, err = p.communicate(timeout=600)
            procs.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    proc = procs[0]
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        return dict(error=f"exit {proc.returncode}: {' / '.join(tail)}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(args):
    results = {}
    for net, config in MEASURED.items():
        if net not in args.networks:
            continue
        runs = {s: [] for s in args.settings}
        for r in range(args.rounds):
            order = args.settings if r % 2 == 0 else args.settings[::-1]
            for setting in order:
                rec = _run_setting(config, setting, args)
                runs[setting].append(rec)
                print(f"{net} round {r} {setting}: {json.dumps(rec)}", flush=True)
        results[net] = runs
    return results


def print_measurement(results):
    print("\n## Measured (synthetic data, per-replica batch as configured)")
    print(
        "| network | setting | replicas | steps/s | examples/s | ratio to r1 (paired) "
        "| s/step | overhead vs 2 x r1 s/step (paired) | all-reduce alone ms |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for net, runs in results.items():
        base = [r.get("steps_per_s") for r in runs.get("r1", [])]
        for setting, recs in runs.items():
            ok = [r for r in recs if "error" not in r]
            if not ok:
                print(f"| {net} | {setting} | | failed: {recs[0]['error']} | | | | | |")
                continue
            sps = statistics.median(r["steps_per_s"] for r in ok)
            eps = statistics.median(r["examples_per_s"] for r in ok)
            ratios = [
                r["steps_per_s"] / b
                for r, b in zip(recs, base)
                if "error" not in r and b is not None
            ]
            ratio = "/".join(f"{x:.2f}" for x in ratios)
            # Two replicas on the same cores do twice one replica's work: the
            # ideal step takes 2 x r1's; the rest is the replicas' overhead.
            over = [
                1 / r["steps_per_s"] - ok[0]["replicas"] / b
                for r, b in zip(recs, base)
                if "error" not in r and b is not None
            ]
            over = "/".join(f"{x * 1e3:+.1f} ms" for x in over)
            ar = statistics.median(r["allreduce_ms"] for r in ok)
            print(
                f"| {net} | {setting} | {ok[0]['replicas']} | {sps:.2f} | {eps:.0f} | {ratio} "
                f"| {1 / sps:.3f} | {over} | {ar:.2f} ({ok[0]['allreduce_mb']:.1f} MB) |"
            )


def _read_log(path):
    """The results of the per-run lines (``net round r setting: {json}``) of a log."""
    results = {}
    with open(path) as f:
        for line in f:
            head, sep, rec = line.partition(": ")
            words = head.split()
            if sep and len(words) == 4 and words[1] == "round":
                runs = results.setdefault(words[0], {})
                runs.setdefault(words[3], []).append(json.loads(rec))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--simulate-only", action="store_true")
    parser.add_argument("--replot", help="print the tables of an earlier run's output file")
    parser.add_argument("--networks", nargs="+", default=list(MEASURED), choices=list(MEASURED))
    parser.add_argument("--settings", nargs="+", default=["r1", "r2"], choices=["r1", "r2", "w2"])
    parser.add_argument("--rounds", type=positive_int, default=2)
    parser.add_argument("--warmup", type=positive_int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(json.loads(args.worker))
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.replot:
        results = _read_log(args.replot)
    else:
        results = None if args.simulate_only else measure(args)
    sizes = network_sizes()
    if results:
        print_measurement(results)
    print_simulation(sizes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
