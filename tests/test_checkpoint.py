"""Checkpoint / resume, the divergence guard and the mode-collapse warning, in process."""

import json
import os
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import requires_mnist_idx, toy_gan

from keras_gan import models, networks
from keras_gan.callbacks import (
    Checkpoint,
    CheckpointMismatchError,
    DivergenceGuard,
    DiversityMonitor,
    ModeCollapseWarning,
    TrainingDiverged,
)
from keras_gan.metrics.diversity import mean_pairwise_distance, relative_diversity
from keras_gan.resume import plan, resume_fit

BATCH = 16


def fixed_batches(seed=0, n=BATCH):
    """The same batch at every step: training is then a deterministic function of
    the weights, the optimizer state and the noise generator."""
    x = np.random.default_rng(seed).normal(size=(n, 2)).astype(np.float32)
    return tf.data.Dataset.from_tensors(x).repeat()


def dropout_gan(hidden=8, seed=3):
    """A toy GAN whose discriminator has dropout (its RNG state is checkpointed too)."""
    keras.utils.set_random_seed(seed)
    g = networks.mlp_generator(
        latent_dim=2, hidden=(hidden,), output_shape=(2,), output_activation="linear"
    )
    d = networks.maxout_discriminator((2,), units=(8,), pieces=2, dropout=(0.2, 0.5))
    gan = models.GAN(g, d, latent_dim=2, seed=seed)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    return gan


class Interrupt(Exception):
    pass


