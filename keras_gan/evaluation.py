"""The ``evaluation`` section of a config: the reference data, the extractor, the callback.

:func:`build_evaluation` turns ``config.evaluation`` into a
:class:`keras_gan.callbacks.GeneratorEvaluation` around a
:class:`keras_gan.metrics.evaluation.Evaluator`, loading the real examples it
compares with (the data set's ``reference_split``, at most ``num_samples`` of
them) and, for ``parzen``, the split it chooses sigma on. The reference
features are extracted once, before training starts (so a bad extractor or
split fails at once), and cached between runs in
:func:`keras_gan.metrics.evaluation.default_cache_dir`.
"""

from __future__ import annotations

import logging
import os

from keras_gan.data import load_arrays
from keras_gan.data.sources import parse_split

logger = logging.getLogger("keras_gan.evaluation")

#: The extractor a data set is scored with when ``evaluation.extractor`` is not set.
DEFAULT_EXTRACTORS = {"mnist": "mnist", "fashion_mnist": "fashion_mnist"}

BEST_MODEL = "best_model.keras"


def extractor_of(evaluation, dataset_name):
    """The extractor name of an ``evaluation`` config (``None``: none is known)."""
    return evaluation.extractor or DEFAULT_EXTRACTORS.get(dataset_name)


def complement_split(split):
    """The training split's held-out rest (``train[:50000]`` -> ``train[50000:]``), or None."""
    base, start, stop, percent = parse_split(split)
    if base != "train" or start is not None or stop is None:
        return None
    return f"train[{stop}{'%' if percent else ''}:]"


def _parzen_data(config, reference):
    """``(test, validation)`` for parzen: sigma on the held-out training split, else on
    the first half of the reference examples (then scored on the second half)."""
    d, e = config.dataset, config.evaluation
    split = e.validation_split or complement_split(d.split)
    validation = None
    if split is not None:
        try:
            validation, _ = load_arrays(d.name, split, value_range=d.value_range, source=d.source)
        except ValueError as error:
            if e.validation_split:  # asked for by name: say so
                raise
            logger.info("parzen: no validation split %s (%s)", split, error)
    if validation is not None and len(validation):
        return reference, validation
    half = len(reference) // 2
    logger.warning(
        "parzen: no held-out training examples (%s); choosing sigma on the first %d "
        "reference examples and scoring the other %d.",
        split or "none configured",
        half,
        len(reference) - half,
    )
    return reference[half:], reference[:half]


def build_evaluation(config):
    """The configured :class:`~keras_gan.callbacks.GeneratorEvaluation`, or ``None``."""
    e = config.evaluation
    if e is None:
        return None
    from keras_gan.callbacks import GeneratorEvaluation
    from keras_gan.metrics.evaluation import Evaluator, default_cache_dir

    d = config.dataset
    reference, labels = load_arrays(
        d.name, e.reference_split, value_range=d.value_range, source=d.source
    )
    reference, labels = reference[: e.num_samples], labels[: e.num_samples]
    if len(reference) < 2:
        raise ValueError(
            f"evaluation.reference_split {e.reference_split!r} of {d.name} holds "
            f"{len(reference)} examples; evaluation needs at least 2."
        )
    names = set(e.metrics)
    extractor = extractor_of(e, d.name) if names - {"parzen"} else None
    if extractor == "inception_v3":
        from keras_gan.metrics.features import inception_v3

        extractor = inception_v3(weights=e.extractor_weights or "imagenet")
    evaluator = Evaluator(
        e.metrics,
        reference,
        extractor=extractor,
        num_samples=e.num_samples,
        seed=e.seed,
        value_range=d.value_range,
        reference_labels=labels,
        parzen_data=_parzen_data(config, reference) if "parzen" in names else None,
        reference=dict(dataset=d.name, split=e.reference_split, source=d.source),
        cache_dir=default_cache_dir(),
    )
    logdir = config.logging.logdir
    return GeneratorEvaluation(
        evaluator,
        every=e.every_epochs,
        logdir=logdir,
        best=e.best,
        best_path=os.path.join(logdir, BEST_MODEL) if e.best else None,
    )
