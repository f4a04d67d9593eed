"""Feature metrics (FID, KID, IS, P/R, D/C): agreement with the reference code, and speed.

Four sections (``--sections``, all by default), each printing a table:

* ``agreement``: every metric of :mod:`keras_gan.metrics` against the
  reference implementations' own functions, called on the SAME features
  (float32 draws, given to every implementation as the same float64 arrays):

  - FID against pytorch-fid's ``calculate_frechet_distance`` (``scipy.linalg.
    sqrtm``) and torch-fidelity's ``fid_statistics_to_metric`` (eigenvalues of
    ``S_a S_b``), on the same ``(mu, sigma)`` (``np.mean`` / ``np.cov``, as both
    compute them), and end to end from the features (each computing its own
    statistics);
  - KID against torch-fidelity's ``kid_features_to_metric`` with one subset of
    all examples (the exact unbiased estimate, to rounding), against its
    ``kernel_mmd`` on the very subsets ``kernel_distance`` draws, and its own
    random subsets against the package's (same count and size; a statistical
    comparison: the difference over the standard error of the subset means);
  - IS against torch-fidelity's ``isc_features_to_metric`` on the same logits
    (``shuffle=False``: the package scores consecutive splits), from logits and
    from probabilities;
  - precision/recall against ``prdc.compute_prdc`` and torch-fidelity's
    ``prc_features_to_metric`` (k=3), density/coverage against
    ``prdc.compute_prdc`` (k=5). prdc uses ``<`` for precision/recall, the
    package and torch-fidelity ``<=``: without ties (continuous features) they
    agree. A difference is also given as a count of samples.

  Feature sets: correlated Gaussians (a power-law covariance spectrum, as
  network features have) in 2048-D (the InceptionV3 pool3 dimension) and in the
  MNIST classifier's feature dimension, non-negative (ReLU) features of two
  draws of one distribution (FID near its sampling bias), and, when
  :mod:`keras_gan.metrics.features` is there, the shipped MNIST classifier's
  features of MNIST train[:n] against test[:n].

* ``known``: prdc's README case, 10k vs 10k samples of N(0, I) in 1000-D with
  k=5 (README: precision 0.4772, recall 0.4705, density 1.0555, coverage
  0.9735), for ``--seeds`` draws, with prdc's own values on the same draws.

* ``speed``: seconds for FID, KID (100 subsets x 1000), P/R (k=3) and D/C (k=5)
  on ``--n`` x ``--n`` float32 features at 2048-D and at the classifier's
  dimension, and for the reference implementations on the same features (their
  native float32 input: pytorch-fid's and torch-fidelity's FID including their
  statistics, torch-fidelity's KID and PRC, prdc computing all four at once).
  ``--rounds`` rounds, the order rotating each round; the median and the range.

* ``extract``: feature-extraction throughput (images/s) of the shipped MNIST
  classifier and of InceptionV3 with random weights (``inception_v3(weights=
  None)``, resizing 28x28x1 to 299x299x3) on this CPU, after a warm-up batch;
  median over rounds.

The reference packages are the "bench" extra (``pip install -e ".[bench]"``):
prdc, pytorch-fid, torch-fidelity (and CPU torch). torchvision, which the last
two import at start-up, is on PyPI only as a build against CUDA torch that
fails to load beside the CPU wheel; none of the functions called here use it,
so when ``import torchvision`` fails the script stands a placeholder module in
for it (any use of the placeholder raises).

Full run (~25-30 min on 2 cores; prints the tables, writes ``--out``)::

    python benchmarks/metrics.py --out runs/metrics.json

Quick check (~1 min)::

    python benchmarks/metrics.py --n 2000 --known-n 2000 --seeds 2 --rounds 1 \\
        --out runs/metrics_quick.json
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.abc
import importlib.machinery
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _cli import positive_int  # noqa: E402  (benchmarks/, this script's directory)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not os.environ.get("KERAS_GAN_DATA_DIR"):
    _shared = os.path.join(os.path.dirname(REPO), "shared", "data")
    if os.path.isdir(_shared):
        os.environ["KERAS_GAN_DATA_DIR"] = _shared

SECTIONS = ("agreement", "known", "speed", "extract")
#: prdc's README: 10k vs 10k N(0, I) in 1000-D, k=5.
PRDC_README = {"precision": 0.4772, "recall": 0.4705, "density": 1.0555, "coverage": 0.9735}
#: The MNIST classifier's feature dimension when keras_gan.metrics.features does not say.
DEFAULT_CLASSIFIER_DIM = 128


# ---------------------------------------------------------------------------------------
# The reference implementations


class _Placeholder:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("torchvision is a placeholder in benchmarks/metrics.py")


class _PlaceholderModule(types.ModuleType):
    """A module whose lower-case attributes are submodules and the others classes."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name[:1].islower():
            value = importlib.import_module(f"{self.__name__}.{name}")
        else:
            value = type(name, (_Placeholder,), {})
        setattr(self, name, value)
        return value


