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


def parzen_data(name, reference, validation_split, explicit, value_range, source):
    """``(test, validation, where)`` for the Parzen protocol: sigma chosen on
    ``validation_split`` (held out of training), else, when that split is empty or
    missing and was not asked for by name (``explicit``), on the first half of the
    ``reference`` examples, which are then scored on their second half. ``where``
    names the validation examples used, for the record."""
    validation = None
    if validation_split is not None:
        try:
            validation, _ = load_arrays(
                name, validation_split, value_range=value_range, source=source
            )
        except ValueError as error:
            if explicit:
                raise
            logger.debug("parzen: no validation split %s (%s)", validation_split, error)
    if validation is not None and len(validation):
        return reference, validation, validation_split
    half = len(reference) // 2
    logger.warning(
        "parzen: %s holds no examples here; choosing sigma on the first %d reference "
        "examples and scoring the other %d (name a held-out split with --validation-split "
        "or evaluation.validation_split).",
        validation_split or "no validation split",
        half,
        len(reference) - half,
    )
    return reference[half:], reference[:half], f"the first {half} reference examples"


def build_evaluator(
    metrics, dataset, reference_split, num_samples, seed=0, value_range=(0.0, 1.0),
    source="auto", extractor=None, extractor_weights=None, validation_split=None,
    explicit_validation=False, verbose=False, what="reference_split",
):  # fmt: skip
    """An :class:`~keras_gan.metrics.evaluation.Evaluator` of ``metrics`` against at most
    ``num_samples`` examples of ``dataset``'s ``reference_split``: the extractor is
    ``extractor`` or the data set's classifier (``inception_v3`` with
    ``extractor_weights``), parzen chooses sigma as :func:`parzen_data` says, and the
    reference features are cached in ``default_cache_dir()``. ``what`` names the
    reference split's setting in an error. Used by the config's ``evaluation``
    section and by ``keras-gan evaluate --metrics``."""
    from keras_gan.metrics.evaluation import Evaluator, default_cache_dir, resolve_metrics

    specs = resolve_metrics(metrics)
    reference, labels = load_arrays(
        dataset, reference_split, value_range=value_range, source=source
    )
    reference, labels = reference[:num_samples], labels[:num_samples]
    if len(reference) < 2:
        raise ValueError(
            f"{what} {reference_split!r} of {dataset} holds {len(reference)} examples; "
            "evaluation needs at least 2."
        )
    extractor = extractor or DEFAULT_EXTRACTORS.get(dataset)
    if not any(spec.needs != "images" for spec in specs):
        extractor = None
    elif extractor == "inception_v3":
        from keras_gan.metrics.features import inception_v3

        extractor = inception_v3(weights=extractor_weights or "imagenet")
    parzen = None
    if any(spec.name == "parzen" for spec in specs):
        parzen = parzen_data(
            dataset, reference, validation_split, explicit_validation, value_range, source
        )[:2]
    return Evaluator(
        [spec.name for spec in specs],
        reference,
        extractor=extractor,
        num_samples=num_samples,
        seed=seed,
        value_range=value_range,
        reference_labels=labels,
        parzen_data=parzen,
        reference=dict(dataset=dataset, split=reference_split, source=source),
        cache_dir=default_cache_dir(),
        verbose=verbose,
    )


def build_evaluation(config):
    """The configured :class:`~keras_gan.callbacks.GeneratorEvaluation`, or ``None``."""
    e = config.evaluation
    if e is None:
        return None
    from keras_gan.callbacks import GeneratorEvaluation

    d = config.dataset
    evaluator = build_evaluator(
        e.metrics,
        d.name,
        e.reference_split,
        e.num_samples,
        seed=e.seed,
        value_range=d.value_range,
        source=d.source,
        extractor=e.extractor,
        extractor_weights=e.extractor_weights,
        validation_split=e.validation_split or complement_split(d.split),
        explicit_validation=e.validation_split is not None,
        what="evaluation.reference_split",
    )
    logdir = config.logging.logdir
    return GeneratorEvaluation(
        evaluator,
        every=e.every_epochs,
        logdir=logdir,
        best=e.best,
        best_path=os.path.join(logdir, BEST_MODEL) if e.best else None,
    )
