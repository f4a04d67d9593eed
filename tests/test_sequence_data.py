"""Grammar and text data sets: sampling, exact validity, vocabulary policy, bad input."""

import itertools

import numpy as np
import pytest

from keras_gan import data
from keras_gan.data.grammar import GRAMMARS, Grammar, get_grammar
from keras_gan.data.text import decode, load_text_ids, text_vocabulary, to_token_ids


# ------------------------------------------------------------------ grammars
def balanced(tokens):
    """An independent oracle for the brackets grammar: a stack check."""
    stack = []
    for t in tokens:
        if t in "([":
            stack.append(t)
        elif not stack or {"(": ")", "[": "]"}[stack.pop()] != t:
            return False
    return not stack and len(tokens) > 0


def derivable(grammar, max_length):
    """Every terminal string of at most ``max_length`` tokens the grammar derives,
    by expanding sentential forms breadth-first (no production is empty, so a
    form longer than ``max_length`` can be dropped)."""
    found, frontier, seen = set(), [(grammar.start,)], set()
    while frontier:
        form = frontier.pop()
        i = next((k for k, s in enumerate(form) if s in grammar.rules), None)
        if i is None:
            found.add("".join(form))
            continue
        for _, rhs in grammar.rules[form[i]]:
            new = form[:i] + tuple(rhs) + form[i + 1 :]
            if len(new) <= max_length and new not in seen:
                seen.add(new)
                frontier.append(new)
    return found


def test_brackets_recognizer_matches_a_stack_oracle_on_all_short_strings():
    g = get_grammar("brackets")
    for n in range(0, 9):
        for tokens in itertools.product("()[]", repeat=n):
            assert g.accepts(tokens) == balanced(tokens), tokens


@pytest.mark.parametrize("name, max_length", [("brackets", 8), ("arithmetic", 4)])
def test_recognizer_accepts_exactly_the_derivable_strings(name, max_length):
    g = get_grammar(name)
    language = derivable(g, max_length)
    assert language  # e.g. "()", "1+2"
    for n in range(1, max_length + 1):
        for tokens in itertools.product(g.terminals, repeat=n):
            assert g.accepts(tokens) == ("".join(tokens) in language), tokens


def test_validity_of_padded_sequences():
    g = get_grammar("brackets")
    assert g.is_valid("()[]____") and g.is_valid("([])")
    assert not g.is_valid("________")  # empty
    assert not g.is_valid("(_)_____")  # padding inside
    assert not g.is_valid("_()_____")  # padding first
    assert not g.is_valid("(]______")
    a = get_grammar("arithmetic")
    assert a.is_valid("(1+2)*3__") and not a.is_valid("12______") and not a.is_valid("+1")


@pytest.mark.parametrize("name", sorted(GRAMMARS))
def test_samples_are_valid_padded_and_reproducible(name):
    g = get_grammar(name)
    ids = g.sample(500, length=12, seed=3)
    assert ids.shape == (500, 12) and ids.dtype == np.int32
    assert all(g.is_valid([g.vocabulary[t] for t in row]) for row in ids)
    np.testing.assert_array_equal(ids, g.sample(500, length=12, seed=3))
    assert not np.array_equal(ids, g.sample(500, length=12, seed=4))
    lengths = (ids != 0).sum(1)
    assert lengths.min() >= 1 and lengths.max() <= 12 and len(set(lengths)) > 3


def test_load_dataset_grammar_gives_one_hot_batches():
    ds = data.load_dataset("grammar", batch_size=32, num_examples=100, length=10)
    batch = next(iter(ds)).numpy()
    assert batch.shape == (32, 10, 5) and batch.dtype == np.float32
    assert set(np.unique(batch)) == {0.0, 1.0} and (batch.sum(-1) == 1).all()
    assert data.sequence_vocabulary("grammar") == ["_", "(", ")", "[", "]"]
    x, ids = data.load_arrays("grammar", num_examples=50, length=10)
    np.testing.assert_array_equal(x.argmax(-1), ids)
    _, test_ids = data.load_arrays("grammar", split="test", num_examples=50, length=10)
    assert not np.array_equal(ids, test_ids)
    assert "grammar" in data.dataset_names() and "text" in data.dataset_names()