class KillAt(keras.callbacks.Callback):
    """Raise at a given step, like a process killed there (nothing after it runs)."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.g_optimizer.iterations) == self.step:
            raise Interrupt()


def state_of(gan):
    return (
        [np.asarray(v) for v in gan.variables],
        [np.asarray(v) for v in gan.d_optimizer.variables + gan.g_optimizer.variables],
    )


def test_plan_runs_a_shortened_epoch_then_whole_ones():
    assert plan(0, 3, 10) == [(0, 3, 10)]
    assert plan(14, 3, 10) == [(1, 2, 6), (2, 3, 10)]
    assert plan(20, 3, 10) == [(2, 3, 10)]
    assert plan(29, 3, 10) == [(2, 3, 1)]
    assert plan(30, 3, 10) == [] and plan(45, 3, 10) == []


def test_saves_every_n_steps_and_at_epoch_ends_keeping_the_last_k(tmp_path):
    gan = toy_gan()
    gan.compile()
    checkpoint = Checkpoint(tmp_path / "ck", every_n_steps=4, keep=3)
    gan.fit(fixed_batches(), steps_per_epoch=10, epochs=2, verbose=0, callbacks=[checkpoint])
    # Saved at steps 4, 8, 10 (epoch end), 12, 16, 20 (epoch end); the last 3 kept.
    names = [os.path.basename(p) for p in checkpoint.checkpoints()]
    assert names == ["ckpt-12", "ckpt-16", "ckpt-20"]
    assert checkpoint.latest_step == 20
    files = sorted(os.listdir(tmp_path / "ck"))
    assert not [f for f in files if "ckpt-4." in f or "ckpt-10." in f or "_temp" in f]
    reader = tf.train.load_checkpoint(checkpoint.latest)
    assert reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE") == 2


def test_restore_brings_back_weights_optimizers_rng_and_epoch(tmp_path):
    gan = dropout_gan()
    checkpoint = Checkpoint(tmp_path / "ck", every_n_steps=5)
    gan.fit(fixed_batches(), steps_per_epoch=7, epochs=2, verbose=0, callbacks=[checkpoint])
    weights, slots = state_of(gan)

    fresh = dropout_gan(seed=99)  # other initial weights and RNG states
    state = Checkpoint(tmp_path / "ck").restore(fresh)
    assert state.step == 14 and state.epoch == 2 and state.path.endswith("ckpt-14")
    new_weights, new_slots = state_of(fresh)
    assert len(new_weights) == len(weights) and len(new_slots) == len(slots)
    for a, b in zip(weights + slots, new_weights + new_slots):
        np.testing.assert_array_equal(a, b)
    assert int(fresh.g_optimizer.iterations) == 14 and int(fresh.d_optimizer.iterations) == 14
    np.testing.assert_array_equal(fresh.seed_generator.state.numpy(), gan.seed_generator.state)
    assert Checkpoint(tmp_path / "empty").restore(dropout_gan()) is None


def test_a_killed_run_resumes_to_exactly_the_uninterrupted_result(tmp_path):
    """Killed mid-epoch twice and resumed: the same step count, and (the data
    being the same batch every step) bit-for-bit the same weights, optimizer
    state and noise RNG as a run that was never interrupted."""
    reference = dropout_gan()
    resume_fit(reference, fixed_batches(), epochs=3, steps_per_epoch=10, verbose=0)
    assert int(reference.g_optimizer.iterations) == 30

    directory = tmp_path / "ck"
    # The first run is the same program as the reference; the restarts build
    # their model with other seeds: everything must come from the checkpoint.
    for seed, kill_at, resumed_at in ((3, 14, 12), (99, 23, 21)):
        gan = dropout_gan(seed=seed)
        with pytest.raises(Interrupt):
            resume_fit(
                gan, fixed_batches(), epochs=3, steps_per_epoch=10, verbose=0,
                checkpoint=Checkpoint(directory, every_n_steps=3), callbacks=[KillAt(kill_at)],
            )  # fmt: skip
        assert Checkpoint(directory).latest_step == resumed_at
    gan = dropout_gan(seed=7)
    seen = []
    result = resume_fit(
        gan, fixed_batches(), epochs=3, steps_per_epoch=10, verbose=0,
        checkpoint=Checkpoint(directory, every_n_steps=3),
        on_resume=lambda state, epoch, done, spe, total: seen.append((state.step, epoch, done)),
    )  # fmt: skip
    assert seen == [(21, 2, 1)]  # epoch index 2 with 1 of its 10 steps done
    assert (result.initial_step, result.final_step, result.total_steps) == (21, 30, 30)
    assert int(gan.g_optimizer.iterations) == 30 and int(gan.d_optimizer.iterations) == 30
    assert len(result.history["g_loss"]) == 1  # the shortened last epoch
    for a, b in zip(*[state_of(m)[0] + state_of(m)[1] for m in (reference, gan)]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(gan.seed_generator.state.numpy(), reference.seed_generator.state)
    assert Checkpoint(directory).latest_step == 30


def test_an_incompatible_checkpoint_is_refused_naming_what_changed(tmp_path):
    gan = dropout_gan(hidden=8)
    checkpoint = Checkpoint(tmp_path / "ck", metadata={"generator": {"hidden": [8]}})
    gan.fit(fixed_batches(), steps_per_epoch=2, epochs=1, verbose=0, callbacks=[checkpoint])

    wider = dropout_gan(hidden=12)
    before = [np.asarray(v) for v in wider.variables]
    with pytest.raises(CheckpointMismatchError) as info:
        Checkpoint(tmp_path / "ck", metadata={"generator": {"hidden": [12]}}).restore(wider)
    message = str(info.value)
    assert "does not fit this model" in message
    assert "dense_0/kernel" in message and "[2, 12]" in message and "[2, 8]" in message
    assert "generator.hidden: [8] -> [12]" in message
    assert "\n" not in message and "Traceback" not in message
    for a, b in zip(before, wider.variables):  # nothing was restored
        np.testing.assert_array_equal(a, b)

    sgd = dropout_gan()
    sgd.compile(d_optimizer=keras.optimizers.SGD(0.1), g_optimizer=keras.optimizers.SGD(0.1))
    with pytest.raises(CheckpointMismatchError, match="d_optimizer is SGD here but Adam"):
        Checkpoint(tmp_path / "ck").restore(sgd)


def test_the_configured_learning_rate_wins_over_the_checkpointed_one(tmp_path):
    gan = dropout_gan()
    checkpoint = Checkpoint(tmp_path / "ck")
    gan.fit(fixed_batches(), steps_per_epoch=2, epochs=1, verbose=0, callbacks=[checkpoint])
    other = dropout_gan()
    other.d_optimizer.learning_rate = 0.5
    Checkpoint(tmp_path / "ck").restore(other)
    assert np.isclose(float(other.d_optimizer.learning_rate), 0.5)
    assert int(other.d_optimizer.iterations) == 2


def test_a_damaged_latest_checkpoint_falls_back_to_the_previous_one(tmp_path, caplog):
    gan = dropout_gan()
    checkpoint = Checkpoint(tmp_path / "ck", every_n_steps=2)
    gan.fit(fixed_batches(), steps_per_epoch=6, epochs=1, verbose=0, callbacks=[checkpoint])
    assert checkpoint.latest_step == 6
    data = tmp_path / "ck" / "ckpt-6.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:20])
    (tmp_path / "ck" / "ckpt-8_temp").mkdir()  # debris of a save killed half-way
    fresh = dropout_gan(seed=5)
    state = Checkpoint(tmp_path / "ck").restore(fresh)
    assert state.step == 4 and int(fresh.g_optimizer.iterations) == 4
    assert "ckpt-6" in caplog.text and "trying an older one" in caplog.text
    assert not (tmp_path / "ck" / "ckpt-8_temp").exists()


def test_non_finite_weights_are_never_checkpointed(tmp_path):
    gan = dropout_gan()
    checkpoint = Checkpoint(tmp_path / "ck")
    gan.fit(fixed_batches(), steps_per_epoch=3, epochs=1, verbose=0, callbacks=[checkpoint])
    files = sorted(os.listdir(tmp_path / "ck"))
    kernel = gan.generator.get_layer("output").kernel
    kernel.assign(np.full(kernel.shape, np.nan, np.float32))
    assert checkpoint.save() is None
    assert checkpoint.refused == (3, "weight output/kernel has 16 NaN/Inf value(s)")
    assert checkpoint.save(logs={"g_loss": float("inf")}) is None
    assert sorted(os.listdir(tmp_path / "ck")) == files and checkpoint.latest_step == 3


class PoisonAt(keras.callbacks.Callback):
    """Turn a generator weight into NaN after a given step (a divergence)."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.g_optimizer.iterations) == self.step:
            kernel = self.model.generator.get_layer("output").kernel
            kernel.assign(np.full(kernel.shape, np.nan, np.float32))


