"""The compiled training step: traced once, the same with XLA, no host round trips,
steps per execution and the joint discriminator call."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import requires_mnist_idx, toy_gan

from keras_gan import data, models, networks
from keras_gan.models.base import AUTO_STEPS_PER_EXECUTION

IMAGE = (28, 28, 1)


def images(n=256, seed=0):
    return np.random.default_rng(seed).random((n,) + IMAGE).astype("float32")


def image_gan(model_cls=models.GAN, dropout=(0.0, 0.0, 0.0), seed=3, **kwargs):
    """The paper's MNIST architecture, small: MLP G, maxout D."""
    keras.utils.set_random_seed(1)
    g = networks.mlp_generator(latent_dim=8, hidden=(32,), output_shape=IMAGE)
    d = networks.maxout_discriminator(IMAGE, units=(16, 16), pieces=3, dropout=dropout)
    return model_cls(g, d, latent_dim=8, noise="uniform", seed=seed, **kwargs)


def sgd():
    return keras.optimizers.SGD(0.01, momentum=0.5)


class BatchLosses(keras.callbacks.Callback):
    """Losses after every step (its batch hook also makes fit run one step per call)."""

    def __init__(self):
        super().__init__()
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append([logs["d_loss"], logs["g_loss"]])


# ------------------------------------------------------------------ tracing
@pytest.mark.parametrize("steps_per_execution", ["auto", 1])
def test_training_step_is_traced_once_across_epochs(steps_per_execution):
    gan = image_gan()
    gan.compile(sgd(), sgd(), steps_per_execution=steps_per_execution)
    ds = tf.data.Dataset.from_tensor_slices(images()).batch(32, drop_remainder=True)
    gan.fit(ds, epochs=3, verbose=0)
    assert int(gan.g_optimizer.iterations) == 3 * 8
    assert gan.train_step_traces == 1
    gan.fit(ds, epochs=1, verbose=0)  # a second fit reuses the trace
    assert gan.train_step_traces == 1


def test_trace_counter_counts_retraces():
    """The counter sees a second input shape and a forced rebuild (so it can fail)."""
    gan = image_gan()
    gan.compile(sgd(), sgd())

    def batches(size):
        return tf.data.Dataset.from_tensor_slices(images(64)).batch(size, drop_remainder=True)

    gan.fit(batches(32), epochs=1, verbose=0)
    assert gan.train_step_traces == 1
    gan.fit(batches(16), epochs=1, verbose=0)  # a new batch shape: traced for any size
    assert gan.train_step_traces == 2
    gan.fit(batches(8), epochs=1, verbose=0)
    assert gan.train_step_traces == 2
    gan.make_train_function(force=True)
    gan.fit(batches(8), epochs=1, verbose=0)
    assert gan.train_step_traces == 3


@requires_mnist_idx
def test_mnist_pipeline_trains_with_one_trace():
    """The real input pipeline (IDX files, per-epoch shuffle) keeps one input signature."""
    ds = data.load_dataset("mnist", split="train[:640]", batch_size=32, source="idx")
    gan = image_gan(dropout=(0.2, 0.5, 0.5))
    gan.compile(sgd(), sgd())
    gan.fit(ds, epochs=2, verbose=0)
    assert int(gan.g_optimizer.iterations) == 40
    assert gan.train_step_traces == 1


# ---------------------------------------------------------------------- XLA
def _fit_losses(model, jit_compile, x, labels=None, steps=5):
    model.compile(
        sgd() if isinstance(model, models.GAN) else None,
        sgd() if isinstance(model, models.GAN) else None,
        jit_compile=jit_compile,
    )
    elements = x if labels is None else (x, labels)
    ds = tf.data.Dataset.from_tensor_slices(elements).batch(32 * model.d_steps, drop_remainder=True)
    recorder = BatchLosses()
    model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[recorder])
    return np.array(recorder.losses), model.get_weights()


@pytest.mark.parametrize("kind", ["gan", "gan_dropout", "wgan_gp", "conditional_gan"])
def test_jit_compile_gives_the_same_losses(kind):
    """Same seed, same initial weights: the XLA step matches the graph step (with
    dropout: the same masks, from the same seeded streams)."""

    def build():
        if kind == "gan":
            return image_gan()
        if kind == "gan_dropout":
            return image_gan(dropout=(0.2, 0.5, 0.5))
        keras.utils.set_random_seed(1)
        if kind == "wgan_gp":
            g = networks.mlp_generator(latent_dim=8, hidden=(32,), output_shape=IMAGE)
            d = networks.mlp_discriminator(IMAGE, hidden=(32,))
            return models.WGANGP(g, d, latent_dim=8, seed=3)
        g = networks.conditional_mlp_generator(
            latent_dim=8, num_classes=3, hidden=(32,), output_shape=IMAGE
        )
        d = networks.conditional_mlp_discriminator(IMAGE, num_classes=3, hidden=(32,))
        return models.ConditionalGAN(g, d, latent_dim=8, num_classes=3, seed=3)

    x = images(32 * 5 * 5)
    labels = np.arange(len(x)) % 3 if kind == "conditional_gan" else None
    plain, plain_weights = _fit_losses(build(), False, x, labels)
    xla, xla_weights = _fit_losses(build(), True, x, labels)
    assert plain.shape == (5, 2)
    np.testing.assert_allclose(xla, plain, rtol=1e-4, atol=1e-5)
    # Adam (WGAN-GP) moves a weight by ~ its learning rate (1e-4) whatever the size of
    # its gradient, so a weight whose gradient is ~0 may move either way.
    for a, b in zip(plain_weights, xla_weights):
        np.testing.assert_allclose(b, a, rtol=1e-3, atol=3e-4)