class _PlaceholderFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _PlaceholderModule(spec.name)
        module.__path__ = []
        module.__version__ = "0.0"
        return module

    def exec_module(self, module):
        pass


def _torchvision_or_placeholder():
    """Import torchvision; if it cannot load (a CUDA build beside CPU torch), stand a
    placeholder in for it. Returns what was used."""
    try:
        import torchvision

        return f"torchvision {torchvision.__version__}"
    except Exception as error:  # noqa: BLE001  (RuntimeError/OSError from its C ops)
        for name in [n for n in sys.modules if n.split(".")[0] == "torchvision"]:
            del sys.modules[name]
        sys.meta_path.insert(0, _PlaceholderFinder())
        return f"placeholder (torchvision failed to import: {type(error).__name__}: {error})"


def references():
    """The reference functions, imported from the installed packages."""
    tv = _torchvision_or_placeholder()
    import prdc
    import torch
    from pytorch_fid.fid_score import calculate_frechet_distance
    from torch_fidelity import metric_fid, metric_isc, metric_kid, metric_prc

    ns = types.SimpleNamespace(
        torch=torch,
        torchvision=tv,
        compute_prdc=prdc.compute_prdc,
        pytorch_fid=calculate_frechet_distance,
        tf_fid_stats=metric_fid.fid_features_to_statistics,
        tf_fid=metric_fid.fid_statistics_to_metric,
        tf_kid=metric_kid.kid_features_to_metric,
        tf_kernel_mmd=metric_kid.kernel_mmd,
        tf_isc=metric_isc.isc_features_to_metric,
        tf_prc=metric_prc.prc_features_to_metric,
    )
    return ns


def versions():
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in (
        "numpy",
        "scipy",
        "scikit-learn",
        "tensorflow",
        "keras",
        "torch",
        "prdc",
        "pytorch-fid",
        "torch-fidelity",
        "torchvision",
    ):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _quiet(fn, *args, **kwargs):
    """Call ``fn`` with its stdout silenced (prdc prints the sample counts)."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def ref_pytorch_fid(ref, a, b):
    """pytorch-fid end to end: its statistics (np.mean, np.cov) and its distance."""
    import numpy as np

    mu1, s1 = np.mean(a, axis=0), np.cov(a, rowvar=False)
    mu2, s2 = np.mean(b, axis=0), np.cov(b, rowvar=False)
    return float(_quiet(ref.pytorch_fid, mu1, s1, mu2, s2))


def ref_fidelity_fid(ref, a, b):
    """torch-fidelity end to end: fid_features_to_statistics and fid_statistics_to_metric."""
    t = ref.torch
    s1 = ref.tf_fid_stats(t.from_numpy(a))
    s2 = ref.tf_fid_stats(t.from_numpy(b))
    return float(ref.tf_fid(s1, s2, False)["frechet_inception_distance"])


def ref_fidelity_kid(ref, a, b, subsets=100, subset_size=1000, seed=2020):
    t = ref.torch
    out = ref.tf_kid(
        t.from_numpy(a),
        t.from_numpy(b),
        kid_subsets=subsets,
        kid_subset_size=subset_size,
        rng_seed=seed,
        verbose=False,
    )
    return out["kernel_inception_distance_mean"], out["kernel_inception_distance_std"]


def ref_fidelity_prc(ref, real, fake, k=3):
    t = ref.torch
    out = ref.tf_prc(
        t.from_numpy(fake),  # torch-fidelity: features_1 generated, features_2 real
        t.from_numpy(real),
        prc_neighborhood=k,
        prc_batch_size=10000,
        save_cpu_ram=False,
        verbose=False,
    )
    return out["precision"], out["recall"]


def ref_prdc(ref, real, fake, k):
    return {key: float(v) for key, v in _quiet(ref.compute_prdc, real, fake, k).items()}


# ---------------------------------------------------------------------------------------
# Feature sets


def _power_law_basis(rng, d, alpha=1.0):
    """A random orthonormal basis and a power-law spectrum ``i^-alpha`` (scaled to trace d)."""
    import numpy as np

    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    spectrum = np.arange(1, d + 1, dtype=np.float64) ** -alpha
    return q, spectrum * d / spectrum.sum()


def _draw(rng, n, q, spectrum, mean=0.0):
    import numpy as np

    z = rng.normal(size=(n, len(spectrum)))
    return ((z * np.sqrt(spectrum)) @ q.T + mean).astype(np.float32)


def gaussian_pair(n, d, seed, shift=0.05, scale=0.2):
    """Correlated Gaussians: b's spectrum perturbed by up to ``scale`` and its mean
    shifted by ``shift`` in every coordinate."""
    import numpy as np

    rng = np.random.default_rng(seed)
    q, spectrum = _power_law_basis(rng, d)
    a = _draw(rng, n, q, spectrum)
    b_spectrum = spectrum * (1.0 + scale * rng.uniform(-1, 1, size=d))
    b = _draw(rng, n, q, b_spectrum, mean=shift)
    return a, b


def relu_pair(n, d, seed):
    """Two draws of one distribution of non-negative features (ReLU of a shifted
    correlated Gaussian, like pooled activations): FID is only its sampling bias."""
    import numpy as np

    rng = np.random.default_rng(seed)
    q, spectrum = _power_law_basis(rng, d)
    a = np.maximum(_draw(rng, n, q, spectrum, mean=0.5), 0.0)
    b = np.maximum(_draw(rng, n, q, spectrum, mean=0.5), 0.0)
    return a, b


def features_module():
    try:
        return importlib.import_module("keras_gan.metrics.features")
    except ImportError:
        return None


def classifier_dim(features):
    if features is None:
        return DEFAULT_CLASSIFIER_DIM, "default (keras_gan.metrics.features missing)"
    return int(features.mnist_classifier().feature_dim), "mnist_classifier().feature_dim"


def mnist_features(features, n):
    """The shipped classifier's features and logits of MNIST train[:n] and test[:n]."""
    import numpy as np

    from keras_gan.data import load_arrays

    clf = features.mnist_classifier()
    train, _ = load_arrays("mnist", f"train[:{n}]")
    test, _ = load_arrays("mnist", f"test[:{n}]")
    out = {}
    for name, images in (("train", train), ("test", test)):
        images = np.asarray(images, np.float32)
        if images.max() > 1.5:
            images = images / 255.0
        out[name] = np.asarray(clf.features(images), np.float32)
        out[name + "_logits"] = np.asarray(clf.logits(images), np.float32)
    return out


