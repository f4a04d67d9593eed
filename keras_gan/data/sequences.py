"""Discrete sequence data sets: ``"grammar"`` and ``"text"`` (see :mod:`keras_gan.data.grammar`
and :mod:`keras_gan.data.text`).

Their examples are one-hot float32 ``[length, vocab]`` arrays: row ``t`` is the
one-hot vector of the ``t``-th token, token 0 is the padding token.

Parameters (``load_dataset(name, **params)``, or ``dataset.params`` in a config):

``grammar``
    ``grammar`` (``"brackets"`` or ``"arithmetic"``, default ``"brackets"``),
    ``length`` (default 16). ``num_examples`` strings (default 50,000) are
    drawn with ``seed`` (``split="train"``) or ``seed + 1`` (``"test"``).
``text``
    ``path`` (required), ``length`` (required), ``vocabulary``, ``oov``,
    ``pad``. The whole file is the ``"train"`` split; ``num_examples`` keeps
    the first lines.
"""

from __future__ import annotations

import inspect

import tensorflow as tf

from keras_gan.data.grammar import DEFAULT_GRAMMAR, get_grammar
from keras_gan.data.pipeline import finish_pipeline
from keras_gan.data.text import DEFAULT_PAD, load_text_ids, text_vocabulary

__all__ = [
    "SEQUENCE_DATASETS",
    "DEFAULT_SEQUENCE_EXAMPLES",
    "DEFAULT_GRAMMAR_LENGTH",
    "check_sequence_params",
    "load_sequence_ids",
    "sequence_dataset",
    "sequence_vocabulary",
]

SEQUENCE_DATASETS = ("grammar", "text")
DEFAULT_SEQUENCE_EXAMPLES = 50_000
DEFAULT_GRAMMAR_LENGTH = 16


def _grammar_params(grammar=DEFAULT_GRAMMAR, length=DEFAULT_GRAMMAR_LENGTH):
    return get_grammar(grammar), length


def _text_params(path=None, length=None, vocabulary=None, oov=None, pad=DEFAULT_PAD):
    if length is None:
        raise ValueError("The text data set needs length=... (tokens per sequence).")
    return dict(path=path, length=length, vocabulary=vocabulary, oov=oov, pad=pad)


_PARAMS = {"grammar": _grammar_params, "text": _text_params}


def _parse(name, params):
    parser = _PARAMS[name]
    allowed = list(inspect.signature(parser).parameters)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"Unknown argument(s) {unknown} for data set {name!r}. Allowed: {allowed}."
        )
    return parser(**params)


def check_sequence_params(name, split="train", **params):
    """Check a sequence data set's split and parameters without reading or drawing
    any data (what a config is validated with); ``ValueError`` names the problem."""
    allowed = {"grammar": ("train", "test"), "text": ("train",)}[name]
    if split not in allowed:
        raise ValueError(f"Invalid split {split!r} for {name} data. Allowed: {list(allowed)}.")
    parsed = _parse(name, params)
    length = parsed[1] if name == "grammar" else parsed["length"]
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be an int >= 1; got {length!r}.")
    if name == "text" and parsed["path"] is None:
        raise ValueError("The text data set needs path=... (a UTF-8 text file, one per line).")


def sequence_vocabulary(name, **params):
    """The token list (padding token first) of a sequence data set."""
    if name == "grammar":
        grammar, _ = _parse(name, params)
        return grammar.vocabulary
    kwargs = _parse(name, params)
    return text_vocabulary(kwargs["path"], kwargs["length"], kwargs["vocabulary"], kwargs["pad"])


def load_sequence_ids(name, split="train", num_examples=None, seed=0, **params):
    """``(token_ids int32 [n, length], vocabulary)`` of a sequence data set."""
    if name == "grammar":
        grammar, length = _parse(name, params)
        offset = {"train": 0, "test": 1}.get(split)
        if offset is None:
            raise ValueError(f"Invalid split {split!r} for grammar data. Allowed: 'train', 'test'.")
        n = DEFAULT_SEQUENCE_EXAMPLES if num_examples is None else int(num_examples)
        if n < 1:
            raise ValueError(f"num_examples must be >= 1; got {n}.")
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be an int >= 1; got {length!r}.")
        ids = grammar.sample(n, length, seed=None if seed is None else seed + offset)
        return ids, grammar.vocabulary
    if name == "text":
        kwargs = _parse(name, params)
        if split != "train":
            raise ValueError(
                f"Invalid split {split!r} for text data: the whole file is the 'train' split."
            )
        ids, vocabulary = load_text_ids(**kwargs)
        if num_examples is not None:
            ids = ids[: int(num_examples)]
        return ids, vocabulary
    raise ValueError(f"{name!r} is not a sequence data set; allowed: {list(SEQUENCE_DATASETS)}.")


def sequence_dataset(
    name,
    split="train",
    batch_size=100,
    with_labels=False,
    shuffle=None,
    seed=0,
    drop_remainder=True,
    num_examples=None,
    **params,
):
    """A sequence data set as a ``tf.data.Dataset`` of one-hot float32 batches
    ``[batch, length, vocab]`` (see :func:`keras_gan.data.load_dataset`). The
    token ids are kept in memory and one-hot encoded batch by batch."""
    if with_labels:
        raise ValueError(f"Sequence data set {name!r} has no labels; use with_labels=False.")
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
    ids, vocabulary = load_sequence_ids(name, split, num_examples, seed, **params)
    ds = tf.data.Dataset.from_tensor_slices(ids)
    if shuffle is None:
        shuffle = str(split).startswith("train")
    if shuffle:
        ds = ds.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
    if batch_size is not None:
        ds = ds.batch(int(batch_size), drop_remainder=drop_remainder)
    depth = len(vocabulary)
    ds = ds.map(lambda t: tf.one_hot(t, depth, dtype=tf.float32))
    return finish_pipeline(ds)
