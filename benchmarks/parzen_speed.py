"""Speed of the Parzen-window log-likelihood: keras_gan against plain NumPy.

Scores ``--data`` MNIST test digits under a Parzen window on ``--samples``
examples (MNIST training digits stand in for generated samples; the cost does
not depend on the values), 784 dimensions, one sigma, and reports for each
implementation the seconds, the achieved GFLOP/s (counting the ``2 n N d``
flops of the distance computation, the dominant term, for every
implementation), the peak memory (growth of the process' resident set during
the call, sampled every 5 ms; each implementation runs in a fresh subprocess)
and the largest difference from the float64 reference on any example.

Implementations:

* ``keras_gan``: :func:`keras_gan.metrics.parzen_log_likelihood` (precision
  "auto": a float32 matrix product here), and ``keras_gan_f64`` (float64).
* ``keras_gan_grid20``: sigma selection over the default 20-value grid
  (:func:`~keras_gan.metrics.select_parzen_sigma`), for the cost of the grid.
* ``numpy_blas``: plain NumPy with the same expansion ``||x||^2 - 2 x.s + ||s||^2``
  in float64 through NumPy's BLAS (OpenBLAS) and ``scipy.special.logsumexp``,
  1,000 data rows at a time.
* ``numpy_direct``: the explicit-difference formulation of the paper's
  evaluation code, ``logsumexp(-0.5 * sum(((x - s) / sigma)^2))``, 10 data rows at
  a time; run on ``--direct-data`` rows (default 500) and its time scaled to
  ``--data`` rows (marked "extrapolated").

Full size (the issue's 10,000 x 10,000 x 784; about 3 minutes)::

    python benchmarks/parzen_speed.py

Quick check::

    python benchmarks/parzen_speed.py --samples 2000 --data 2000 --direct-data 100
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _memory import PeakRSS  # noqa: E402  (benchmarks/, this script's directory)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

IMPLEMENTATIONS = ("keras_gan", "keras_gan_f64", "keras_gan_grid20", "numpy_blas", "numpy_direct")
SIGMA = 0.2


def load(num_samples, num_data):
    import numpy as np

    from keras_gan.data import load_arrays

    train, _ = load_arrays("mnist", f"train[:{num_samples}]")
    test, _ = load_arrays("mnist", f"test[:{num_data}]")
    return train.reshape(len(train), -1), test.reshape(len(test), -1).astype(np.float32)


def numpy_blas(samples, data, sigma, rows=1000):
    import numpy as np
    from scipy.special import logsumexp

    s = samples.astype(np.float64)
    ss = np.einsum("ij,ij->i", s, s)
    out = []
    for start in range(0, len(data), rows):
        x = data[start : start + rows].astype(np.float64)
        d2 = np.einsum("ij,ij->i", x, x)[:, None] - 2.0 * x @ s.T + ss[None, :]
        np.maximum(d2, 0.0, out=d2)
        out.append(logsumexp(-d2 / (2 * sigma**2), axis=1))
    d = samples.shape[1]
    return np.concatenate(out) - math.log(len(s)) - 0.5 * d * math.log(2 * math.pi * sigma**2)


def numpy_direct(samples, data, sigma, rows=10):
    import numpy as np
    from scipy.special import logsumexp

    s = samples.astype(np.float64)
    out = []
    for start in range(0, len(data), rows):
        x = data[start : start + rows].astype(np.float64)
        a = (x[:, None, :] - s[None, :, :]) / sigma
        out.append(logsumexp(-0.5 * (a**2).sum(2), axis=1))
    d = samples.shape[1]
    return np.concatenate(out) - math.log(len(s)) - 0.5 * d * math.log(2 * math.pi * sigma**2)


def run_one(name, args):
    """Run one implementation in this (fresh) process; return its record."""
    import numpy as np

    from keras_gan.metrics import parzen_log_density, select_parzen_sigma

    samples, data = load(args.samples, args.data)
    n_scored = len(data)
    if name == "numpy_direct":
        data = data[: args.direct_data]
    functions = {
        "keras_gan": lambda: parzen_log_density(samples, data, SIGMA),
        "keras_gan_f64": lambda: parzen_log_density(samples, data, SIGMA, precision="float64"),
        "keras_gan_grid20": lambda: select_parzen_sigma(samples, data),
        "numpy_blas": lambda: numpy_blas(samples, data, SIGMA),
        "numpy_direct": lambda: numpy_direct(samples, data, SIGMA),
    }
    if name.startswith("keras_gan"):  # build the tf.function outside the timing
        parzen_log_density(samples[:10], data[:10], SIGMA)
        parzen_log_density(samples[:10], data[:10], SIGMA, precision="float64")
    with PeakRSS(interval=0.005) as mem:
        start = time.perf_counter()
        values = functions[name]()
        seconds = time.perf_counter() - start
    record = dict(name=name, seconds=seconds, peak_mb=mem.growth / 1e6, rows=len(data))
    if len(data) < n_scored:
        record["extrapolated_from_rows"] = len(data)
        record["seconds"] = seconds * n_scored / len(data)
    flops = 2.0 * n_scored * len(samples) * samples.shape[1]
    record["gflops"] = flops / record["seconds"] / 1e9
    if name != "keras_gan_grid20":
        reference = numpy_blas(samples, data, SIGMA)
        record["max_abs_diff_nats"] = float(np.abs(np.asarray(values) - reference).max())
        record["mean"] = float(np.mean(values))
    return record


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=10_000)
    p.add_argument("--data", type=int, default=10_000)
    p.add_argument("--direct-data", type=int, default=500)
    p.add_argument("--only", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    p.add_argument("--out", help="write the JSON records to this file")
    args = p.parse_args(argv)
    if args.only:
        print("RESULT " + json.dumps(run_one(args.only, args)))
        return
    records = []
    for name in IMPLEMENTATIONS:
        cmd = [sys.executable, os.path.abspath(__file__), "--only", name]
        cmd += ["--samples", str(args.samples), "--data", str(args.data)]
        cmd += ["--direct-data", str(args.direct_data)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode or not lines:
            raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
        records.append(json.loads(lines[-1][len("RESULT ") :]))
    base = next(r for r in records if r["name"] == "numpy_blas")["seconds"]
    print(
        f"Parzen log-likelihood, {args.samples} samples x {args.data} points x 784 dims, "
        f"sigma {SIGMA}:"
    )
    print(
        f"{'implementation':<18}{'seconds':>9}{'GFLOP/s':>9}{'vs numpy_blas':>14}"
        f"{'peak MB':>9}{'max |diff| nats':>17}"
    )
    for r in records:
        note = (
            f"  (extrapolated from {r['extrapolated_from_rows']} rows)"
            if ("extrapolated_from_rows" in r)
            else ""
        )
        diff = f"{r['max_abs_diff_nats']:.2e}" if "max_abs_diff_nats" in r else "-"
        print(
            f"{r['name']:<18}{r['seconds']:>9.2f}{r['gflops']:>9.1f}{base / r['seconds']:>13.2f}x"
            f"{r['peak_mb']:>9.0f}{diff:>17}{note}"
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