def test_divergence_guard_stops_naming_step_and_metric_and_keeps_the_last_good_checkpoint(
    tmp_path,
):
    gan = dropout_gan()
    checkpoint = Checkpoint(tmp_path / "ck", every_n_steps=3)
    guard = DivergenceGuard(checkpoint)
    with pytest.raises(TrainingDiverged) as info:
        gan.fit(
            fixed_batches(), steps_per_epoch=10, epochs=3, verbose=0,
            callbacks=[PoisonAt(14), checkpoint, guard],
        )  # fmt: skip
    error = info.value
    # Step 15 is the first whose losses are computed with the NaN weight.
    assert error.step == 15 and error.epoch == 2
    assert str(error).startswith("Training diverged at step 15 (epoch 2): d_loss is nan.")
    assert f"last good checkpoint is {tmp_path / 'ck' / 'ckpt-12'} (step 12)" in str(error)
    assert int(gan.g_optimizer.iterations) == 15  # stopped at once
    assert checkpoint.latest_step == 12
    fresh = dropout_gan(seed=8)
    Checkpoint(tmp_path / "ck").restore(fresh)
    assert all(np.isfinite(np.asarray(v)).all() for v in fresh.variables if v.dtype == "float32")


def test_an_absurd_learning_rate_trips_the_guard_before_anything_is_saved(tmp_path):
    gan = toy_gan()
    gan.compile(d_optimizer=keras.optimizers.SGD(1e30), g_optimizer=keras.optimizers.SGD(1e30))
    checkpoint = Checkpoint(tmp_path / "ck", every_n_steps=1)
    with pytest.raises(TrainingDiverged, match=r"at step \d+ \(epoch 1\): [dg]_loss is (nan|inf)"):
        gan.fit(
            fixed_batches(), steps_per_epoch=10, epochs=1, verbose=0,
            callbacks=[checkpoint, DivergenceGuard(checkpoint)],
        )  # fmt: skip
    for path in checkpoint.checkpoints():  # whatever was written is finite
        reader = tf.train.load_checkpoint(path)
        for key, _ in tf.train.list_variables(path):
            value = reader.get_tensor(key)
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                assert np.isfinite(value).all(), key


def test_the_guard_can_just_report():
    gan = dropout_gan()
    guard = DivergenceGuard(raise_error=False)
    gan.fit(fixed_batches(), steps_per_epoch=5, epochs=2, verbose=0, callbacks=[PoisonAt(2), guard])
    assert guard.diverged.step == 3 and int(gan.g_optimizer.iterations) == 3


