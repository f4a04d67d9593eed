"""Hostile REST requests for ``keras-gan serve``: hypothesis strategies, an oracle
that knows the right answer, and a sender.

Shared by ``tests/test_serving_fuzz.py`` (CI size) and
``benchmarks/fuzz_soak.py`` (full size). The server under test serves two
models exported by :func:`export_models`:

* ``fuzz``: an MLP generator ``z [n, 8] -> images [n, 6, 6, 1]``;
* ``cond``: a conditional stand-in ``(z [n, 8], labels [n]) -> [n, 5]`` with
  ``NUM_CLASSES`` classes.

Every request gets an :class:`Expectation` from :func:`expect`: ``ok`` (the
request is valid: a 200 with exactly the in-process generator's output),
``client_error`` (a 4xx, sometimes a specific one) or ``any`` (the oracle
cannot tell, e.g. JSON booleans mixed into float inputs, which NumPy casts).
Whatever the expectation, a 5xx is always a failure.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import math
import socket
import struct
import threading
import time
from urllib.parse import quote

import numpy as np
from hypothesis import strategies as st

LATENT = 8
IMAGE_SHAPE = (6, 6, 1)
COND_OUT = 5
NUM_CLASSES = 3
LIMIT = 64  # --max_num_samples
MAX_BYTES = 300_000  # --max_request_bytes
MODELS = ("fuzz", "cond")
INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)
FLOAT32_MAX = float(np.finfo(np.float32).max)
SERVER_FLAGS = [
    "--max_num_samples", str(LIMIT),
    "--max_request_bytes", str(MAX_BYTES),
    "--file_system_poll_wait_seconds", "0",
    "--num_request_threads", "4",
]  # fmt: skip


# ------------------------------------------------------------------ models
def build_models(seed=11):
    """The two in-process generators (Keras models), deterministic per seed."""
    import keras

    from keras_gan import networks

    keras.utils.set_random_seed(seed)
    fuzz = networks.mlp_generator(
        latent_dim=LATENT, hidden=(16,), output_shape=IMAGE_SHAPE, output_activation="tanh"
    )
    z = keras.Input((LATENT,), name="z")
    labels = keras.Input((), dtype="int32", name="labels")
    h = keras.layers.Concatenate()([z, keras.layers.Embedding(NUM_CLASSES, 4)(labels)])
    cond = keras.Model([z, labels], keras.layers.Dense(COND_OUT)(h), name="cond_generator")
    return {"fuzz": fuzz, "cond": cond}


def export_models(root, generators):
    """Export version 1 of each model under ``root/<name>``; return the
    ``--model_config_file`` path."""
    import types

    from keras_gan.export import export_generator

    lines = []
    for name, generator in generators.items():
        stand_in = types.SimpleNamespace(
            generator=generator,
            latent_dim=LATENT,
            noise="uniform" if name == "fuzz" else "normal",
            num_classes=NUM_CLASSES if name == "cond" else None,
        )
        export_generator(stand_in, root / name)
        lines.append(f'config {{ name: "{name}" base_path: "{root / name}" }}')
    path = root / "models.config"
    path.write_text("model_config_list {\n" + "\n".join(lines) + "\n}\n")
    return path


NOISE = {"fuzz": "uniform", "cond": "normal"}


class Generators:
    """Expected outputs, computed in process."""

    def __init__(self, generators):
        self.generators = generators

    def from_z(self, model, z, labels=None):
        g = self.generators[model]
        z = np.asarray(z, np.float32)
        if model == "cond":
            return np.asarray(g([z, np.asarray(labels, np.int32)], training=False))
        return np.asarray(g(z, training=False))

    def sample(self, model, n, seed, labels=None):
        from keras_gan.noise import stateless_latent_noise

        z = np.asarray(stateless_latent_noise(n, LATENT, seed, NOISE[model]))
        return self.from_z(model, z, labels)


# ------------------------------------------------------------------ requests
@dataclasses.dataclass
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: dict = dataclasses.field(default_factory=dict)
    note: str = ""

    def __repr__(self):
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        return f"Request({self.method} {self.path[:200]!r} body[{len(self.body)}]={body!r})"


@dataclasses.dataclass
class Expectation:
    kind: str  # "ok" | "client_error" | "any"
    status: int | None = None  # a specific status, when known
    check: object = None  # ok: callable(body_json) raising AssertionError if wrong
    why: str = ""


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _contains(value, predicate, depth=0):
    if predicate(value):
        return True
    if depth > 40:
        return False
    if isinstance(value, list):
        return any(_contains(v, predicate, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_contains(v, predicate, depth + 1) for v in value.values())
    return False


def _uncertain(value):
    """Values NumPy coerces in ways the oracle does not model: booleans mixed
    into numbers, integers beyond int64 (uint64)."""
    return _contains(value, lambda x: isinstance(x, bool)) or _contains(
        value, lambda x: _is_int(x) and x > INT64[1]
    )


def _matrix(value, width):
    """``value`` as a float32 ``[n, width]`` array with ``1 <= n <= LIMIT``, or ``None``."""
    if not isinstance(value, list) or not 1 <= len(value) <= LIMIT:
        return None
    for row in value:
        if not isinstance(row, list) or len(row) != width:
            return None
        if not all(_is_number(x) and (not _is_int(x) or INT64[0] <= x <= INT64[1]) for x in row):
            return None
    with np.errstate(over="ignore"):
        array = np.asarray(value, np.float64).astype(np.float32)
    return array if np.isfinite(array).all() else None


def _labels(value, n):
    if not isinstance(value, list) or len(value) != n:
        return None
    if not all(_is_int(x) and 0 <= x < NUM_CLASSES for x in value):
        return None
    return np.asarray(value, np.int32)


def _close(expected):
    def check(got):
        got = np.asarray(got, np.float32)
        assert got.shape == expected.shape, (got.shape, expected.shape)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)

    return check


def _parse_request_path(path):
    """``(model, version, label, verb, sub)`` of an API path, else ``None``."""
    import re

    m = re.fullmatch(
        r"/v1/models/([^/:]+)(?:/versions/([^/:]+)|/labels/([^/:]+))?"
        r"(?::(predict|classify|regress)|/(metadata))?",
        path,
        re.IGNORECASE,
    )
    return m.groups() if m else None


def expect(request, generators):
    """What a correct server answers to ``request`` (see the module doc)."""
    parsed = _parse_request_path(request.path)
    if parsed is None:
        return Expectation("any", why="not an API path")
    model, version, label, verb, sub = parsed
    from urllib.parse import unquote

    model = unquote(model)
    bad_version = version is not None and not (version.isdigit() and len(version) < 19)
    known = model in MODELS
    if request.method == "GET" and verb is None:
        if bad_version:
            return Expectation("client_error", 400, why="version not numeric")
        if label is not None:
            return Expectation("client_error", 404 if not known else 400, why="labels")
        if not known:
            return Expectation("client_error", 404, why="unknown model")
        if version is not None and int(version) != 1:
            return Expectation("client_error", 404, why="unknown version")

        def check_get(body):
            if sub:
                assert body["model_spec"]["name"] == model
                assert body["model_spec"]["version"] == "1"
                assert body["metadata"]["keras_gan"]["latent_dim"] == LATENT
            else:
                (entry,) = body["model_version_status"]
                assert entry["version"] == "1" and entry["state"] == "AVAILABLE"

        return Expectation("ok", 200, check_get)
    if request.method != "POST" or verb is None:
        return Expectation("client_error", why="method/path combination")
    if bad_version:
        return Expectation("client_error", 400, why="version not numeric")
    if verb.lower() != "predict":
        return Expectation("client_error", 400, why=f"{verb} unsupported")
    if len(request.body) > MAX_BYTES:
        return Expectation("client_error", 413, why="body over the limit")
    return _expect_predict(request.body, model, version, label, generators)


def _expect_predict(body, model, version, label, generators):
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Expectation("client_error", 400, why="not JSON")
    if not isinstance(obj, dict):
        return Expectation("client_error", 400, why="not an object")
    signature = obj.get("signature_name", "")
    if not isinstance(signature, str):
        return Expectation("client_error", 400, why="signature_name type")
    if ("instances" in obj) == ("inputs" in obj):
        return Expectation("client_error", 400, why="instances xor inputs")
    if model not in MODELS:
        return Expectation("client_error", 404, why="unknown model")
    if label is not None:
        return Expectation("client_error", 400, why="no labels configured")
    if version is not None and int(version) != 1:
        return Expectation("client_error", 404, why="unknown version")
    signature = signature or "serving_default"
    if signature not in ("serving_default", "sample"):
        return Expectation("client_error", 400, why="unknown signature")
    rows = "instances" in obj
    payload = obj["instances"] if rows else obj["inputs"]
    if _uncertain(payload):
        return Expectation("any", why="bools or uint64 in the inputs")
    names = ["z"] if signature == "serving_default" else ["num_samples", "seed"]
    if model == "cond":
        names.append("labels")
    arrays = _decode(payload, rows, names)
    if arrays is None:
        return Expectation("client_error", 400, why="inputs do not fit the signature")
    expected = _evaluate(model, signature, arrays, generators)
    if expected is None:
        return Expectation("client_error", 400, why="values out of range")
    key = "predictions" if rows else "outputs"

    def check(response):
        assert set(response) == {key}, sorted(response)
        _close(expected)(response[key])

    return Expectation("ok", 200, check)


def _decode(payload, rows, names):
    """The inputs by name (raw JSON values), as the row or columnar format
    carries them, or ``None`` when the layout is wrong."""
    if rows:
        if not isinstance(payload, list) or not payload or len(payload) > LIMIT:
            return None
        if all(isinstance(x, dict) for x in payload):
            if any(set(x) != set(names) for x in payload):
                return None
            return {k: [x[k] for x in payload] for k in names}
        if len(names) != 1:
            return None
        return {names[0]: payload}
    if isinstance(payload, dict):
        return payload if set(payload) == set(names) else None
    return {names[0]: payload} if len(names) == 1 else None


def _evaluate(model, signature, arrays, generators):
    """The expected output for well-laid-out inputs, or ``None`` if a value is invalid."""
    if signature == "serving_default":
        z = _matrix(arrays["z"], LATENT)
        if z is None:
            return None
        labels = None
        if model == "cond":
            labels = _labels(arrays["labels"], len(z))
            if labels is None:
                return None
        return generators.from_z(model, z, labels)
    n, seed = arrays["num_samples"], arrays["seed"]
    if not (_is_int(n) and 1 <= n <= LIMIT and _is_int(seed) and INT64[0] <= seed <= INT64[1]):
        return None
    labels = None
    if model == "cond":
        labels = _labels(arrays["labels"], n)
        if labels is None:
            return None
    return generators.sample(model, n, seed, labels)


# ------------------------------------------------------------------ strategies
HOSTILE_INTS = [0, 1, -1, LIMIT, LIMIT + 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63,
                -(2**63), -(2**63) - 1, 2**64, 10**30]  # fmt: skip
HOSTILE_FLOATS = [math.nan, math.inf, -math.inf, 1e39, -1e39, 3.4e38, 1e-45, -0.0, 0.5, 1e308]
KEYS = ["signature_name", "instances", "inputs", "z", "num_samples", "seed", "labels", "x"]

numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE_INTS + HOSTILE_FLOATS),
)
scalars = st.one_of(numbers, st.booleans(), st.none(), st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=4),
    ),
    max_leaves=24,
)


def _mutate(draw, value):
    """Replace a random entry of nested lists by something hostile (or not)."""
    kind = draw(
        st.sampled_from(
            [None] * 20
            + ["nan", "inf", "huge", "string", "null", "bool", "list", "dict", "drop", "extra"]
        )
    )
    if kind is None or not isinstance(value, list) or not value:
        return value
    i = draw(st.integers(0, len(value) - 1))
    target = value[i]
    if isinstance(target, list) and target and draw(st.booleans()):
        j = draw(st.integers(0, len(target) - 1))
        replaced = _hostile(kind, target[j])
        value[i] = target[:j] + ([replaced] if kind != "drop" else []) + target[j + 1 :]
        if kind == "extra":
            value[i] = target + [0.0]
    else:
        replaced = _hostile(kind, target)
        value[i : i + 1] = [] if kind == "drop" else [replaced]
        if kind == "extra":
            value.append(target)
    return value


def _hostile(kind, original):
    return {
        "nan": math.nan,
        "inf": -math.inf,
        "huge": 10**40,
        "string": "0.5",
        "null": None,
        "bool": True,
        "list": [original],
        "dict": {"z": original},
        "drop": None,
        "extra": original,
    }[kind]


@st.composite
def z_values(draw, n=None):
    if n is None:
        n = draw(st.integers(1, 4) | st.sampled_from([0, 1, 2, LIMIT, LIMIT + 1]))
    width = draw(st.sampled_from([LATENT] * 6 + [0, 1, LATENT - 1, LATENT + 1]))
    seed = draw(st.integers(0, 2**32 - 1))
    values = np.random.default_rng(seed).uniform(-3, 3, (n, width)).round(5).tolist()
    if draw(st.integers(0, 9)) == 0:  # integers are numbers too
        values = [[int(x) for x in row] for row in values]
    return _mutate(draw, values)


@st.composite
def labels_values(draw, n):
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    n = draw(st.sampled_from([n] * 10 + [max(n - 1, 0), n + 1]))
    labels = draw(st.lists(st.integers(0, NUM_CLASSES - 1), min_size=n, max_size=n))
    if draw(st.integers(0, 9)) == 0 and labels:
        labels[draw(st.integers(0, len(labels) - 1))] = draw(
            st.sampled_from([-1, NUM_CLASSES, 2**31, 1.0, "1", None, True, [0]])
        )
    return labels


sample_counts = st.one_of(
    st.integers(1, 8), st.integers(1, LIMIT), st.integers(1, 8), st.sampled_from(HOSTILE_INTS),
    json_values,
)  # fmt: skip
seeds = st.one_of(
    st.integers(min_value=INT64[0], max_value=INT64[1]),
    st.integers(0, 1000),
    st.integers(min_value=INT64[0], max_value=INT64[1]),
    st.sampled_from(HOSTILE_INTS),
    json_values,
)


def _api_path(model, version=None, label=None, suffix=":predict"):
    path = f"/v1/models/{quote(model, safe='')}"
    if version is not None:
        path += f"/versions/{version}"
    if label is not None:
        path += f"/labels/{quote(label, safe='')}"
    return path + suffix


model_names = st.sampled_from(["fuzz"] * 10 + ["cond"] * 6 + ["nope", "FUZZ", "fuzz ", "é"])
versions = st.sampled_from(
    [None] * 40 + ["1", "1", "01", "2", "0", "-1", "abc", "1.0", "9" * 19, "9" * 30, "%31"]
)
labels_in_path = st.sampled_from([None] * 40 + ["stable", "x"])
verbs = st.sampled_from([":predict"] * 40 + [":PREDICT", ":classify", ":regress", ":nope"])


def encode(obj):
    return json.dumps(obj, allow_nan=True).encode()


@st.composite
def predict_requests(draw):
    """Structured predict requests: mostly close to valid, with one thing wrong."""
    model = draw(model_names)
    path = _api_path(model, draw(versions), draw(labels_in_path), draw(verbs))
    signature = draw(
        st.sampled_from(
            [None, "", "serving_default", "serving_default"] + ["sample"] * 5 + ["nope", 3]
        )
    )
    body = {} if signature is None else {"signature_name": signature}
    real = signature if signature in ("sample",) else "serving_default"
    conditional = model == "cond"
    layout = draw(st.sampled_from(["columns"] * 8 + ["rows"] * 5 + ["bare", "both", "none"]))
    if real == "sample":
        inputs = {"num_samples": draw(sample_counts), "seed": draw(seeds)}
        if conditional or draw(st.integers(0, 9)) == 0:
            n = inputs["num_samples"] if _is_int(inputs["num_samples"]) else 2
            inputs["labels"] = draw(labels_values(max(0, min(n, LIMIT + 1))))
    else:
        z = draw(z_values())
        inputs = {"z": z}
        if conditional or draw(st.integers(0, 9)) == 0:
            inputs["labels"] = draw(labels_values(len(z)))
    if draw(st.integers(0, 24)) == 0:
        inputs.pop(draw(st.sampled_from(sorted(inputs))))
    if draw(st.integers(0, 24)) == 0:
        inputs[draw(st.sampled_from(KEYS))] = draw(json_values)
    if layout == "columns":
        body["inputs"] = inputs
    elif layout == "bare":
        body["inputs"] = next(iter(inputs.values())) if inputs else []
    elif layout == "rows":
        if set(inputs) == {"z"} and draw(st.booleans()):
            body["instances"] = inputs["z"]
        else:
            n = max((len(v) for v in inputs.values() if isinstance(v, list)), default=1)
            body["instances"] = [
                {k: (v[i] if isinstance(v, list) and i < len(v) else v) for k, v in inputs.items()}
                for i in range(n)
            ]
    elif layout == "both":
        body["inputs"] = inputs
        body["instances"] = []
    payload = encode(body)
    cut = draw(st.integers(0, 29))
    if cut == 0:  # truncated JSON
        payload = payload[: draw(st.integers(0, max(0, len(payload) - 1)))]
    elif cut == 1:  # a corrupted byte
        i = draw(st.integers(0, len(payload) - 1))
        payload = payload[:i] + bytes([draw(st.integers(0, 255))]) + payload[i + 1 :]
    return Request("POST", path, payload, {"Content-Type": "application/json"}, "predict")


@st.composite
def valid_requests(draw):
    """Valid predict requests in every layout (checked against the in-process output)."""
    model = draw(st.sampled_from(MODELS))
    path = _api_path(model, draw(st.sampled_from([None, "1"])))
    if draw(st.booleans()):
        n = draw(st.integers(1, LIMIT))
        inputs = {"num_samples": n, "seed": draw(seeds.filter(_is_int) | st.integers(0, 9))}
        if model == "cond":
            inputs["labels"] = draw(
                st.lists(st.integers(0, NUM_CLASSES - 1), min_size=n, max_size=n)
            )
        body = {"signature_name": "sample", "inputs": inputs}
    else:
        n = draw(st.integers(1, 5) | st.integers(1, LIMIT))
        seed = draw(st.integers(0, 2**32 - 1))
        z = np.random.default_rng(seed).normal(size=(n, LATENT)).round(6).tolist()
        inputs = {"z": z}
        if model == "cond":
            inputs["labels"] = draw(
                st.lists(st.integers(0, NUM_CLASSES - 1), min_size=n, max_size=n)
            )
        body = {} if draw(st.booleans()) else {"signature_name": "serving_default"}
        layout = draw(st.sampled_from(["columns", "rows", "named rows", "bare"]))
        if layout == "columns" or (layout == "bare" and model == "cond"):
            body["inputs"] = inputs
        elif layout == "bare":
            body["inputs"] = z
        elif layout == "rows" and model == "fuzz":
            body["instances"] = z
        else:
            body["instances"] = [{k: v[i] for k, v in inputs.items()} for i in range(n)]
    return Request("POST", path, encode(body), {"Content-Type": "application/json"}, "valid")


@st.composite
def random_json_requests(draw):
    """Any JSON value as the body of a predict call."""
    value = draw(json_values | st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4))
    model = draw(st.sampled_from(MODELS))
    return Request("POST", _api_path(model), encode(value), note="random json")


@st.composite
def byte_requests(draw):
    """Random bytes, invalid UTF-8, BOMs, NULs."""
    body = draw(
        st.one_of(
            st.binary(max_size=200),
            st.sampled_from(
                [b"", b"\x00", b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"{" * 5, b"nul", b" "]
            ),
        )
    )
    return Request("POST", _api_path(draw(st.sampled_from(MODELS))), body, note="bytes")


@st.composite
def deep_requests(draw):
    """Deeply nested JSON, alone or inside an otherwise valid request."""
    depth = draw(st.sampled_from([10, 64, 65, 500, 999, 1000, 1001, 5000, 100_000, 140_000]))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    inner = opener * depth + "0" + closer * depth
    before, after = draw(st.sampled_from([("", ""), ('{"instances": ', "}"),
                                          ('{"inputs": {"z": ', "}}")]))  # fmt: skip
    body = before + inner + after
    return Request("POST", _api_path("fuzz"), body.encode(), note=f"depth {depth}")


@st.composite
def big_requests(draw):
    """Large arrays: many rows, long rows, bodies just under and over the limit."""
    target = draw(st.sampled_from([MAX_BYTES - 100, MAX_BYTES, MAX_BYTES + 1, 2 * MAX_BYTES,
                                   5 * MAX_BYTES // 2]))  # fmt: skip
    item = draw(st.sampled_from(["0,", "1.5,", "[0,0,0,0,0,0,0,0],", '"aaaaaaaa",', "null,"]))
    prefix, suffix = draw(st.sampled_from([('{"instances": [', "]}"),
                                           ('{"inputs": {"z": [', "]}}"),
                                           ('{"inputs": [', "]}")]))  # fmt: skip
    count = max(0, (target - len(prefix) - len(suffix) - 1) // len(item))
    body = (prefix + item * count + "0" + suffix).encode()
    body = body + b" " * max(0, target - len(body))
    return Request("POST", _api_path("fuzz"), body, note=f"{len(body)} bytes")


@st.composite
def path_requests(draw):
    """GET/POST/PUT/DELETE on valid and hostile paths."""
    method = draw(st.sampled_from(["GET"] * 6 + ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
    if draw(st.integers(0, 3)) == 0:
        alphabet = st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="#?")
        path = "/" + draw(st.text(alphabet, max_size=60))
    else:
        path = _api_path(
            draw(model_names),
            draw(versions),
            draw(labels_in_path),
            draw(st.sampled_from(["", "/metadata", ":predict", "/metadata/x", "/", ":"])),
        )
        if draw(st.integers(0, 9)) == 0:
            path = path.replace("/v1/", draw(st.sampled_from(["/v2/", "/V1/", "//v1/", "/v1//"])))
    body = encode({"signature_name": "sample", "inputs": {"num_samples": 1, "seed": 1}})
    return Request(method, path, body if method != "GET" else b"", note="path")


hostile_requests = st.one_of(
    valid_requests(),
    predict_requests(),
    predict_requests(),
    predict_requests(),
    random_json_requests(),
    byte_requests(),
    deep_requests(),
    big_requests(),
    path_requests(),
)

# ------------------------------------------------------------------ raw HTTP
_GOOD_BODY = b'{"signature_name": "sample", "inputs": {"num_samples": 2, "seed": 5}}'


@st.composite
def raw_http(draw):
    """Malformed HTTP/1.x on a raw socket."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(st.binary(min_size=1, max_size=300))
    if choice == 1:  # a bad request line
        method = draw(st.sampled_from(["GET", "POST", "G\x00T", "", "GET GET", "\xff"]))
        target = draw(st.sampled_from(["/v1/models/fuzz", "*", "", "http://x/v1/models/fuzz",
                                       "/v1/models/fuzz\x00", "/" + "a" * 9000]))  # fmt: skip
        version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/9.9", "HTTP/1", "", "FTP/1"]))
        return f"{method} {target} {version}\r\nHost: x\r\n\r\n".encode("utf-8", "surrogatepass")
    if choice == 2:  # bad or conflicting Content-Length
        length = draw(st.sampled_from(["-1", "abc", "1e3", "99999999999999999999", "10, 20",
                                       str(MAX_BYTES * 10), "0x10", " 5", ""]))  # fmt: skip
        duplicate = "Content-Length: 3\r\n" if draw(st.booleans()) else ""
        head = (
            f"POST /v1/models/fuzz:predict HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
            f"{duplicate}\r\n"
        )
        return head.encode() + _GOOD_BODY
    if choice == 3:  # broken chunked encoding
        chunks = draw(
            st.sampled_from(
                [
                    b"zz\r\nab\r\n0\r\n\r\n",
                    b"5\r\nab\r\n",
                    b"-1\r\n\r\n",
                    b"ffffffffffff\r\n",
                    b"3;x=y\r\nabc\r\n0\r\n\r\n",
                ]
            )
        )
        return (
            b"POST /v1/models/fuzz:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"\r\n" + chunks
        )
    if choice == 4:  # oversized / many headers
        n = draw(st.sampled_from([1, 100, 200, 1000]))
        size = draw(st.sampled_from([10, 8000, 9000, 70000]))
        headers = "".join(f"X-{i}: {'a' * (size if i == 0 else 3)}\r\n" for i in range(n))
        return f"GET /v1/models/fuzz HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode()
    if choice == 5:  # header garbage
        line = draw(st.binary(min_size=1, max_size=100))
        return b"GET /v1/models/fuzz HTTP/1.1\r\nHost: x\r\n" + line + b"\r\n\r\n"
    if choice == 6:  # a body shorter than announced (the client then half-closes)
        return (
            b"POST /v1/models/fuzz:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
            + _GOOD_BODY
        )
    if choice == 7:  # pipelined requests, one of them bad
        good = (
            b"POST /v1/models/fuzz:predict HTTP/1.1\r\nHost: x\r\nContent-Length: "
            + str(len(_GOOD_BODY)).encode() + b"\r\n\r\n" + _GOOD_BODY
        )  # fmt: skip
        return good + draw(st.binary(max_size=50)) + good
    if choice == 8:  # HTTP/0.9, HTTP/2 preface, TLS hello
        tls_hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40
        return draw(st.sampled_from([b"GET /\r\n", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", tls_hello]))
    return (
        b"POST /v1/models/fuzz:predict HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        b"Content-Length: " + str(len(_GOOD_BODY)).encode() + b"\r\n\r\n" + _GOOD_BODY
    )


# ------------------------------------------------------------------ sending
class Sender:
    """One keep-alive HTTP connection (reopened whenever the server closes it)."""

    def __init__(self, port, timeout=60.0):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def send(self, request):
        """``(status, content_type, body bytes)``."""
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(
                    request.method, request.path, body=request.body, headers=request.headers
                )
                response = self.conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.close()
                return response.status, response.getheader("Content-Type", ""), data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # a kept-alive connection the server had closed: retry once
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _final_response_complete(raw):
    """Whether ``raw`` holds a complete final (non-1xx) response."""
    import re

    while True:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            return False
        m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
        if m and m.group(1).startswith(b"1"):
            raw = rest  # 100 Continue: the final response follows
            continue
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        return length is not None and len(rest) >= int(length.group(1))


def send_raw(port, data, timeout=20.0, dribble=None, quiet=0.5):
    """Send raw bytes (optionally ``dribble=(chunk, delay)``) and read the answer:
    until one final response is complete, the server closes, or nothing comes
    for ``quiet`` seconds (an incomplete request gets no answer). The socket
    stays open for writing meanwhile: aiohttp drops a half-closed connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            if dribble:
                chunk, delay = dribble
                for i in range(0, len(data), chunk):
                    sock.sendall(data[i : i + chunk])
                    time.sleep(delay)
            else:
                sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading everything
        received = b""
        sock.settimeout(quiet)
        try:
            while not _final_response_complete(received):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                sock.settimeout(timeout)  # an answer started: wait for all of it
        except (TimeoutError, ConnectionResetError):
            pass
    return received


def statuses(raw):
    """The status codes of the HTTP responses in ``raw`` (pipelined ones too)."""
    import re

    return [int(m) for m in re.findall(rb"(?:^|\r\n|\})HTTP/1\.[01] (\d{3}) ", raw)]


# ------------------------------------------------------------------ soak
def soak_requests(generators, size=64, seed=0):
    """``size`` distinct valid requests (both models, both signatures, row and
    columnar formats, 1-16 samples) with their expected outputs:
    ``[(request, response key, expected array)]``."""
    rng = np.random.default_rng(seed)
    pool = []
    for i in range(size):
        model = "fuzz" if i % 4 else "cond"
        n = int(rng.integers(1, 17))
        labels = rng.integers(0, NUM_CLASSES, n).tolist() if model == "cond" else None
        if i % 2:
            inputs = {"num_samples": n, "seed": int(rng.integers(0, 2**40))}
            if labels is not None:
                inputs["labels"] = labels
            body, key = {"signature_name": "sample", "inputs": inputs}, "outputs"
            expected = generators.sample(model, n, inputs["seed"], labels)
        else:
            z = rng.normal(size=(n, LATENT)).astype(np.float32)
            expected = generators.from_z(model, z, labels)
            if i % 3 == 0 and model == "fuzz":
                body, key = {"instances": z.tolist()}, "predictions"
            else:
                inputs = {"z": z.tolist()}
                if labels is not None:
                    inputs["labels"] = labels
                body, key = {"inputs": inputs}, "outputs"
        request = Request("POST", f"/v1/models/{model}:predict", encode(body))
        pool.append((request, key, expected))
    return pool


def soak(port, pool, total, concurrency):
    """Send ``total`` requests cycling through ``pool`` from ``concurrency``
    client threads (one keep-alive connection each), checking every answer.
    Returns ``(results, error samples)``; ``results[i]`` is ``(completion time,
    latency s, ok)`` of request ``i``."""
    import threading

    counter = iter(range(total))
    lock = threading.Lock()
    results = [None] * total
    errors = []

    def client():
        sender = Sender(port)
        try:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                request, key, expected = pool[i % len(pool)]
                start = time.perf_counter()
                try:
                    status, _, data = sender.send(request)
                    ok = status == 200
                    if ok:
                        got = np.asarray(json.loads(data)[key], np.float32)
                        ok = got.shape == expected.shape and np.allclose(
                            got, expected, rtol=1e-5, atol=1e-5
                        )
                except Exception as e:  # a failed connection is an error too
                    ok, status, data = False, None, repr(e).encode()
                end = time.perf_counter()
                results[i] = (end, end - start, ok)
                if not ok and len(errors) < 20:
                    errors.append(f"request {i}: {status} {data[:300]!r}")
        finally:
            sender.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


# ------------------------------------------------------------------ checking
EXPLORER_FILES = {"/", "/explorer/explorer.html", "/explorer/explorer.js", "/explorer/explorer.css"}


def check_response(request, expectation, status, content_type, data):
    """Raise AssertionError unless the answer is a 4xx or a correct 200."""
    context = (
        f"{request!r} -> {status} {data[:300]!r} (expected {expectation.kind} "
        f"{expectation.status}: {expectation.why})"
    )
    assert status < 500, context
    if status == 200 and request.method == "GET" and request.path in EXPLORER_FILES:
        assert content_type.startswith(("text/html", "text/javascript", "text/css")), context
        return  # the sample explorer's static files (keras_gan.serving.explorer)
    assert content_type.startswith("application/json"), context
    body = json.loads(data)
    if status != 200:
        assert 400 <= status < 500, context
        assert isinstance(body, dict) and set(body) == {"error"}, context
        assert isinstance(body["error"], str) and body["error"], context
    if expectation.kind == "ok":
        assert status == 200, context
        try:
            expectation.check(body)
        except AssertionError as e:
            raise AssertionError(f"{context}: wrong answer: {e}") from None
    elif expectation.kind == "client_error":
        assert 400 <= status < 500, context
        if expectation.status is not None:
            assert status == expectation.status, context
    elif status == 200:
        assert isinstance(body, dict) and body, context


class Memory:
    """Samples a process's resident memory (RSS) in a thread; ``peak`` is the maximum."""

    def __init__(self, pid, interval=0.02):
        import psutil

        self._errors = psutil.Error
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self):
        return self.process.memory_info().rss

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.peak = max(self.peak, self.rss())
            except self._errors:
                return

    def start(self):
        self._thread.start()
        return self

    def reset_peak(self):
        self.peak = self.rss()

    def stop(self):
        self._stop.set()
        self._thread.join()