# ---------------------------------------------------------------------------------------
# Agreement


def _row(case, metric, reference, ours, theirs, note="", subject="keras_gan"):
    abs_diff = abs(ours - theirs)
    rel_diff = abs_diff / abs(theirs) if theirs else (0.0 if not abs_diff else float("inf"))
    return dict(
        case=case,
        metric=metric,
        subject=subject,
        reference=reference,
        value=float(ours),
        reference_value=float(theirs),
        abs_diff=float(abs_diff),
        rel_diff=float(rel_diff),
        note=note,
    )


def mp_frechet(mu1, s1, mu2, s2, dps=40):
    """FID of the given float64 statistics in ``dps``-digit arithmetic (mpmath):
    ``tr sqrt(S1^(1/2) S2 S1^(1/2))`` from two symmetric eigendecompositions.
    Dimensions of zero variance in ``S1`` (exactly zero rows and columns: constant
    features, e.g. dead ReLU units) are dropped first; they contribute nothing to
    the trace term. Returns ``(fid, dims_kept)``."""
    import mpmath
    import numpy as np

    keep = np.diag(s1) > 0
    mpmath.mp.dps = dps
    a = mpmath.matrix(s1[np.ix_(keep, keep)].tolist())
    b = mpmath.matrix(s2[np.ix_(keep, keep)].tolist())
    w, q = mpmath.eigsy(a)
    root = q * mpmath.diag([mpmath.sqrt(max(x, 0)) for x in w]) * q.T
    middle = root * b * root
    middle = (middle + middle.T) / 2
    trace_sqrt = mpmath.fsum(
        mpmath.sqrt(max(x, 0)) for x in mpmath.eigsy(middle, eigvals_only=True)
    )
    value = (
        mpmath.fsum((mpmath.mpf(x) - mpmath.mpf(y)) ** 2 for x, y in zip(mu1, mu2))
        + mpmath.fsum(mpmath.mpf(x) for x in np.diag(s1))
        + mpmath.fsum(mpmath.mpf(x) for x in np.diag(s2))
        - 2 * trace_sqrt
    )
    return float(value), int(keep.sum())


