"""Text files as fixed-length one-hot character sequences.

:func:`load_text_ids` reads a UTF-8 text file line by line. Each non-empty line
is one sequence: its first ``length`` characters (longer lines are truncated),
padded at the end to ``length`` with the padding token.

**Vocabulary.** Token 0 is always the padding token ``pad`` (default
``"\\x00"``, which does not occur in ordinary text). The other tokens are

* ``vocabulary=None`` (default): the distinct characters of the kept text,
  sorted by code point -- the vocabulary is *built from the file*;
* a given ``vocabulary`` (a string of characters, or a list of one-character
  strings, without ``pad`` and without repeats): used as is, in that order.

A character outside a given vocabulary is an error that names the characters
and the first line holding one, unless ``oov`` names a token of the vocabulary
that such characters are mapped to (e.g. ``oov="?"``). A text containing the
padding character is an error.

Example:

```python
from keras_gan.data import load_dataset
from keras_gan.data.text import decode, text_vocabulary

ds = load_dataset("text", path="lines.txt", length=32, batch_size=64)  # [64, 32, V]
vocab = text_vocabulary("lines.txt", length=32)                        # ['\\x00', ' ', 'a', ...]
decode(gan.sample(4, seed=0), vocab)                                   # four strings
```
"""

from __future__ import annotations

import os

import numpy as np

__all__ = [
    "load_text_ids",
    "text_vocabulary",
    "to_token_ids",
    "one_hot",
    "decode",
    "DEFAULT_PAD",
]

DEFAULT_PAD = "\x00"


def _check_length(length):
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be an int >= 1 (tokens per sequence); got {length!r}.")
    return int(length)


def _read_lines(path, length):
    if path is None:
        raise ValueError(
            "The text data set needs path=... (a UTF-8 text file, one sequence a line)."
        )
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"Text file {path!r} does not exist.")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"Text file {path!r} is not valid UTF-8 (at byte {e.start}: "
            f"{raw[e.start : e.start + 4]!r})."
        ) from None
    lines = []  # (line number, first `length` characters) of the non-empty lines
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if line:
            lines.append((number, line[:length]))
    if not lines:
        raise ValueError(f"Text file {path!r} has no non-empty lines.")
    return path, lines


def _check_vocabulary(vocabulary, pad):
    if not isinstance(pad, str) or len(pad) != 1:
        raise ValueError(f"pad must be a single character; got {pad!r}.")
    tokens = list(vocabulary)
    bad = [t for t in tokens if not isinstance(t, str) or len(t) != 1]
    if bad:
        raise ValueError(f"vocabulary tokens must be single characters; got {bad[:5]}.")
    seen = set()
    repeated = sorted({t for t in tokens if t in seen or seen.add(t)})
    if repeated:
        raise ValueError(f"vocabulary lists the token(s) {repeated} more than once.")
    if pad in seen:
        raise ValueError(
            f"vocabulary must not contain the padding token {pad!r} (it is added as token 0)."
        )
    if not tokens:
        raise ValueError("vocabulary is empty.")
    return [pad] + tokens


def _vocabulary_of(path, lines, vocabulary, pad):
    if not isinstance(pad, str) or len(pad) != 1:
        raise ValueError(f"pad must be a single character; got {pad!r}.")
    for number, line in lines:
        if pad in line:
            raise ValueError(
                f"Text file {path!r} contains the padding token {pad!r} (line {number}); "
                "choose another pad."
            )
    if vocabulary is not None:
        return _check_vocabulary(vocabulary, pad)
    return _check_vocabulary(sorted({c for _, line in lines for c in line}), pad)


def text_vocabulary(path, length, vocabulary=None, pad=DEFAULT_PAD, **unused):
    """The vocabulary (list of tokens, padding first) of a text data set."""
    length = _check_length(length)
    path, lines = _read_lines(path, length)
    return _vocabulary_of(path, lines, vocabulary, pad)


def load_text_ids(path, length, vocabulary=None, oov=None, pad=DEFAULT_PAD):
    """``(token_ids int32 [n, length], vocabulary)`` of a text file (see the module doc).

    Args:
        path: a UTF-8 text file; every non-empty line is one sequence.
        length: tokens per sequence; longer lines are truncated.
        vocabulary: ``None`` to build it from the file, or the tokens to use.
        oov: a token of the vocabulary that characters outside it map to
            (``None``: such characters are an error).
        pad: the padding token (id 0).
    """
    length = _check_length(length)
    path, lines = _read_lines(path, length)
    tokens = _vocabulary_of(path, lines, vocabulary, pad)
    index = {t: i for i, t in enumerate(tokens)}
    if oov is not None and (oov not in index or oov == pad):
        raise ValueError(
            f"oov must be a token of the vocabulary other than the padding token; got {oov!r}."
        )
    unknown = {}
    ids = np.zeros((len(lines), length), np.int32)
    for row, (number, line) in enumerate(lines):
        for col, char in enumerate(line):
            i = index.get(char)
            if i is None:
                unknown.setdefault(char, number)
                i = index.get(oov, 0)
            ids[row, col] = i
    if unknown and oov is None:
        shown = sorted(unknown, key=unknown.get)[:10]
        raise ValueError(
            f"Text file {path!r} has {len(unknown)} character(s) outside the vocabulary: "
            + ", ".join(f"{c!r} (line {unknown[c]})" for c in shown)
            + ("..." if len(unknown) > 10 else "")
            + f". Allowed: the vocabulary's {len(tokens) - 1} tokens, or pass oov=<token> "
            "to map unknown characters to it, or vocabulary=None to build it from the file."
        )
    return ids, tokens


# ------------------------------------------------------------ token helpers
def to_token_ids(sequences):
    """Token ids ``int32 [n, length]`` from ids or from one-hot/probabilities
    ``[n, length, vocab]`` (the argmax over the vocabulary)."""
    values = np.asarray(sequences)
    if values.ndim == 3:
        if not np.issubdtype(values.dtype, np.number):
            raise ValueError(f"sequences must be numeric; got dtype {values.dtype}.")
        if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
            raise ValueError("sequences contain NaN or Inf values.")
        return np.argmax(values, axis=-1).astype(np.int32)
    if values.ndim == 2 and (np.issubdtype(values.dtype, np.integer) or values.size == 0):
        return values.astype(np.int32)
    raise ValueError(
        "sequences must be token ids (integers, shape [n, length]) or one-hot/probabilities "
        f"(shape [n, length, vocab]); got dtype {values.dtype}, shape {list(values.shape)}."
    )


def one_hot(ids, vocab_size):
    """One-hot float32 ``[n, length, vocab_size]`` of token ids ``[n, length]``."""
    ids = to_token_ids(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"token ids must be in [0, {vocab_size}); got [{ids.min()}, {ids.max()}].")
    return np.eye(vocab_size, dtype=np.float32)[ids]


def decode(sequences, vocabulary, strip_padding=None):
    """Strings of token ids or one-hot/probabilities (argmax); ``strip_padding``: a
    token removed from the end of each string (e.g. the padding token)."""
    ids = to_token_ids(sequences)
    vocabulary = list(vocabulary)
    if ids.size and (ids.min() < 0 or ids.max() >= len(vocabulary)):
        raise ValueError(
            f"token ids must be in [0, {len(vocabulary)}) for this vocabulary; got "
            f"[{ids.min()}, {ids.max()}]."
        )
    out = []
    for row in ids:
        s = "".join(vocabulary[i] for i in row)
        out.append(s.rstrip(strip_padding) if strip_padding else s)
    return out
