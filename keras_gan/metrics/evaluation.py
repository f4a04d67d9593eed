"""Score a generator by name: one registry of metrics, and an evaluator that caches the real side.

:data:`METRICS` maps each metric name to what it needs and how it is computed:

========================  =======================================  ===================
name (aliases)            keys it reports                          better
========================  =======================================  ===================
``fid``                   ``fid``                                  lower
``kid``                   ``kid``, ``kid_std``                     lower
``is`` (``classifier_score``)  ``is``, ``is_std``                  higher
``pr``                    ``precision``, ``recall``                higher
``dc``                    ``density``, ``coverage``                higher
``classes``               ``classes_covered``, ``class_kl``        more / lower
``parzen``                ``parzen_log_likelihood``, ``parzen_stderr``, ``parzen_sigma``  higher
========================  =======================================  ===================

:class:`Evaluator` is built once per reference data set: it extracts the
reference features (and logits) when it is created, so that each evaluation
costs only the generated side, and it can keep them in an on-disk cache keyed
by the data set, split, number of examples and extractor. Calling it on a
sampler (anything with ``sample(n, seed=...)``: a model, a
:class:`~keras_gan.loading.LoadedGenerator`, a serving client) draws
``num_samples`` examples with a fixed seed and returns an
:class:`EvaluationResult`: the values and a record of what they were computed
from (``num_real``, ``num_fake``, the reference, the extractor, its resize
method). FID is biased by the sample count, so only like-for-like records
compare.

Example:

```python
from keras_gan.data import load_arrays
from keras_gan.metrics.evaluation import Evaluator

real, labels = load_arrays("mnist", "test")
evaluate = Evaluator(["fid", "kid", "is", "pr"], real, extractor="mnist", num_samples=10_000,
                     reference={"dataset": "mnist", "split": "test"})
print(evaluate(gan).values)   # {'fid': ..., 'kid': ..., 'is': ..., 'precision': ...}
```
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable

import numpy as np

from keras_gan.metrics.frechet import frechet_distance, gaussian_statistics
from keras_gan.metrics.inception_score import inception_score
from keras_gan.metrics.kernel import kernel_distance
from keras_gan.metrics.prdc import density_coverage, precision_recall

logger = logging.getLogger("keras_gan.metrics")

#: The most examples :meth:`Evaluator.sample` asks a sampler for at once.
SAMPLE_CHUNK = 1000
#: The ``k`` of precision/recall and of density/coverage (the papers' defaults).
PR_K, DC_K = 3, 5

__all__ = ["METRICS", "EvaluationResult", "Evaluator", "MetricSpec", "best_key", "resolve_metrics"]


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    """A named metric: the keys it reports, which of them rank a generator (key ->
    higher is better; the first is the metric's primary key), and what it needs.

    ``needs`` is ``"features"`` (the extractor's features of real and generated
    data), ``"logits"`` (its logits of generated data) or ``"images"``
    (the generated examples themselves, in the data's value range).
    """

    name: str
    keys: tuple
    ranks: dict
    needs: str
    compute: Callable

    @property
    def primary(self):
        return next(iter(self.ranks))


def _fid(ev, fake):
    return {"fid": frechet_distance(ev.reference_statistics, fake["features"])}


def _kid(ev, fake):
    size = min(ev.kid_subset_size, len(fake["features"]), len(ev.reference_features))
    mean, std = kernel_distance(
        ev.reference_features, fake["features"], ev.kid_subsets, size, seed=ev.seed
    )
    return {"kid": mean, "kid_std": std}


def _is(ev, fake):
    mean, std = inception_score(fake["logits"], splits=ev.is_splits, from_logits=True)
    return {"is": mean, "is_std": std}


def _pr(ev, fake):
    radii = ev.reference_radii(PR_K)
    p, r = precision_recall(ev.reference_features, fake["features"], PR_K, real_radii=radii)
    return {"precision": p, "recall": r}


def _dc(ev, fake):
    radii = ev.reference_radii(DC_K)
    d, c = density_coverage(ev.reference_features, fake["features"], DC_K, real_radii=radii)
    return {"density": d, "coverage": c}


def _classes(ev, fake):
    from keras_gan.metrics.features import class_distribution

    result = class_distribution(fake["logits"], data_labels=ev.reference_labels)
    return {"classes_covered": float(result.classes_covered), "class_kl": float(result.kl)}


def _parzen(ev, fake):
    from keras_gan.metrics.parzen import parzen_evaluate

    if ev.parzen_data is None:
        raise ValueError("The 'parzen' metric needs parzen_data=(test, validation) examples.")
    test, validation = ev.parzen_data
    result = parzen_evaluate(fake["images"], test, validation)
    return {
        "parzen_log_likelihood": result.mean,
        "parzen_stderr": result.stderr,
        "parzen_sigma": result.sigma,
    }


#: The metrics :class:`Evaluator` (and ``keras-gan evaluate``, and a config's
#: ``evaluation.metrics``) know, by name.
METRICS = {
    spec.name: spec
    for spec in (
        MetricSpec("fid", ("fid",), {"fid": False}, "features", _fid),
        MetricSpec("kid", ("kid", "kid_std"), {"kid": False}, "features", _kid),
        MetricSpec("is", ("is", "is_std"), {"is": True}, "logits", _is),
        MetricSpec(
            "pr", ("precision", "recall"), {"precision": True, "recall": True}, "features", _pr
        ),
        MetricSpec(
            "dc", ("density", "coverage"), {"coverage": True, "density": True}, "features", _dc
        ),
        MetricSpec(
            "classes",
            ("classes_covered", "class_kl"),
            {"class_kl": False, "classes_covered": True},
            "logits",
            _classes,
        ),
        MetricSpec(
            "parzen",
            ("parzen_log_likelihood", "parzen_stderr", "parzen_sigma"),
            {"parzen_log_likelihood": True},
            "images",
            _parzen,
        ),
    )
}
ALIASES = {
    "classifier_score": "is",
    "inception_score": "is",
    "precision_recall": "pr",
    "density_coverage": "dc",
    "class_distribution": "classes",
}


def _allowed():
    return sorted(METRICS) + sorted(ALIASES)


def resolve_metrics(names):
    """The :class:`MetricSpec` of each name (aliases allowed), in order, without repeats."""
    if isinstance(names, str):
        names = [n for n in names.replace(" ", "").split(",") if n]
    if not names:
        raise ValueError(f"No metric named; allowed: {', '.join(_allowed())}.")
    specs = []
    for name in names:
        spec = METRICS.get(ALIASES.get(name, name))
        if spec is None:
            raise ValueError(f"Unknown metric {name!r}; allowed: {', '.join(_allowed())}.")
        if spec not in specs:
            specs.append(spec)
    return specs


def best_key(name, metrics):
    """``(key, higher_is_better)`` to rank generators by ``name``: a metric name (its
    primary key, e.g. ``fid``) or a key it reports (e.g. ``recall``), among the
    specs ``metrics``."""
    for spec in metrics:
        if ALIASES.get(name, name) == spec.name:
            return spec.primary, spec.ranks[spec.primary]
        if name in spec.ranks:
            return name, spec.ranks[name]
    allowed = [k for spec in metrics for k in (spec.name, *spec.ranks) if k != spec.primary]
    allowed = list(dict.fromkeys([spec.name for spec in metrics] + allowed))
    raise ValueError(
        f"best: {name!r} is not a ranking key of the evaluated metrics; allowed: "
        f"{', '.join(allowed)}."
    )


@dataclasses.dataclass
class EvaluationResult:
    """``values``: metric key -> float; ``record``: what they were computed from."""

    values: dict
    record: dict

    def to_dict(self):
        return {**self.record, **self.values}

    def __str__(self):
        return ", ".join(f"{k} {v:.6g}" for k, v in self.values.items())


def default_cache_dir():
    """``$KERAS_GAN_CACHE_DIR``, else ``~/.cache/keras_gan``."""
    return os.environ.get("KERAS_GAN_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "keras_gan"
    )


class Evaluator:
    """Scores samplers against a fixed reference set (see the module docstring).

    Args:
        metrics: metric names (see :data:`METRICS`), or a comma-separated string.
        reference_images: real examples ``[n, ...]`` in ``value_range``.
        extractor: what the feature metrics use: a name (``"mnist"``,
            ``"fashion_mnist"``, ``"inception_v3"``), an extractor or a
            ``keras.Model`` (see :mod:`keras_gan.metrics.features`); ``None``
            only when no metric needs features or logits.
        num_samples: generated examples per evaluation.
        seed: seed of the generated examples (fixed, so evaluations compare).
        value_range: the range of real and generated examples; extractors get
            them rescaled to ``[0, 1]``.
        reference_labels: the reference set's labels (the ``classes`` metric
            compares with their distribution; uniform when ``None``).
        parzen_data: ``(test, validation)`` examples for the ``parzen`` metric.
        reference: a dict describing the reference set (e.g. data set, split,
            source), recorded with every result and part of the cache key.
        cache_dir: where to keep reference features between runs (``None``: not
            kept; see :func:`default_cache_dir`).
        batch_size: extraction batch size.
        verbose: show a progress bar while extracting.
    """

    def __init__(
        self,
        metrics,
        reference_images,
        extractor=None,
        num_samples=10_000,
        seed=0,
        value_range=(0.0, 1.0),
        reference_labels=None,
        parzen_data=None,
        reference=None,
        cache_dir=None,
        batch_size=256,
        kid_subsets=100,
        kid_subset_size=1000,
        is_splits=10,
        verbose=False,
    ):
        self.metrics = resolve_metrics(metrics)
        if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
            raise ValueError(f"num_samples must be an int >= 2; got {num_samples!r}.")
        if num_samples < 2:
            raise ValueError(f"num_samples must be an int >= 2; got {num_samples!r}.")
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        from keras_gan.data import check_value_range

        self.value_range = check_value_range(value_range)
        self.batch_size = int(batch_size)
        self.kid_subsets, self.kid_subset_size = int(kid_subsets), int(kid_subset_size)
        self.is_splits = int(is_splits)
        self.verbose = verbose
        self.parzen_data = parzen_data
        self.reference = dict(reference or {})
        self.reference_labels = None if reference_labels is None else np.asarray(reference_labels)
        needs = {spec.needs for spec in self.metrics}
        self.extractor = None
        if needs & {"features", "logits"}:
            if extractor is None:
                names = [s.name for s in self.metrics if s.needs != "images"]
                raise ValueError(
                    f"Metrics {names} need a feature extractor: 'mnist', 'fashion_mnist', "
                    "'inception_v3' or a keras.Model."
                )
            from keras_gan.metrics.features import as_extractor

            self.extractor = as_extractor(extractor)
        if "parzen" in [s.name for s in self.metrics] and parzen_data is None:
            raise ValueError("The 'parzen' metric needs parzen_data=(test, validation) examples.")
        self._needs = needs
        reference_images = np.asarray(reference_images)
        self.num_real = len(reference_images)
        self.reference_features = self.reference_logits = self.reference_statistics = None
        self._radii = {}
        if self.extractor is not None:
            self._check_shape(reference_images.shape[1:])
            self._load_reference(reference_images, cache_dir)

    # ------------------------------------------------------------ reference
    def _check_shape(self, shape):
        """Refuse examples of ``shape`` (no batch axis) the extractor does not take."""
        from keras_gan.metrics.features import _check_shape

        check = getattr(self.extractor, "check_images", None)
        full = (None, *shape)
        check(full) if callable(check) else _check_shape(self.extractor, full)

    def _extract(self, images):
        """``{"features": ..., "logits": ...}`` of examples, as the metrics need, in one
        pass (examples in ``value_range``, rescaled to ``[0, 1]`` for the extractor)."""
        from keras_gan.metrics.features import extract_features

        kinds = tuple(k for k in ("features", "logits") if k in self._needs)
        return extract_features(
            self.extractor,
            images,
            batch_size=self.batch_size,
            kind=kinds,
            verbose=self.verbose,
            value_range=self.value_range,
        )

    def _cache_path(self, cache_dir):
        key = dict(
            self.reference,
            num_real=self.num_real,
            extractor=self.extractor.name,
            weights=str(getattr(self.extractor, "weights", None)),
            needs=sorted(self._needs & {"features", "logits"}),
        )
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
        return os.path.join(cache_dir, "reference", f"{digest}.npz")

    def _load_reference(self, images, cache_dir):
        path = self._cache_path(cache_dir) if cache_dir else None
        cached = _read_cache(path) if path else None
        if cached is None:
            cached = self._extract(images)
            if path:
                _write_cache(path, cached)
        self.reference_features = cached.get("features")
        self.reference_logits = cached.get("logits")
        if any(s.name == "fid" for s in self.metrics):
            self.reference_statistics = gaussian_statistics(
                self.reference_features, "the reference features"
            )

    def reference_radii(self, k):
        """The reference set's squared ``k``-NN radii, computed once per ``k``."""
        from keras_gan.metrics.checks import as_features, check_k
        from keras_gan.metrics.prdc import knn_radii

        if k not in self._radii:
            features = as_features(self.reference_features, "the reference features")
            check_k(k, [("reference samples", len(features))])
            self._radii[k] = knn_radii(features, k)
        return self._radii[k]

    # ------------------------------------------------------------ scoring
    def sample(self, sampler):
        """``num_samples`` examples from ``sampler``: an object with ``sample(n, seed=)``
        (a model, a :class:`~keras_gan.loading.LoadedGenerator`, a serving client), a
        callable ``fn(n, seed)``, or an array of examples (used as it is).

        Samplers are asked for chunks of at most :data:`SAMPLE_CHUNK` examples (an
        exported ``sample`` signature takes at most 1,024 per call), each with its own
        seed (:func:`keras_gan.metrics.features.chunk_seed`), so a served model and its
        ``.keras`` file give the same examples and the same scores.
        """
        from keras_gan.metrics.features import chunk_seed

        if hasattr(sampler, "sample") or callable(sampler):
            draw = sampler.sample if hasattr(sampler, "sample") else None
            n = self.num_samples
            chunks = []
            for i, start in enumerate(range(0, n, SAMPLE_CHUNK)):
                size, seed = min(SAMPLE_CHUNK, n - start), chunk_seed(self.seed, i)
                chunk = draw(size, seed=seed) if draw else sampler(size, seed)
                chunks.append(np.asarray(chunk, np.float32))
            images = np.concatenate(chunks)
        else:
            images = np.asarray(sampler, np.float32)
        if len(images) < 2:
            raise ValueError(f"Evaluation needs at least 2 generated examples; got {len(images)}.")
        if not np.isfinite(images).all():
            raise ValueError("The generated examples contain NaN or Inf values.")
        return images

    def __call__(self, sampler):
        """Evaluate ``sampler``; returns an :class:`EvaluationResult`."""
        images = self.sample(sampler)
        if self.extractor is not None:
            self._check_shape(images.shape[1:])
        fake = self._extract(images) if self.extractor is not None else {}
        fake["images"] = images
        values = {}
        progress = None
        if self.verbose:  # feature extraction has its own bar; this one is per metric
            import keras

            progress = keras.utils.Progbar(len(self.metrics), unit_name="metric")
        for i, spec in enumerate(self.metrics):
            values.update(spec.compute(self, fake))
            if progress is not None:
                progress.update(i + 1, [(spec.primary, values[spec.primary])])
        return EvaluationResult({k: float(v) for k, v in values.items()}, self.record(len(images)))

    def record(self, num_fake):
        """What a result was computed from (stored with every score)."""
        record = dict(
            num_real=self.num_real,
            num_fake=int(num_fake),
            seed=self.seed,
            reference=self.reference,
            metrics=[s.name for s in self.metrics],
        )
        if self.extractor is not None:
            record["extractor"] = self.extractor.name
            record["extractor_weights"] = getattr(self.extractor, "weights", None)
            record["resize"] = getattr(self.extractor, "resize", None)
        if any(s.name == "kid" for s in self.metrics):
            record["kid_subsets"] = [self.kid_subsets, self.kid_subset_size]
        if any(s.name == "is" for s in self.metrics):
            record["is_splits"] = self.is_splits
        return record


def _read_cache(path):
    if not os.path.exists(path):
        return None
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as e:
        logger.warning("Ignoring the damaged reference cache %s (%s); recomputing it.", path, e)
        return None


def _write_cache(path, arrays):
    from keras_gan.io import atomic_open

    try:
        with atomic_open(path, "wb", suffix=".npz") as f:
            np.savez(f, **arrays)
    except OSError as e:  # a cache is an optimisation: never fail an evaluation for it
        logger.warning("Could not keep the reference features in %s: %s", path, e)