def agree_fid(ref, case, a, b, mp_max_dim=0):
    import numpy as np

    from keras_gan.metrics import frechet_distance, gaussian_statistics

    rows = []
    mu1, s1 = np.mean(a, axis=0), np.cov(a, rowvar=False)
    mu2, s2 = np.mean(b, axis=0), np.cov(b, rowvar=False)
    ours_stats = frechet_distance((mu1, s1), (mu2, s2))
    pfid = float(_quiet(ref.pytorch_fid, mu1, s1, mu2, s2))
    tfid = float(
        ref.tf_fid({"mu": mu1, "sigma": s1}, {"mu": mu2, "sigma": s2}, False)[
            "frechet_inception_distance"
        ]
    )
    rows.append(_row(case, "FID", "pytorch-fid (sqrtm)", ours_stats, pfid, "same (mu, sigma)"))
    rows.append(_row(case, "FID", "torch-fidelity", ours_stats, tfid, "same (mu, sigma)"))
    ours = frechet_distance(a, b)
    rows.append(_row(case, "FID", "pytorch-fid (sqrtm)", ours, pfid, "from features"))
    rows.append(
        _row(case, "FID", "torch-fidelity", ours, ref_fidelity_fid(ref, a, b), "from features")
    )
    if a.shape[1] <= mp_max_dim:
        start = time.perf_counter()
        exact, kept = mp_frechet(mu1, s1, mu2, s2)
        note = (
            f"same (mu, sigma); {kept} of {a.shape[1]} dims not constant"
            f" ({time.perf_counter() - start:.0f} s)"
        )
        ref_name = "mpmath 40 digits"
        rows.append(_row(case, "FID", ref_name, ours_stats, exact, note))
        rows.append(_row(case, "FID", ref_name, ours, exact, "from features"))
        rows.append(_row(case, "FID", ref_name, pfid, exact, note, subject="pytorch-fid"))
        rows.append(_row(case, "FID", ref_name, tfid, exact, note, subject="torch-fidelity"))
    ga = gaussian_statistics(a)
    rows.append(
        dict(
            case=case,
            metric="covariance",
            reference="np.cov",
            abs_diff=float(np.abs(ga.sigma - s1).max()),
            rel_diff=float(np.abs(ga.sigma - s1).max() / np.abs(s1).max()),
            note="max |sigma - np.cov| (relative to max |np.cov|)",
        )
    )
    return rows


