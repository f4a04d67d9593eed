"""Model directories that break under a running registry, and exports read while
they are written (in process; the real server: test_serving.py)."""

import json
import os
import shutil
import threading
import time
import types

import keras
import pytest
import tensorflow as tf

from keras_gan import networks
from keras_gan.export import export_generator, read_metadata
from keras_gan.serving.config import ServedModelConfig, VersionPolicy
from keras_gan.serving.errors import ServingError
from keras_gan.serving.registry import LoadError, ModelRegistry


class FakeLoaded:
    def __init__(self, name, version, path):
        self.name, self.version, self.path = name, version, path
        self.metadata = None


def make_registry(tmp_path, fail=(), policy=VersionPolicy()):
    def loader(name, version, path):
        if version in fail:
            raise LoadError(f"corrupt version {version}", "DATA_LOSS")
        return FakeLoaded(name, version, path)

    base = tmp_path / "m"
    base.mkdir()
    registry = ModelRegistry([ServedModelConfig("m", str(base), policy)], 0, loader=loader)
    return registry, base


def status(registry):
    return {v: (s.state, s.error_code, s.error_message) for v, s in registry.status("m")}


def test_a_base_path_that_goes_away_keeps_the_loaded_version_and_says_so(tmp_path):
    registry, base = make_registry(tmp_path)
    (base / "1").mkdir()
    registry.poll()
    assert status(registry) == {1: ("AVAILABLE", "OK", "")}

    base.rename(tmp_path / "moved")  # unmounted, deleted, renamed...
    registry.poll()
    assert registry.get("m").version == 1
    state, code, message = status(registry)[1]
    assert (state, code) == ("AVAILABLE", "OK")
    assert message.startswith("serving the copy loaded in memory: cannot list base path")

    base.write_text("not a directory")  # the path now names a file
    registry.poll()
    assert registry.get("m").version == 1 and "cannot list base path" in status(registry)[1][2]

    base.unlink()
    base.mkdir()  # back, but empty
    registry.poll()
    assert registry.get("m").version == 1
    assert "no version directories" in status(registry)[1][2]

    (base / "2").mkdir()  # a new version: it replaces the kept one, the note goes
    registry.poll()
    assert registry.get("m").version == 2
    assert status(registry) == {2: ("AVAILABLE", "OK", ""), 1: ("END", "OK", "")}


def test_the_served_version_vanishing_with_only_a_corrupt_one_left(tmp_path):
    registry, base = make_registry(tmp_path, fail={2})
    (base / "1").mkdir()
    registry.poll()
    (base / "2").mkdir()
    registry.poll()
    shutil.rmtree(base / "1")
    registry.poll()
    assert registry.get("m").version == 1  # still served: nothing else would serve
    states = status(registry)
    assert states[2][:2] == ("END", "DATA_LOSS")
    assert states[1][:2] == ("AVAILABLE", "OK") and "its directory is gone" in states[1][2]
    (base / "1").mkdir()  # restored: the note goes
    registry.poll()
    assert status(registry)[1] == ("AVAILABLE", "OK", "")


def test_numeric_entries_that_are_not_directories_are_ignored(tmp_path):
    registry, base = make_registry(tmp_path)
    (base / "1").mkdir()
    (base / "5").write_text("a file named like a version")
    os.symlink(tmp_path / "nowhere", base / "6")  # dangling
    os.symlink(base / "7", base / "7")  # a loop
    registry.poll()
    assert registry.get("m").version == 1 and set(dict(registry.status("m"))) == {1}
    with pytest.raises(ServingError, match=r"Specific\(m, 5\)"):
        registry.get("m", 5)


def test_retiring_a_version_still_unloads_it_when_another_serves(tmp_path):
    registry, base = make_registry(tmp_path, policy=VersionPolicy("latest", 2))
    for v in (1, 2):
        (base / str(v)).mkdir()
    registry.poll()
    shutil.rmtree(base / "1")
    registry.poll()
    assert {v: s[0] for v, s in status(registry).items()} == {2: "AVAILABLE", 1: "END"}


# ------------------------------------------------------------------ exports
REQUIRED = (
    "saved_model.pb",
    os.path.join("variables", "variables.index"),
    os.path.join("assets", "keras_gan_metadata.json"),
    os.path.join("assets.extra", "tf_serving_warmup_requests"),
)


def test_a_concurrent_reader_never_sees_a_partial_version(tmp_path):
    """A thread polls ``base/`` as fast as it can while versions are exported:
    every numeric directory it ever sees is complete, and loads at once."""
    keras.utils.set_random_seed(0)
    generator = networks.mlp_generator(latent_dim=4, hidden=(8,), output_shape=(3,))
    model = types.SimpleNamespace(generator=generator, latent_dim=4, noise="normal")
    base = tmp_path / "saved_models" / "toy"
    seen, problems, listings = {}, [], [0]
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                names = os.listdir(base)
            except FileNotFoundError:
                continue
            listings[0] += 1
            for name in names:
                if not name.isdigit():
                    continue
                path = base / name
                missing = [f for f in REQUIRED if not os.path.isfile(path / f)]
                if missing:
                    problems.append(f"version {name} seen without {missing}")
                    continue
                if name not in seen:  # first sight: it must load and hold its metadata now
                    try:
                        loaded = tf.saved_model.load(str(path))
                        images = loaded.signatures["sample"](
                            num_samples=tf.constant(2), seed=tf.constant(1, tf.int64)
                        )["images"]
                        seen[name] = (tuple(images.shape), read_metadata(path)["latent_dim"])
                    except Exception as e:  # pragma: no cover - reported below
                        problems.append(f"version {name}: {type(e).__name__}: {e}")
            time.sleep(0.001)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        paths = [export_generator(model, base) for _ in range(4)]
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
    assert not problems, problems[:5]
    assert [os.path.basename(p) for p in paths] == ["1", "2", "3", "4"]
    assert seen == {str(v): ((2, 3), 4) for v in (1, 2, 3, 4)}
    assert listings[0] > 50  # the reader really raced the writer
    assert sorted(os.listdir(base)) == ["1", "2", "3", "4"]  # no temporary left behind
    for path in paths:
        with open(os.path.join(path, "assets", "keras_gan_metadata.json")) as f:
            json.load(f)