# -------------------------------------------------------- no host round trip
HOST_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


@pytest.mark.parametrize(
    "build", [lambda: image_gan(dropout=(0.2, 0.5, 0.5)), lambda: toy_gan(model_cls=models.WGANGP)]
)
def test_step_graph_has_no_host_callbacks_and_returns_device_metrics(build):
    """The whole step, metrics included, is one graph: no Python callbacks, no
    op pinned to another device, metric values returned as tensors."""
    gan = build()
    gan.compile()
    shape = (gan.d_steps * 16,) + tuple(gan.generator.output_shape[1:])
    fn = tf.function(gan.train_step).get_concrete_function(tf.TensorSpec(shape, tf.float32))
    graph_def = fn.graph.as_graph_def()
    nodes = list(graph_def.node)
    for function in graph_def.library.function:  # nested functions (gradients, ...)
        nodes += list(function.node_def)
    assert len(nodes) > 100
    assert not {node.op for node in nodes} & HOST_OPS
    assert {node.device for node in nodes} <= {""}  # nothing pinned to another device
    assert set(fn.structured_outputs) == set(gan.metric_names)
    for value in fn.structured_outputs.values():
        assert isinstance(value, tf.Tensor)
    # The metrics' accumulators are updated inside the step.
    tracker_handles = {v.value.handle.ref() for m in gan.metrics for v in m.variables}
    captured = {t.ref() for t in fn.captured_inputs}
    assert tracker_handles <= captured
    assert sum(node.op == "AssignAddVariableOp" for node in nodes) >= 2 * len(gan.metrics)