def _package_subsets(n_a, n_b, num_subsets, subset_size, seed):
    """The subsets ``kernel_distance`` draws (its generator and order of calls)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [
        (rng.choice(n_a, subset_size, replace=False), rng.choice(n_b, subset_size, replace=False))
        for _ in range(num_subsets)
    ]


def agree_kid(ref, case, a, b, subsets=100, subset_size=1000):
    import numpy as np

    from keras_gan.metrics import kernel_distance

    rows = []
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]  # torch-fidelity's mmd2 needs square kernel matrices
    exact = kernel_distance(a, b, num_subsets=1, subset_size=n).mean
    theirs, _ = ref_fidelity_kid(ref, a, b, subsets=1, subset_size=n)
    rows.append(_row(case, "KID", "torch-fidelity", exact, theirs, f"one subset of all {n}"))
    subset_size = min(subset_size, n - 1)
    ours = kernel_distance(a, b, num_subsets=subsets, subset_size=subset_size, seed=0)
    values = [
        ref.tf_kernel_mmd(a[ia], b[ib], kid_kernel="poly")
        for ia, ib in _package_subsets(n, n, subsets, subset_size, 0)
    ]
    rows.append(
        _row(
            case,
            "KID",
            "torch-fidelity kernel_mmd",
            ours.mean,
            float(np.mean(values)),
            f"the package's {subsets} x {subset_size} subsets: mean",
        )
    )
    rows.append(
        _row(
            case,
            "KID std",
            "torch-fidelity kernel_mmd",
            ours.std,
            float(np.std(values)),
            f"the package's {subsets} x {subset_size} subsets: std",
        )
    )
    t_mean, t_std = ref_fidelity_kid(ref, a, b, subsets=subsets, subset_size=subset_size)
    se = float(np.sqrt((ours.std**2 + t_std**2) / subsets))
    row = _row(
        case,
        "KID",
        "torch-fidelity",
        ours.mean,
        t_mean,
        f"own random subsets ({subsets} x {subset_size}; seeds 0 / 2020)",
    )
    row["z"] = float((ours.mean - t_mean) / se) if se else 0.0
    row["std_keras_gan"], row["std_reference"] = ours.std, float(t_std)
    rows.append(row)
    return rows


def agree_is(ref, case, logits, splits=10):
    import numpy as np

    from keras_gan.metrics import inception_score

    t = ref.torch
    rows = []
    logits = np.asarray(logits, np.float64)
    theirs = ref.tf_isc(t.from_numpy(logits), splits=splits, shuffle=False)
    ours = inception_score(logits, splits=splits, from_logits=True)
    rows.append(
        _row(
            case,
            "IS",
            "torch-fidelity",
            ours.mean,
            theirs["inception_score_mean"],
            f"from logits, {splits} splits, n={len(logits)}",
        )
    )
    rows.append(
        _row(
            case, "IS std", "torch-fidelity", ours.std, theirs["inception_score_std"], "from logits"
        )
    )
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    ours_p = inception_score(p, splits=splits)
    theirs_p = ref.tf_isc(t.from_numpy(np.log(np.maximum(p, 1e-300))), splits=splits, shuffle=False)
    rows.append(
        _row(
            case,
            "IS",
            "torch-fidelity",
            ours_p.mean,
            theirs_p["inception_score_mean"],
            "from probabilities (log p as its logits)",
        )
    )
    return rows


def agree_knn(ref, case, real, fake):
    from keras_gan.metrics import density_coverage, precision_recall

    rows = []
    n = len(fake)
    pr = precision_recall(real, fake, k=3)
    dc = density_coverage(real, fake, k=5)
    p3 = ref_prdc(ref, real, fake, 3)
    p5 = ref_prdc(ref, real, fake, 5)
    t_p, t_r = ref_fidelity_prc(ref, real, fake, 3)
    for metric, ours, theirs, reference, count in (
        ("precision k=3", pr.precision, p3["precision"], "prdc", len(fake)),
        ("recall k=3", pr.recall, p3["recall"], "prdc", len(real)),
        ("precision k=3", pr.precision, t_p, "torch-fidelity", len(fake)),
        ("recall k=3", pr.recall, t_r, "torch-fidelity", len(real)),
        ("density k=5", dc.density, p5["density"], "prdc", 5 * n),
        ("coverage k=5", dc.coverage, p5["coverage"], "prdc", len(real)),
    ):
        row = _row(case, metric, reference, ours, theirs)
        row["samples_differing"] = round(abs(ours - theirs) * count)
        row["note"] = f"{row['samples_differing']} of {count} differ"
        rows.append(row)
    return rows


def section_agreement(args, ref, features):
    import numpy as np

    rows = []
    dim, _ = classifier_dim(features)
    cases = [
        (f"gaussian {args.n}x{args.dim_large}", gaussian_pair(args.n, args.dim_large, 1)),
        (f"relu same-dist {args.n}x{args.dim_large}", relu_pair(args.n, args.dim_large, 2)),
        (f"gaussian {args.n}x{dim}", gaussian_pair(args.n, dim, 3)),
    ]
    mnist = None
    if features is not None:
        mnist = mnist_features(features, args.n)
        cases.append((f"MNIST clf train/test {args.n}x{dim}", (mnist["train"], mnist["test"])))
    for case, (a, b) in cases:
        a, b = a.astype(np.float64), b.astype(np.float64)
        start = time.perf_counter()
        rows.extend(agree_fid(ref, case, a, b, args.mp_max_dim))
        rows.extend(agree_kid(ref, case, a, b))
        rows.extend(agree_knn(ref, case, a, b))
        print(f"  [{case}: {time.perf_counter() - start:.0f} s]", flush=True)
    rng = np.random.default_rng(4)
    n = args.n
    labels = rng.choice(10, size=n, p=np.arange(1, 11) / 55.0)
    is_cases = [
        (f"logits {n}x1000 N(0, 9)", rng.normal(scale=3.0, size=(n, 1000))),
        (
            f"logits {n}x10 confident, skewed",
            8.0 * np.eye(10)[labels] + rng.normal(size=(n, 10)),
        ),
        (
            f"logits {n - 1}x1000 (n % 10 != 0)",
            rng.normal(scale=3.0, size=(n - 1, 1000)),
        ),
    ]
    if mnist is not None:
        is_cases.append((f"MNIST clf logits test[:{n}]", mnist["test_logits"]))
    for case, logits in is_cases:
        rows.extend(agree_is(ref, case, logits))
    return rows


def print_agreement(rows):
    print("\nAgreement with the reference implementations (same features):")
    print(
        f"{'case':<36}{'metric':<14}{'value of':<15}{'reference':<26}{'value':>14}"
        f"{'reference':>14}{'abs diff':>9}{'rel diff':>9}  note"
    )
    for r in rows:
        if "value" not in r:
            print(
                f"{r['case']:<36}{r['metric']:<14}{'':<15}{r['reference']:<26}{'':>14}{'':>14}"
                f"{r['abs_diff']:>9.1e}{r['rel_diff']:>9.1e}  {r['note']}"
            )
            continue
        note = r["note"] + (f" (z={r['z']:.2f})" if "z" in r else "")
        print(
            f"{r['case']:<36}{r['metric']:<14}{r['subject']:<15}{r['reference']:<26}"
            f"{r['value']:>14.8g}{r['reference_value']:>14.8g}{r['abs_diff']:>9.1e}"
            f"{r['rel_diff']:>9.1e}  {note}"
        )
    print("\nLargest differences per metric and reference (over all cases):")
    for key, (a, rel, case) in worst_differences(rows).items():
        print(f"  {' / '.join(key):<78} max abs {a:.2e}  max rel {rel:.2e}  ({case})")
    zs = [r["z"] for r in rows if "z" in r]
    if zs:
        print(
            f"  KID, own random subsets: |z| <= {max(abs(z) for z in zs):.2f} over {len(zs)} cases"
        )


def worst_differences(rows):
    """``{(metric, subject vs reference, input): (max abs, max rel, case of max rel)}``."""
    worst = {}
    for r in rows:
        if "value" not in r or "z" in r:
            continue
        if r["metric"] == "FID":
            given = "from features" if r["note"].startswith("from features") else "same stats"
        elif r["metric"].startswith("IS"):
            given = "n % 10 != 0" if "!=" in r["case"] else "n % 10 == 0"
        else:
            given = ""
        key = (r["metric"], f"{r['subject']} vs {r['reference']}", given)
        w = worst.setdefault(key, [0.0, -1.0, ""])
        w[0] = max(w[0], r["abs_diff"])
        if r["rel_diff"] > w[1]:
            w[1], w[2] = r["rel_diff"], r["case"]
    return {tuple(x for x in k if x): tuple(v) for k, v in worst.items()}


# ---------------------------------------------------------------------------------------
# The known case


def section_known(args, ref):
    import numpy as np

    from keras_gan.metrics import density_coverage, precision_recall

    rows = []
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        real = rng.normal(size=(args.known_n, 1000))
        fake = rng.normal(size=(args.known_n, 1000))
        pr = precision_recall(real, fake, k=5)
        dc = density_coverage(real, fake, k=5)
        theirs = ref_prdc(ref, real, fake, 5)
        rows.append(
            dict(
                seed=seed,
                keras_gan=dict(
                    precision=pr.precision,
                    recall=pr.recall,
                    density=dc.density,
                    coverage=dc.coverage,
                ),
                prdc=theirs,
            )
        )
        print(f"  [seed {seed} done]", flush=True)
    return rows


def print_known(rows, n):
    keys = ("precision", "recall", "density", "coverage")
    print(f"\nprdc's README case: {n} vs {n} N(0, I) in 1000-D, k=5 (P/R and D/C all k=5):")
    print(f"{'':<28}" + "".join(f"{k:>11}" for k in keys))
    print(f"{'prdc README':<28}" + "".join(f"{PRDC_README[k]:>11.4f}" for k in keys))
    for r in rows:
        for impl in ("keras_gan", "prdc"):
            label = f"seed {r['seed']}: {impl}"
            print(f"{label:<28}" + "".join(f"{r[impl][k]:>11.4f}" for k in keys))
    for impl in ("keras_gan", "prdc"):
        values = {k: [r[impl][k] for r in rows] for k in keys}
        mean = "".join(f"{statistics.mean(values[k]):>11.4f}" for k in keys)
        print(f"{impl + ' mean':<28}{mean}")
        if len(rows) > 1:
            sd = "".join(f"{statistics.stdev(values[k]):>11.4f}" for k in keys)
            print(f"{impl + ' std (over seeds)':<28}{sd}")
    diff = max(abs(r["keras_gan"][k] - r["prdc"][k]) for r in rows for k in keys)
    print(f"largest |keras_gan - prdc| on the same draws: {diff:.2e}")


# ---------------------------------------------------------------------------------------
# Speed


def _timing_tasks(ref, a, b, with_references):
    from keras_gan.metrics import (
        density_coverage,
        frechet_distance,
        kernel_distance,
        precision_recall,
    )

    tasks = {
        "keras_gan FID": lambda: frechet_distance(a, b),
        "keras_gan KID (100 x 1000)": lambda: kernel_distance(a, b),
        "keras_gan P/R (k=3)": lambda: precision_recall(a, b, k=3),
        "keras_gan D/C (k=5)": lambda: density_coverage(a, b, k=5),
    }
    if with_references:
        tasks.update(
            {
                "pytorch-fid FID (np.cov + sqrtm)": lambda: ref_pytorch_fid(ref, a, b),
                "torch-fidelity FID": lambda: ref_fidelity_fid(ref, a, b),
                "torch-fidelity KID (100 x 1000)": lambda: ref_fidelity_kid(ref, a, b),
                "torch-fidelity P/R (k=3)": lambda: ref_fidelity_prc(ref, a, b, 3),
                "prdc P/R/D/C (k=5, all four)": lambda: ref_prdc(ref, a, b, 5),
            }
        )
    return tasks


#: The package's task(s) each reference timing is compared with (prdc computes all four).
PEERS = {
    "pytorch-fid FID (np.cov + sqrtm)": ("keras_gan FID",),
    "torch-fidelity FID": ("keras_gan FID",),
    "torch-fidelity KID (100 x 1000)": ("keras_gan KID (100 x 1000)",),
    "torch-fidelity P/R (k=3)": ("keras_gan P/R (k=3)",),
    "prdc P/R/D/C (k=5, all four)": ("keras_gan P/R (k=3)", "keras_gan D/C (k=5)"),
}


def machine_probe(repeats=3):
    """GFLOP/s of a float64 NumPy product ``[2000, 2048] @ [2048, 2048]`` (best of
    ``repeats``): the machine's speed at the moment, for reading drifting timings."""
    import numpy as np

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2000, 2048)), rng.normal(size=(2048, 2048))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        x @ y
        best = min(best, time.perf_counter() - start)
    return 2 * 2000 * 2048 * 2048 / best / 1e9


