"""Sequences from a small probabilistic context-free grammar, with an exact validity check.

Generated text cannot be scored exactly against natural language, but against a
known grammar it can: :func:`keras_gan.metrics.validity_rate` is the fraction of
generated sequences the grammar derives. Two grammars ship with the package
(``GRAMMARS``):

``brackets`` (the default)
    Balanced strings of two kinds of brackets (the Dyck-2 language)::

        S -> S S (0.2) | "(" S ")" (0.3) | "[" S "]" (0.3) | "(" ")" (0.1) | "[" "]" (0.1)

    Vocabulary ``_ ( ) [ ]``; with ``length=16``, 6.0 tokens on average and
    about 14% of 20,000 samples distinct (a third of them ``()`` or ``[]``).
``arithmetic``
    Expressions over single digits with ``+``, ``*`` and parentheses::

        E -> E "+" T (0.25) | T (0.75)
        T -> T "*" F (0.25) | F (0.75)
        F -> "(" E ")" (0.15) | D (0.85)
        D -> "0" | "1" | ... | "9" (0.1 each)

**Sequences.** A sample is a derivation's string of terminals ``w`` padded to a
fixed ``length`` with the padding token (``"_"``, token id 0):
``w + "_" * (length - len(w))``. Derivations longer than ``length`` are
rejected and drawn again, so the data is the PCFG's distribution conditioned on
``len(w) <= length``. A sequence is **valid** when it is exactly such a padded
string: a non-empty ``w`` in the grammar's language followed only by padding
(:meth:`Grammar.is_valid`; the language test is an Earley recognizer, exact for
any context-free grammar without empty productions).

Example:

```python
from keras_gan.data.grammar import get_grammar

g = get_grammar("brackets")
ids = g.sample(4, length=16, seed=0)   # int32 [4, 16]
g.decode(ids)                          # ['([])', '()[]()', ...]
g.is_valid("(()]")                     # False
```
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["Grammar", "GRAMMARS", "get_grammar", "DEFAULT_GRAMMAR", "PAD"]

PAD = "_"
DEFAULT_GRAMMAR = "brackets"


@dataclasses.dataclass(frozen=True)
class Grammar:
    """A probabilistic context-free grammar over single-character terminals.

    Args:
        name: the grammar's name.
        rules: ``{nonterminal: ((probability, (symbol, ...)), ...)}``; a symbol
            that is not a key of ``rules`` is a terminal (one character). The
            probabilities of a nonterminal's productions sum to 1; right-hand
            sides are non-empty.
        start: the start symbol.
        pad: the padding token (token id 0), not a terminal.
    """

    name: str
    rules: dict
    start: str = "S"
    pad: str = PAD

    def __post_init__(self):
        if self.start not in self.rules:
            raise ValueError(f"Grammar {self.name!r}: start symbol {self.start!r} has no rules.")
        for lhs, productions in self.rules.items():
            if not productions:
                raise ValueError(f"Grammar {self.name!r}: {lhs!r} has no productions.")
            total = sum(p for p, _ in productions)
            if not math.isclose(total, 1.0, abs_tol=1e-9):
                raise ValueError(
                    f"Grammar {self.name!r}: the probabilities of {lhs!r} sum to {total}, not 1."
                )
            for p, rhs in productions:
                if not p > 0 or not rhs:
                    raise ValueError(
                        f"Grammar {self.name!r}: production {lhs!r} -> {rhs!r} needs a "
                        "probability > 0 and a non-empty right-hand side."
                    )
        terminals = self.terminals
        bad = [t for t in terminals if len(t) != 1 or t == self.pad]
        if bad:
            raise ValueError(
                f"Grammar {self.name!r}: terminals must be single characters other than the "
                f"padding token {self.pad!r}; got {bad}."
            )

    # ------------------------------------------------------------ vocabulary
    @property
    def terminals(self):
        """The terminal symbols, sorted."""
        symbols = {s for productions in self.rules.values() for _, rhs in productions for s in rhs}
        return sorted(symbols - set(self.rules))

    @property
    def vocabulary(self):
        """The tokens: the padding token (id 0), then the sorted terminals."""
        return [self.pad] + self.terminals

    def encode(self, strings, length):
        """Token ids ``int32 [n, length]`` of terminal strings, padded with id 0."""
        index = {t: i for i, t in enumerate(self.vocabulary)}
        ids = np.zeros((len(strings), length), np.int32)
        for row, s in enumerate(strings):
            if len(s) > length:
                raise ValueError(f"{s!r} is longer than length={length}.")
            try:
                ids[row, : len(s)] = [index[c] for c in s]
            except KeyError as e:
                raise ValueError(
                    f"{s!r} has the token {e.args[0]!r}, which is not in the vocabulary of "
                    f"grammar {self.name!r}: {self.vocabulary}."
                ) from None
        return ids

    def decode(self, sequences, strip_padding=True):
        """Strings of token ids ``[n, length]`` or one-hot/probabilities ``[n, length, vocab]``
        (argmax), with the padding removed from the end."""
        from keras_gan.data.text import decode

        return decode(sequences, self.vocabulary, strip_padding=self.pad if strip_padding else None)

    # ------------------------------------------------------------ sampling
    def sample_strings(self, num_samples, max_length, seed=None):
        """``num_samples`` derived strings of at most ``max_length`` terminals.

        Leftmost derivations; one is abandoned (and another drawn) as soon as it
        must exceed ``max_length``, since every symbol yields at least one terminal.
        """
        max_length = int(max_length)
        if max_length < 1:
            raise ValueError(f"max_length must be >= 1; got {max_length}.")
        rng = np.random.default_rng(seed)
        table = {
            lhs: (np.cumsum([p for p, _ in prods]), [rhs for _, rhs in prods])
            for lhs, prods in self.rules.items()
        }
        out = []
        attempts = 0
        while len(out) < num_samples:
            attempts += 1
            if attempts > 1000 * max(num_samples, 1) + 10000:
                raise RuntimeError(
                    f"Grammar {self.name!r} rarely derives strings of <= {max_length} tokens; "
                    "use a larger length."
                )
            s = self._derive(table, rng, max_length)
            if s is not None:
                out.append(s)
        return out

    def _derive(self, table, rng, max_length):
        stack = [self.start]
        terminals = []
        while stack:
            symbol = stack.pop()
            if symbol not in table:
                terminals.append(symbol)
                continue
            cumulative, rhss = table[symbol]
            i = min(
                int(np.searchsorted(cumulative, rng.random() * cumulative[-1], "right")),
                len(rhss) - 1,
            )
            stack.extend(reversed(rhss[i]))
            if len(terminals) + len(stack) > max_length:
                return None
        return "".join(terminals)

    def sample(self, num_samples, length, seed=None):
        """Token ids ``int32 [num_samples, length]`` of padded derivations."""
        return self.encode(self.sample_strings(num_samples, length, seed), length)

    # ------------------------------------------------------------ validity
    def accepts(self, tokens):
        """Whether the grammar derives exactly ``tokens`` (a string or a sequence of
        terminal symbols). Earley's algorithm; exact, ``O(n^3)`` at worst."""
        tokens = list(tokens)
        n = len(tokens)
        if n == 0:
            return False
        rules = self.rules
        # An item is (lhs, production index, dot, origin). waiting[i][symbol] lists
        # the items of chart i whose next symbol is the nonterminal `symbol`.
        charts = [set() for _ in range(n + 1)]
        waiting = [{} for _ in range(n + 1)]

        def add(pos, item, agenda):
            if item not in charts[pos]:
                charts[pos].add(item)
                agenda.append(item)

        agenda = []
        for k in range(len(rules[self.start])):
            add(0, (self.start, k, 0, 0), agenda)
        for pos in range(n + 1):
            if pos > 0:
                agenda = list(charts[pos])
            while agenda:
                item = agenda.pop()
                lhs, k, dot, origin = item
                rhs = rules[lhs][k][1]
                if dot < len(rhs):
                    symbol = rhs[dot]
                    if symbol in rules:
                        waiting[pos].setdefault(symbol, []).append(item)
                        for j in range(len(rules[symbol])):
                            add(pos, (symbol, j, 0, pos), agenda)
                    elif pos < n and tokens[pos] == symbol:
                        charts[pos + 1].add((lhs, k, dot + 1, origin))
                else:  # complete: origin < pos, since no production is empty
                    for l2, k2, d2, o2 in waiting[origin].get(lhs, ()):
                        add(pos, (l2, k2, d2 + 1, o2), agenda)
        return any(
            lhs == self.start and dot == len(rules[lhs][k][1]) and origin == 0
            for lhs, k, dot, origin in charts[n]
        )

    def is_valid(self, sequence):
        """Whether a padded sequence (a string, or a sequence of tokens) is a non-empty
        string of the language followed only by padding tokens."""
        tokens = list(sequence)
        end = len(tokens)
        while end > 0 and tokens[end - 1] == self.pad:
            end -= 1
        body = tokens[:end]
        if self.pad in body:
            return False
        return self.accepts(body)


def _brackets():
    return Grammar(
        "brackets",
        {
            "S": (
                (0.2, ("S", "S")),
                (0.3, ("(", "S", ")")),
                (0.3, ("[", "S", "]")),
                (0.1, ("(", ")")),
                (0.1, ("[", "]")),
            )
        },
    )


def _arithmetic():
    return Grammar(
        "arithmetic",
        {
            "E": ((0.25, ("E", "+", "T")), (0.75, ("T",))),
            "T": ((0.25, ("T", "*", "F")), (0.75, ("F",))),
            "F": ((0.15, ("(", "E", ")")), (0.85, ("D",))),
            "D": tuple((0.1, (str(d),)) for d in range(10)),
        },
        start="E",
    )


GRAMMARS = {"brackets": _brackets(), "arithmetic": _arithmetic()}


def get_grammar(grammar=DEFAULT_GRAMMAR):
    """A shipped grammar by name (or a :class:`Grammar`, returned as is)."""
    if isinstance(grammar, Grammar):
        return grammar
    if grammar not in GRAMMARS:
        raise ValueError(f"Unknown grammar {grammar!r}. Allowed: {sorted(GRAMMARS)}.")
    return GRAMMARS[grammar]
