"""One ``keras-gan serve`` with batching, metrics, config polling and the
explorer page, shared by the tests of those features (started once per test
process, on first use; stopped at exit).

It serves three tiny exports from a model config file re-read every 0.3 s:
``mnist`` (an image generator, 8 -> 16 -> 28x28x1 sigmoid), ``cond`` (a
conditional image generator, 3 classes) and ``seq`` (a sequence generator of 6
tokens over a 4-token vocabulary).
"""

import atexit
import os
import shutil
import tempfile
import types

import keras
import numpy as np
import requests
from serving_helpers import start_server, wait_for

from keras_gan import networks
from keras_gan.export import export_generator

LATENT = 8
NUM_CLASSES = 3
VOCABULARY = ["_", "a", "b", "c"]
LENGTH = 6
MODELS = ("mnist", "cond", "seq")
BATCHING = """
max_batch_size { value: 32 }
batch_timeout_micros { value: 4000 }
max_enqueued_batches { value: 50 }
num_batch_threads { value: 1 }
"""
_server = None


def image_gan():
    keras.utils.set_random_seed(3)
    g = networks.mlp_generator(latent_dim=LATENT, hidden=(16,), output_shape=(28, 28, 1))
    return types.SimpleNamespace(generator=g, latent_dim=LATENT, noise="uniform")


def conditional_gan():
    keras.utils.set_random_seed(4)
    z = keras.Input((LATENT,), name="z")
    labels = keras.Input((), dtype="int32", name="labels")
    h = keras.layers.Concatenate()([z, keras.layers.Embedding(NUM_CLASSES, 4)(labels)])
    h = keras.layers.Dense(28 * 28, activation="sigmoid")(keras.layers.Dense(16)(h))
    g = keras.Model([z, labels], keras.layers.Reshape((28, 28, 1))(h), name="cond_generator")
    return types.SimpleNamespace(
        generator=g, latent_dim=LATENT, noise="normal", num_classes=NUM_CLASSES
    )


def sequence_gan():
    keras.utils.set_random_seed(5)
    z = keras.Input((LATENT,))
    h = keras.layers.Reshape((LENGTH, len(VOCABULARY)))(
        keras.layers.Dense(LENGTH * len(VOCABULARY))(z)
    )
    g = keras.Model(z, keras.layers.Softmax()(h), name="seq_generator")
    return types.SimpleNamespace(
        generator=g, latent_dim=LATENT, noise="normal", vocabulary=VOCABULARY
    )


def config_text(root, names=MODELS):
    entries = "\n".join(
        f'config {{ name: "{n}" base_path: "{os.path.join(root, n)}" }}' for n in names
    )
    return f"model_config_list {{ {entries} }}\n"


def write_config(server, text):
    """Replace the served config file atomically (the poller never reads half)."""
    tmp = server.config + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, server.config)


def metrics(server):
    r = requests.get(server.rest_url + "/monitoring/prometheus/metrics", timeout=10)
    r.raise_for_status()
    return r.text


def get():
    """The shared server (started on first use)."""
    global _server
    if _server is not None:
        return _server
    root = tempfile.mkdtemp(prefix="keras-gan-production-")
    atexit.register(shutil.rmtree, root, True)
    export_generator(image_gan(), os.path.join(root, "mnist"))
    export_generator(conditional_gan(), os.path.join(root, "cond"))
    export_generator(sequence_gan(), os.path.join(root, "seq"))
    config = os.path.join(root, "models.config")
    with open(config, "w") as f:
        f.write(config_text(root))
    batching = os.path.join(root, "batching.config")
    with open(batching, "w") as f:
        f.write(BATCHING)
    monitoring = os.path.join(root, "monitoring.config")
    with open(monitoring, "w") as f:
        f.write('prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }\n')
    server = start_server(
        [
            "--model_config_file", config,
            "--model_config_file_poll_wait_seconds", "0.3",
            "--file_system_poll_wait_seconds", "0.3",
            "--enable_batching", "--batching_parameters_file", batching,
            "--monitoring_config_file", monitoring,
            "--max_num_samples", "256",
        ],
        models=list(MODELS),
        log_path=os.path.join(root, "server.log"),
    )  # fmt: skip
    server.root = root
    server.config = config
    atexit.register(server.stop)
    # The batching probes run in the background after the first request.
    for name in ("mnist", "cond"):
        inputs = {"num_samples": 1, "seed": 0} | ({"labels": [0]} if name == "cond" else {})
        requests.post(
            f"{server.rest_url}/v1/models/{name}:predict",
            json={"signature_name": "sample", "inputs": inputs},
            timeout=30,
        ).raise_for_status()
    wait_for(
        lambda: all(f"batching {n} version 1:" in server.log() for n in ("mnist", "cond")),
        timeout=60,
        what="the batching probes",
    )
    _server = server
    return server


def quantise(images, low=0.0, high=1.0):
    """What ``sample_png`` stores: 8 bits, round to nearest (half to even)."""
    scaled = np.clip((images - np.float32(low)) / np.float32(high - low), 0.0, 1.0)
    return np.round(scaled * np.float32(255.0)).astype(np.uint8)