def section_speed(args, ref, features):
    import numpy as np

    dim, source = classifier_dim(features)
    records = []
    for d in (args.dim_large, dim):
        rng = np.random.default_rng(10 + d)
        a = rng.normal(size=(args.n, d)).astype(np.float32)
        b = (rng.normal(size=(args.n, d)) * 1.05 + 0.02).astype(np.float32)
        tasks = _timing_tasks(ref, a, b, not args.no_reference_speed)
        names = list(tasks)
        seconds = {name: [] for name in names}
        probes = []
        for r in range(args.rounds):
            probes.append(machine_probe())
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                start = time.perf_counter()
                tasks[name]()
                seconds[name].append(time.perf_counter() - start)
            print(
                f"  [{d}-D round {r + 1}/{args.rounds}: "
                f"{sum(s[-1] for s in seconds.values()):.0f} s, "
                f"probe {probes[-1]:.0f} GFLOP/s]",
                flush=True,
            )
        probes.append(machine_probe())
        for name in names:
            records.append(
                dict(
                    dim=d,
                    dim_source=source if d == dim else "InceptionV3 pool3",
                    n=args.n,
                    name=name,
                    seconds=seconds[name],
                    median=statistics.median(seconds[name]),
                    probe_gflops=probes,
                )
            )
    return records