# ------------------------------------------------------------------ diversity
def test_mean_pairwise_distance_and_relative_diversity():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5))
    brute = np.mean([np.linalg.norm(x[i] - x[j]) for i in range(300) for j in range(i + 1, 300)])
    assert np.isclose(mean_pairwise_distance(x), brute, rtol=1e-9)
    assert mean_pairwise_distance(np.ones((10, 3)) * 7.0) == 0.0
    y = rng.normal(size=(300, 5))
    assert 0.9 < relative_diversity(y, x) < 1.1
    assert np.isclose(relative_diversity(3 * x + 1, x), 3.0)
    with pytest.raises(ValueError, match="at least 2"):
        mean_pairwise_distance(x[:1])


def linear_gan(scale, **kwargs):
    """A generator ``G(z) = scale * z`` (scale 0: total collapse to one point);
    ``kwargs`` go to ``models.GAN``."""
    z = keras.Input((2,))
    out = keras.layers.Dense(2, kernel_initializer=keras.initializers.Identity(scale))(z)
    g = keras.Model(z, out)
    d = networks.mlp_discriminator((2,), hidden=(8,))
    gan = models.GAN(g, d, latent_dim=2, seed=0, **kwargs)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(1e-12), g_optimizer=keras.optimizers.SGD(1e-12)
    )  # the weights stay as built
    return gan