# ------------------------------------------------------- steps per execution
def test_auto_steps_per_execution_gives_the_same_training():
    def run(steps_per_execution):
        gan = image_gan(dropout=(0.2, 0.5, 0.5))
        gan.compile(sgd(), sgd(), steps_per_execution=steps_per_execution)
        ds = tf.data.Dataset.from_tensor_slices(images(32 * 20)).batch(32, drop_remainder=True)
        history = gan.fit(ds, epochs=2, verbose=0).history
        return gan, history

    auto, auto_history = run("auto")
    one, one_history = run(1)
    assert auto.steps_per_execution == AUTO_STEPS_PER_EXECUTION and one.steps_per_execution == 1
    assert int(auto.g_optimizer.iterations) == int(one.g_optimizer.iterations) == 40
    for name in one_history:
        np.testing.assert_allclose(auto_history[name], one_history[name], rtol=1e-6)
    for a, b in zip(auto.get_weights(), one.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_auto_steps_per_execution_respects_callbacks_and_epochs():
    gan = image_gan()
    gan.compile(sgd(), sgd())
    choose = gan.choose_steps_per_execution
    assert choose() == AUTO_STEPS_PER_EXECUTION
    assert choose(steps_per_epoch=25) == 5  # a divisor: epochs stay exact
    assert choose(steps_per_epoch=7) == 7
    assert choose(steps_per_epoch=13) == 1
    assert choose([BatchLosses()]) == 1  # batch-level hooks see every step
    assert choose([keras.callbacks.TerminateOnNaN()]) == 1
    assert choose([keras.callbacks.History(), keras.callbacks.EarlyStopping()]) == 10
    assert choose([keras.callbacks.TensorBoard("/tmp/unused")]) == 10  # epoch summaries
    assert choose([keras.callbacks.TensorBoard("/tmp/unused", update_freq=5)]) == 1
    # Exact step counts with an epoch that is not a multiple of 10.
    ds = tf.data.Dataset.from_tensor_slices(images()).batch(8, drop_remainder=True).repeat()
    gan.fit(ds, epochs=2, steps_per_epoch=25, verbose=0)
    assert gan.steps_per_execution == 5
    assert int(gan.g_optimizer.iterations) == 50
    # evaluate runs one step per call and sees all the data.
    finite = tf.data.Dataset.from_tensor_slices(images(64)).batch(8)
    evaluated = gan.evaluate(finite, verbose=0, return_dict=True)
    assert gan.steps_per_execution == 5 and np.isfinite(evaluated["d_loss"])


def test_checkpoint_and_divergence_guard_keep_several_steps_per_call(tmp_path):
    from keras_gan.callbacks import Checkpoint, DivergenceGuard

    gan = image_gan()
    gan.compile(sgd(), sgd())
    choose = gan.choose_steps_per_execution
    every_500 = Checkpoint(tmp_path / "a", every_n_steps=500)
    assert choose([every_500, DivergenceGuard(every_500)], steps_per_epoch=600) == 10
    # Saves stay on multiples of every_n_steps: the count must divide it.
    assert choose([Checkpoint(tmp_path / "b", every_n_steps=4)], steps_per_epoch=600) == 4
    assert choose([Checkpoint(tmp_path / "c", every_n_steps=7)], steps_per_epoch=600) == 1
    assert choose([Checkpoint(tmp_path / "d", every_n_steps=None)]) == 10
    # Saved at steps 4, 8, 10 (epoch end), 12, 16, 20 (epoch end), as with one step per call.
    checkpoint = Checkpoint(tmp_path / "e", every_n_steps=4, keep=10)
    ds = tf.data.Dataset.from_tensor_slices(images()).batch(8, drop_remainder=True).repeat()
    gan.fit(ds, epochs=2, steps_per_epoch=10, callbacks=[checkpoint], verbose=0)
    assert gan.steps_per_execution == 2
    names = [os.path.basename(p) for p in checkpoint.checkpoints()]
    assert names == ["ckpt-4", "ckpt-8", "ckpt-10", "ckpt-12", "ckpt-16", "ckpt-20"]


def test_steps_per_execution_validation_and_saving(tmp_path):
    gan = image_gan()
    with pytest.raises(ValueError, match="steps_per_execution must be 'auto' or an int >= 1"):
        gan.compile(steps_per_execution=0)
    gan.compile(sgd(), sgd())
    assert gan.get_compile_config()["steps_per_execution"] == "auto"
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_compile_config()["steps_per_execution"] == "auto"
    assert loaded.get_compile_config()["joint_discriminator_pass"] == "auto"


def test_eager_and_validation_fits_run_one_step_per_call():
    gan = image_gan()
    gan.compile(sgd(), sgd(), run_eagerly=True)
    ds = tf.data.Dataset.from_tensor_slices(images(64)).batch(32, drop_remainder=True)
    gan.fit(ds, epochs=1, verbose=0)
    assert gan.steps_per_execution == 1
    gan = image_gan()
    gan.compile(sgd(), sgd())
    gan.fit(ds, validation_data=ds, epochs=1, verbose=0)
    assert gan.steps_per_execution == 1


# --------------------------------------------------- joint discriminator pass
def test_joint_discriminator_pass_is_chosen_only_for_per_example_discriminators():
    gan = image_gan(dropout=(0.2, 0.5, 0.5))
    gan.compile()
    assert gan.joint_discriminator_pass is True
    bn = models.GAN(
        networks.dcgan_generator(latent_dim=4),
        networks.dcgan_discriminator(normalization="batch", base_filters=4),
        latent_dim=4,
    )
    bn.compile()
    assert bn.joint_discriminator_pass is False
    with pytest.raises(ValueError, match=r"down_1_bn"):
        bn.compile(joint_discriminator_pass=True)
    with pytest.raises(ValueError, match="True, False or 'auto'"):
        gan.compile(joint_discriminator_pass="yes")


@pytest.mark.parametrize("conditional", [False, True])
def test_joint_discriminator_pass_trains_like_two_calls(conditional):
    """Without dropout the joint call is the same computation."""

    def run(joint):
        keras.utils.set_random_seed(1)
        if conditional:
            g = networks.conditional_mlp_generator(
                latent_dim=4, num_classes=3, hidden=(16,), output_shape=(2,)
            )
            d = networks.conditional_mlp_discriminator((2,), num_classes=3, hidden=(16,))
            gan = models.ConditionalGAN(g, d, latent_dim=4, num_classes=3, seed=0)
        else:
            gan = toy_gan(seed=0)
        gan.compile(joint_discriminator_pass=joint)
        x = np.random.default_rng(0).normal(size=(256, 2)).astype("float32")
        elements = (x, np.arange(256) % 3) if conditional else x
        ds = tf.data.Dataset.from_tensor_slices(elements).batch(32, drop_remainder=True)
        history = gan.fit(ds, epochs=2, verbose=0).history
        return history, gan.get_weights()

    joint, joint_weights = run(True)
    separate, separate_weights = run(False)
    for name in separate:
        np.testing.assert_allclose(joint[name], separate[name], rtol=1e-4, atol=1e-6)
    for a, b in zip(joint_weights, separate_weights):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