def print_speed(records, rounds):
    print(f"\nSpeed (seconds, median of {rounds} rounds, range), float32 features in:")
    for d in dict.fromkeys(r["dim"] for r in records):
        probes = next(r["probe_gflops"] for r in records if r["dim"] == d)
        print(
            f"  machine probe around the {d}-D rounds (float64 GEMM, GFLOP/s): "
            + ", ".join(f"{p:.0f}" for p in probes)
        )
    print(
        f"{'features':<20}{'implementation':<36}{'median s':>10}{'range':>14}"
        f"{'ref / keras_gan':>16}"
    )
    medians = {(r["dim"], r["name"]): r["median"] for r in records}
    for r in records:
        label = f"{r['n']}x{r['n']} {r['dim']}-D"
        rng = f"{min(r['seconds']):.2f}-{max(r['seconds']):.2f}"
        peers = [medians.get((r["dim"], p)) for p in PEERS.get(r["name"], ())]
        ratio = f"{r['median'] / sum(peers):.2f}x" if peers and all(peers) else ""
        print(f"{label:<20}{r['name']:<36}{r['median']:>10.2f}{rng:>14}{ratio:>16}")


# ---------------------------------------------------------------------------------------
# Feature extraction


def _images(n):
    import numpy as np

    try:
        from keras_gan.data import load_arrays

        images, _ = load_arrays("mnist", f"test[:{n}]")
        images = np.asarray(images, np.float32)
        return images / 255.0 if images.max() > 1.5 else images, "MNIST test digits"
    except Exception:  # noqa: BLE001  (no data: random images cost the same)
        return np.random.default_rng(0).uniform(size=(n, 28, 28, 1)).astype(np.float32), "random"