@pytest.mark.parametrize("scale, collapsed", [(0.0, True), (0.02, True), (1.0, False)])
def test_diversity_monitor_warns_on_collapse_and_logs_a_tensorboard_scalar(
    tmp_path, scale, collapsed
):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from keras_gan.data import load_arrays

    real, _ = load_arrays("gaussians_8", num_examples=512, seed=1)
    gan = linear_gan(scale)
    monitor = DiversityMonitor(real, every=2, num_samples=256, logdir=str(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan.fit(real, batch_size=64, epochs=4, verbose=0, callbacks=[monitor])
    assert [epoch for epoch, _ in monitor.history] == [1, 3]
    scores = [score for _, score in monitor.history]
    collapse_warnings = [w for w in caught if issubclass(w.category, ModeCollapseWarning)]
    if collapsed:
        assert max(scores) < 0.05
        assert len(collapse_warnings) == 2
        assert "Possible mode collapse at epoch 2" in str(collapse_warnings[0].message)
    else:
        assert min(scores) > 0.8  # N(0, I) spreads about as much as the ring
        assert not collapse_warnings
    acc = EventAccumulator(str(tmp_path / "train"), size_guidance={"tensors": 0})
    acc.Reload()
    events = acc.Tensors("diversity/relative")
    assert [e.step for e in events] == [1, 3]
    np.testing.assert_allclose(
        [float(tf.make_ndarray(e.tensor_proto)) for e in events], scores, rtol=1e-5
    )


@pytest.mark.parametrize("trained_scale, average_scale", [(1.0, 0.0), (0.0, 1.0)])
def test_diversity_monitor_watches_the_trained_generator_not_its_weight_average(
    trained_scale, average_scale
):
    """With ``ema_decay`` the average lags the training (and starts at the initial
    weights): the monitor samples the generator being trained, so a collapsed
    average beside a diverse generator is no alarm, and the reverse is one."""
    from keras_gan.data import load_arrays

    real, _ = load_arrays("gaussians_8", num_examples=512, seed=1)
    gan = linear_gan(trained_scale, ema_decay=0.999999)  # the average stays as set below
    _, bias = gan.ema_generator.get_weights()
    gan.ema_generator.set_weights([np.eye(2, dtype="float32") * average_scale, bias * 0])
    np.testing.assert_allclose(
        gan.sample(64, seed=3, average=False),
        trained_scale * gan.sample_latent(64, seed=3),
        atol=1e-6,
    )
    np.testing.assert_allclose(
        gan.sample(64, seed=3), average_scale * gan.sample_latent(64, seed=3), atol=1e-5
    )
    monitor = DiversityMonitor(real, every=1, num_samples=256)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan.fit(real, batch_size=64, epochs=1, verbose=0, callbacks=[monitor])
    collapse_warnings = [w for w in caught if issubclass(w.category, ModeCollapseWarning)]
    assert len(collapse_warnings) == (1 if trained_scale == 0 else 0)
    assert (monitor.history[0][1] > 0.8) == (trained_scale == 1.0)


def test_checkpoint_info_is_json_with_the_structure(tmp_path):
    gan = toy_gan()
    gan.compile()
    checkpoint = Checkpoint(tmp_path / "ck", metadata={"latent_dim": 2})
    gan.fit(fixed_batches(), steps_per_epoch=2, epochs=1, verbose=0, callbacks=[checkpoint])
    reader = tf.train.load_checkpoint(checkpoint.latest)
    info = json.loads(reader.get_tensor("info/.ATTRIBUTES/VARIABLE_VALUE"))
    assert info["format"] == "keras_gan.checkpoint.v1" and info["metadata"] == {"latent_dim": 2}
    assert info["structure"]["model_class"] == "GAN"
    assert info["structure"]["optimizers"]["g_optimizer"]["class"] == "Adam"


def test_diversity_monitor_checks_the_final_generator_and_warns_when_the_next_epoch_begins():
    from keras_gan.data import load_arrays

    real, _ = load_arrays("gaussians_8", num_examples=512, seed=1)
    gan = linear_gan(0.0)
    monitor = DiversityMonitor(real, every=2, num_samples=128)
    seen = {}

    class Count(keras.callbacks.Callback):  # runs after the monitor's hooks
        def on_epoch_end(self, epoch, logs=None):
            seen[("end", epoch)] = len(caught)

        def on_epoch_begin(self, epoch, logs=None):
            seen[("begin", epoch)] = len(caught)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gan.fit(real, batch_size=64, epochs=3, verbose=0, callbacks=[monitor, Count()])
    # the check of epoch 2 (index 1) warns when epoch 3 begins, not inside epoch 2's end
    assert seen[("end", 1)] == 0 and seen[("begin", 2)] == 1
    assert [epoch for epoch, _ in monitor.history] == [1, 2]  # epoch 3 is the last: checked
    collapse = [w for w in caught if issubclass(w.category, ModeCollapseWarning)]
    assert [str(w.message).split(":")[0] for w in collapse] == [
        "Possible mode collapse at epoch 2",
        "Possible mode collapse at epoch 3",
    ]
    assert all(w.filename.endswith("diversity.py") for w in collapse)


@requires_mnist_idx
def test_diversity_monitor_on_mnist_counts_classes_with_the_shipped_classifier():
    """Real digits cover all ten classes; samples that are all one digit (a collapse the
    pairwise distance can miss: distinct images of one class) are warned about."""
    from keras_gan.data import load_arrays

    digits, labels = load_arrays("mnist", "test[:2000]")

    class Sampler:  # what the monitor needs of a model: sample(n, seed, average)
        def __init__(self, images):
            self.images = images

        def sample(self, n, seed=0, average=True):
            return self.images[:n]

    for images, warned in ((digits, False), (digits[labels == 1], True)):
        monitor = DiversityMonitor(digits, num_samples=200, classifier="mnist")
        monitor.set_model(Sampler(images))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            monitor.on_epoch_end(0)
            monitor.on_train_end()
        collapse = [str(w.message) for w in caught if issubclass(w.category, ModeCollapseWarning)]
        covered = monitor.class_history[0][1]
        if warned:
            assert covered <= 2 and len(collapse) == 1
            assert "cover" in collapse[0] and "of 10 classes" in collapse[0]
        else:
            assert covered == 10 and not collapse


@requires_mnist_idx
def test_class_check_warns_on_classes_lost_not_on_classes_not_yet_learnt():
    from keras_gan.data import load_arrays

    digits, labels = load_arrays("mnist", "test[:2000]")
    ones = digits[labels == 1]

    class Sampler:
        images = ones

        def sample(self, n, seed=0, average=True):
            return self.images[:n]

    sampler = Sampler()
    monitor = DiversityMonitor(digits, num_samples=200, classifier="mnist")
    monitor.set_model(sampler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for epoch, images in enumerate((ones, digits, ones, digits)):
            sampler.images = images
            monitor.on_epoch_begin(epoch)
            monitor.on_epoch_end(epoch)
        monitor.on_train_end()
    collapse = [str(w.message) for w in caught if issubclass(w.category, ModeCollapseWarning)]
    assert [c for _, c in monitor.class_history][1::2] == [10, 10]
    assert len(collapse) == 1 and collapse[0].startswith("Possible mode collapse at epoch 3")


def test_diversity_monitor_names_non_finite_real_examples():
    real = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    real[5, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite values"):
        DiversityMonitor(real, num_samples=32)
    with pytest.raises(ValueError, match="all equal"):
        DiversityMonitor(np.ones((8, 2), "float32"))