def test_grammar_bad_input():
    with pytest.raises(ValueError, match=r"Unknown grammar 'dyck'. Allowed: \['arithmetic'"):
        data.load_dataset("grammar", grammar="dyck")
    with pytest.raises(ValueError, match=r"Unknown argument\(s\) \['lenght'\]"):
        data.load_dataset("grammar", lenght=10)
    with pytest.raises(ValueError, match="length must be an int >= 1"):
        data.load_dataset("grammar", length=0)
    with pytest.raises(ValueError, match="has no labels"):
        data.load_dataset("grammar", with_labels=True)
    with pytest.raises(ValueError, match="sum to 0.9, not 1"):
        Grammar("bad", {"S": ((0.9, ("a",)),)})
    with pytest.raises(ValueError, match="terminals must be single characters"):
        Grammar("bad", {"S": ((1.0, ("ab",)),)})
    with pytest.raises(ValueError, match="not in the vocabulary"):
        get_grammar("brackets").encode(["(x)"], 4)


# ------------------------------------------------------------------ text
@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("hello world\n\nabc\r\nthis line is longer than ten\n", encoding="utf-8")
    return path


def test_text_vocabulary_is_built_from_the_file(text_file):
    ids, vocab = load_text_ids(text_file, length=10)
    assert vocab[0] == "\x00" and vocab[1:] == sorted(
        set("hello worl" + "abc" + "this line ")
    )  # the kept text
    assert ids.shape == (3, 10)  # the empty line is skipped
    assert decode(ids, vocab, strip_padding="\x00") == ["hello worl", "abc", "this line "]
    assert text_vocabulary(text_file, length=10) == vocab
    ds = data.load_dataset("text", path=str(text_file), length=10, batch_size=3, shuffle=False)
    batch = next(iter(ds)).numpy()
    assert batch.shape == (3, 10, len(vocab))
    np.testing.assert_array_equal(batch.argmax(-1), ids)


def test_text_with_a_given_vocabulary_and_oov(text_file):
    vocab = list("abcdefghijklmnopqrstuvwxyz ")
    with pytest.raises(ValueError) as info:
        load_text_ids(text_file, length=40, vocabulary="abcdefghij")
    message = str(info.value)
    assert "outside the vocabulary" in message and "'l' (line 1)" in message
    assert "oov=" in message
    ids, tokens = load_text_ids(text_file, length=40, vocabulary=vocab)
    assert tokens == ["\x00"] + vocab
    ids, tokens = load_text_ids(text_file, length=5, vocabulary="abcdeh?", oov="?")
    assert decode(ids, tokens, strip_padding="\x00") == ["he???", "abc", "?h???"]


def test_text_bad_input(tmp_path, text_file):
    with pytest.raises(ValueError, match="does not exist"):
        load_text_ids(tmp_path / "missing.txt", length=4)
    with pytest.raises(ValueError, match="needs path"):
        data.load_dataset("text", length=4)
    with pytest.raises(ValueError, match="needs length"):
        data.load_dataset("text", path=str(text_file))
    with pytest.raises(ValueError, match="length must be an int >= 1"):
        load_text_ids(text_file, length=0)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"ok\n\xff\xfe\n")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        load_text_ids(binary, length=4)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(ValueError, match="no non-empty lines"):
        load_text_ids(empty, length=4)
    with pytest.raises(ValueError, match="more than once"):
        load_text_ids(text_file, length=4, vocabulary="abca")
    with pytest.raises(ValueError, match="must not contain the padding token"):
        load_text_ids(text_file, length=4, vocabulary="ab_", pad="_")
    with pytest.raises(ValueError, match="contains the padding token ' '"):
        load_text_ids(text_file, length=40, pad=" ")
    with pytest.raises(ValueError, match="oov must be a token of the vocabulary"):
        load_text_ids(text_file, length=4, vocabulary="abc", oov="?")
    with pytest.raises(ValueError, match="Invalid split 'test' for text data"):
        data.load_dataset("text", path=str(text_file), length=4, split="test")


def test_token_id_helpers_refuse_bad_arrays():
    with pytest.raises(ValueError, match="token ids .* or one-hot"):
        to_token_ids(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="NaN or Inf"):
        to_token_ids(np.full((1, 2, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match=r"token ids must be in \[0, 2\)"):
        decode(np.array([[0, 5]]), ["a", "b"])