def section_extract(args, features):
    if features is None:
        print("  keras_gan.metrics.features is missing: extraction throughput not measured")
        return [dict(skipped="keras_gan.metrics.features missing")]
    records = []
    clf = features.mnist_classifier()
    inception = features.inception_v3(weights=None)
    extractors = [
        ("MNIST classifier .features", clf.features, args.clf_images, args.clf_batch),
        (
            "InceptionV3 (weights=None) .features",
            inception.features,
            args.inception_images,
            args.inception_batch,
        ),
    ]
    for name, fn, n, batch in extractors:
        images, source = _images(n)
        fn(images[:batch], batch_size=batch)  # warm-up: traces and builds
        rates, dim = [], None
        for _ in range(args.rounds):
            start = time.perf_counter()
            out = fn(images, batch_size=batch)
            rates.append(n / (time.perf_counter() - start))
            dim = int(out.shape[-1])
        records.append(
            dict(
                name=name,
                images=n,
                batch=batch,
                source=source,
                dim=dim,
                images_per_s=rates,
                median=statistics.median(rates),
            )
        )
        print(f"  [{name}: {statistics.median(rates):.0f} images/s]", flush=True)
    return records


def print_extract(records, rounds):
    print(f"\nFeature extraction, 28x28x1 images (median of {rounds} rounds, after a warm-up):")
    if records and "skipped" in records[0]:
        print("  skipped: " + records[0]["skipped"])
        return
    print(f"{'extractor':<40}{'images':>8}{'batch':>7}{'dim':>6}{'images/s':>10}  range")
    for r in records:
        rng = f"{min(r['images_per_s']):.0f}-{max(r['images_per_s']):.0f}"
        print(
            f"{r['name']:<40}{r['images']:>8}{r['batch']:>7}{r['dim']:>6}{r['median']:>10.0f}"
            f"  {rng}"
        )


# ---------------------------------------------------------------------------------------


def machine():
    model = platform.processor()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return dict(cpu=model, cores=os.cpu_count(), load_average=list(os.getloadavg()))


def git_commit():
    try:
        out = subprocess.run(
            ["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated, from {','.join(SECTIONS)}"
    )
    p.add_argument(
        "--n",
        type=positive_int,
        default=10_000,
        help="samples per set for agreement and speed (10,000)",
    )
    p.add_argument(
        "--dim-large",
        type=positive_int,
        default=2048,
        help="the large feature dimension (InceptionV3 pool3: 2048)",
    )
    p.add_argument(
        "--known-n",
        type=positive_int,
        default=10_000,
        help="samples per set of prdc's README case (10,000)",
    )
    p.add_argument("--seeds", type=positive_int, default=5, help="draws of prdc's README case")
    p.add_argument("--rounds", type=positive_int, default=3, help="timing rounds (median)")
    p.add_argument(
        "--mp-max-dim",
        type=int,
        default=256,
        help="high-precision FID reference for cases up to this dimension",
    )
    p.add_argument(
        "--no-reference-speed",
        action="store_true",
        help="time only the package, not the reference implementations",
    )
    p.add_argument("--clf-images", type=positive_int, default=2048)
    p.add_argument("--clf-batch", type=positive_int, default=256)
    p.add_argument("--inception-images", type=positive_int, default=256)
    p.add_argument("--inception-batch", type=positive_int, default=64)
    p.add_argument("--out", default="runs/metrics.json", help="write the JSON record here")
    args = p.parse_args(argv)
    args.sections = [s for s in args.sections.split(",") if s]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    record = dict(
        command="python benchmarks/metrics.py " + " ".join(sys.argv[1:] if argv is None else argv),
        date=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        commit=git_commit(),
        machine=machine(),
    )
    ref = references()
    record["versions"] = versions()
    record["torchvision_used"] = ref.torchvision
    record["torch_threads"] = ref.torch.get_num_threads()
    features = features_module()
    record["features_module"] = features is not None
    print(
        f"{record['command']}\n{record['date']}  commit {record['commit']}  "
        f"{record['machine']['cpu']} ({record['machine']['cores']} cores)"
    )
    print(f"torchvision: {ref.torchvision}")
    sections = {
        "agreement": (lambda: section_agreement(args, ref, features), print_agreement),
        "known": (lambda: section_known(args, ref), lambda r: print_known(r, args.known_n)),
        "speed": (
            lambda: section_speed(args, ref, features),
            lambda r: print_speed(r, args.rounds),
        ),
        "extract": (
            lambda: section_extract(args, features),
            lambda r: print_extract(r, args.rounds),
        ),
    }
    for name in args.sections:
        print(f"\n{name} ...", flush=True)
        run, show = sections[name]
        record[name] = run()
        show(record[name])
        record["machine"]["load_average_end"] = list(os.getloadavg())
        if args.out:  # after every section, so that a later failure keeps the earlier ones
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "w") as f:
                json.dump(record, f, indent=1)
    if args.out:
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
