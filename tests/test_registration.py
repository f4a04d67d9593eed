"""``import keras_gan`` is enough for ``keras.models.load_model``, and is cheap.

The models are saved here, with the package imported as usual, and loaded in a
fresh interpreter that imports nothing of the package but ``keras_gan`` itself.
"""

import json
import subprocess
import sys

import numpy as np

from keras_gan import data, models, networks
from keras_gan.optimizers import FusedSGD
from keras_gan.schedules import ExponentialDecayToFloor


def _saved_models(tmp_path):
    """GAN (maxout D, fused SGD with a decaying rate), WGAN-GP, WGAN, conditional and
    sequence models, saved compiled; returns {path: 4 samples of seed 3}."""
    vocab = data.sequence_vocabulary("grammar", length=6)

    def mlp(model_cls, **kw):
        g = networks.mlp_generator(latent_dim=3, hidden=(8,), output_shape=(4,))
        d = networks.mlp_discriminator((4,), hidden=(8,))
        return model_cls(g, d, latent_dim=3, **kw)

    paper_d = networks.maxout_discriminator((4,), units=(8, 8), pieces=2)
    gan = models.GAN(
        networks.mlp_generator(latent_dim=3, hidden=(8,), output_shape=(4,)), paper_d, 3
    )
    gan.compile(
        d_optimizer=FusedSGD(ExponentialDecayToFloor(0.1, 0.99, 1e-3), momentum=0.5),
        g_optimizer=FusedSGD(0.1, momentum=0.5),
    )
    cgan = models.ConditionalGAN(
        networks.conditional_mlp_generator(
            latent_dim=3, num_classes=3, hidden=(8,), output_shape=(4,)
        ),
        networks.conditional_mlp_discriminator((4,), num_classes=3, hidden=(8,)),
        latent_dim=3,
        num_classes=3,
    )
    seq = models.GAN(
        networks.sequence_generator(
            latent_dim=3, output_shape=(6, len(vocab)), channels=4, num_blocks=1
        ),
        networks.sequence_critic((6, len(vocab)), channels=4, num_blocks=1),
        latent_dim=3,
        vocabulary=vocab,
    )
    samples = {}
    for name, model in [
        ("gan", gan),
        ("wgan_gp", mlp(models.WGANGP)),
        ("wgan", mlp(models.WGAN)),
        ("conditional", cgan),
        ("sequence", seq),
    ]:
        if not model.compiled:
            model.compile()
        path = str(tmp_path / f"{name}.keras")
        model.save(path)
        samples[path] = np.asarray(model.sample(4, seed=3)).tolist()
    return samples


LOADER = """
import json, sys
import keras_gan
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "imported TF"
import keras
import numpy as np
expected = json.loads(sys.stdin.read())
for path, samples in expected.items():
    model = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(model.sample(4, seed=3)), samples, rtol=1e-6, atol=1e-6)
    print(type(model).__name__, "ok")
"""


def test_load_model_after_a_bare_import_of_the_package(tmp_path):
    samples = _saved_models(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", LOADER],
        input=json.dumps(samples),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == [*"GAN ok WGANGP ok WGAN ok ConditionalGAN ok GAN ok".split()], (
        proc.stdout
    )


def test_serving_processes_do_not_import_the_training_classes():
    code = (
        "import sys\n"
        "from keras_gan import registration\n"
        "registration.skip_registration()\n"
        "import tensorflow, keras\n"
        "print(sorted(m for m in sys.modules if m.startswith('keras_gan.')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "['keras_gan.registration']"
