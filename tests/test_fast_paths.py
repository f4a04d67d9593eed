"""The faster defaults compute what the slower code computed: Maxout layouts,
packed dropout, the fused SGD update, the index-gathering image pipeline,
XLA-portable noise, and the FLOP count the throughput benchmark's bound uses."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import requires_mnist_idx

from keras_gan import data, flops, networks, noise
from keras_gan.config import ConfigError, load_config
from keras_gan.layers import Maxout, PackedDropout
from keras_gan.models.per_example import batch_dependent_layers
from keras_gan.optimizers import FusedSGD
from keras_gan.schedules import ExponentialDecayToFloor
from keras_gan.training import build_optimizer


# ------------------------------------------------------------------ Maxout
@pytest.mark.parametrize("layout", ["piece_major", "unit_major"])
def test_maxout_layouts_compute_their_documented_function(layout):
    rng = np.random.default_rng(0)
    units, pieces = 4, 3
    layer = Maxout(units, pieces=pieces, layout=layout)
    x = rng.standard_normal((5, 6)).astype("float32")
    out = np.asarray(layer(x))
    kernel = rng.standard_normal((6, units * pieces)).astype("float32")
    bias = rng.standard_normal(units * pieces).astype("float32")
    layer.set_weights([kernel, bias])
    z = x @ kernel + bias
    if layout == "piece_major":  # column j * units + i
        expected = z.reshape(5, pieces, units).max(axis=1)
    else:  # column i * pieces + j
        expected = z.reshape(5, units, pieces).max(axis=2)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-5, atol=1e-6)
    assert out.shape == (5, units)


def test_maxout_gradient_goes_to_the_winning_piece():
    layer = Maxout(2, pieces=3)
    x = tf.constant([[1.0]])
    layer.build((None, 1))
    layer.set_weights([np.array([[0.0, 1.0, 2.0, 5.0, -1.0, 0.5]], "float32"), np.zeros(6)])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(layer(x))
    grad = tape.gradient(y, layer.kernel).numpy()
    # piece-major: unit 0 = columns 0, 2, 4 (0, 2, -1) -> column 2; unit 1 = 1, 3, 5 -> 3.
    np.testing.assert_array_equal(grad, [[0, 0, 1, 1, 0, 0]])


def test_maxout_gradient_at_a_tie_goes_to_every_tied_piece():
    """Theano's max gradient (the paper's pylearn2 maxout), not reduce_max's split."""
    layer = Maxout(1, pieces=3)
    layer.build((None, 1))
    layer.set_weights([np.array([[2.0, 2.0, 1.0]], "float32"), np.zeros(3)])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(layer(tf.constant([[1.0]])))
    np.testing.assert_array_equal(tape.gradient(y, layer.kernel).numpy(), [[1, 1, 0]])


def test_maxout_second_derivatives_match_reduce_max():
    """A gradient penalty (WGAN-GP) differentiates Maxout's gradient again."""
    rng = np.random.default_rng(1)
    layer = Maxout(4, pieces=3)
    x = tf.constant(rng.standard_normal((5, 6)), tf.float32)
    layer.build(x.shape)

    def penalty(maxout):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.reduce_sum(tf.sin(maxout(x)))
            g = inner.gradient(y, x)
            p = tf.reduce_sum(g**2)
        return g, outer.gradient(p, layer.kernel)

    def reference(v):
        z = tf.reshape(v @ layer.kernel + layer.bias, (-1, 3, 4))
        return tf.reduce_max(z, axis=1)

    for ours, theirs in zip(penalty(layer), penalty(reference)):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_maxout_saved_before_the_layout_option_loads_unit_major():
    layer = Maxout(3, pieces=2, layout="unit_major")
    config = layer.get_config()
    assert config["layout"] == "unit_major"
    del config["layout"]  # what keras-gan 0.1 wrote
    assert Maxout.from_config(config).layout == "unit_major"
    assert Maxout.from_config(Maxout(3).get_config()).layout == "piece_major"
    with pytest.raises(ValueError, match="Allowed: \\['piece_major', 'unit_major'\\]"):
        Maxout(3, layout="interleaved")


def test_saved_discriminator_round_trips_with_its_layout(tmp_path):
    d = networks.maxout_discriminator((6,), units=(4,), pieces=3, dropout=(0.0, 0.0))
    path = str(tmp_path / "d.keras")
    d.save(path)
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(0).random((3, 6)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(d(x)), rtol=1e-6)


# ------------------------------------------------------------ PackedDropout
@pytest.mark.parametrize(
    "rate, bits, effective",
    [(0.5, 8, 0.5), (0.25, 8, 0.25), (0.2, 8, 51 / 256), (0.01, 16, 655 / 65536),
     (1e-4, 32, round(1e-4 * 2**32) / 2**32), (0.0, 8, 0.0)],
)  # fmt: skip
def test_packed_dropout_quantises_the_rate_as_documented(rate, bits, effective):
    layer = PackedDropout(rate)
    assert (layer._bits, layer.effective_rate) == (bits, effective)
    assert abs(layer.effective_rate - rate) <= 0.005 * rate


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.01])
def test_packed_dropout_drops_at_its_rate_independently_and_keeps_the_mean(rate):
    layer = PackedDropout(rate, seed=7)
    x = tf.fill((500, 784), 3.0)
    y = layer(x, training=True).numpy()
    dropped = y == 0
    p, n = layer.effective_rate, dropped.size
    assert abs(dropped.mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y[~dropped], 3.0 / (1 - p), rtol=1e-6)
    # Units sharing a random word (neighbours) and rows are independent.
    both = (dropped[:, :-1] & dropped[:, 1:]).mean()
    assert abs(both - p * p) < 5 * np.sqrt(p * p * (1 - p * p) / dropped[:, 1:].size)
    rows = dropped.mean(axis=1)
    assert rows.std() < 2 * np.sqrt(p * (1 - p) / 784)
    # A fresh mask at every call; the identity at inference.
    assert (layer(x, training=True).numpy() == 0).tolist() != dropped.tolist()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


def test_packed_dropout_is_seeded_shaped_and_differentiable():
    a, b = PackedDropout(0.5, seed=3), PackedDropout(0.5, seed=3)
    x = np.ones((6, 5, 3), "float32")  # 90 units: not a whole number of 32-bit words
    first = a(x, training=True).numpy()
    np.testing.assert_array_equal(first, b(x, training=True).numpy())
    assert first.shape == x.shape and 0 < (first == 0).sum() < x.size
    # XLA draws the same masks (Philox integers; Keras' float dropout differs under XLA).
    c, d = PackedDropout(0.2, seed=9), PackedDropout(0.2, seed=9)
    xla = tf.function(lambda v: d(v, training=True), jit_compile=True, autograph=False)
    np.testing.assert_array_equal(xla(x).numpy(), c(x, training=True).numpy())
    # Unknown batch size in a graph; the gradient is the mask times the scale.
    layer = PackedDropout(0.2, seed=1)

    @tf.function(input_signature=[tf.TensorSpec([None, 784])])
    def forward_and_grad(v):
        with tf.GradientTape() as tape:
            tape.watch(v)
            out = layer(v, training=True)
        return out, tape.gradient(out, v)

    out, grad = forward_and_grad(tf.ones((7, 784)))
    np.testing.assert_array_equal(grad.numpy(), out.numpy())


def test_packed_dropout_config_round_trips_and_refuses_bad_arguments(tmp_path):
    layer = PackedDropout(0.3, seed=5, bits=16, name="drop")
    clone = PackedDropout.from_config(layer.get_config())
    assert (clone.rate, clone.seed, clone.bits, clone.name) == (0.3, 5, 16, "drop")
    assert PackedDropout(0.2, bits=16).effective_rate == 13107 / 65536  # bits overrides
    d = networks.maxout_discriminator((6,), units=(4,), pieces=3, dropout=(0.2, 0.5))
    assert [type(x).__name__ for x in d.layers].count("PackedDropout") == 2
    d.save(str(tmp_path / "d.keras"))
    loaded = keras.models.load_model(str(tmp_path / "d.keras"))
    assert loaded.get_layer("dropout_0").effective_rate == 51 / 256
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\); got 1.0"):
        PackedDropout(1.0)
    with pytest.raises(ValueError, match="must be a number"):
        PackedDropout("half")
    with pytest.raises(ValueError, match="bits must be None, 8, 16 or 32; got 4"):
        PackedDropout(0.5, bits=4)
    with pytest.raises(ValueError, match="seed must be an int or None"):
        PackedDropout(0.5, seed=1.5)


# ---------------------------------------------------------------- FusedSGD
def _compiled_apply(optimizer, variables):
    @tf.function
    def apply(gs):
        optimizer.apply_gradients(zip(gs, variables))

    return apply


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("schedule", [False, True])
def test_fused_sgd_updates_exactly_like_keras_sgd(nesterov, schedule):
    rng = np.random.default_rng(0)
    initial = [rng.standard_normal((7, 5)), rng.standard_normal(5)]
    grads = [[rng.standard_normal(w.shape).astype("float32") for w in initial] for _ in range(4)]
    results = []
    for cls in (keras.optimizers.SGD, FusedSGD):
        variables = [keras.Variable(w.astype("float32")) for w in initial]
        lr = ExponentialDecayToFloor(0.1, 0.9, 0.01) if schedule else 0.1
        optimizer = cls(lr, momentum=0.7, nesterov=nesterov)

        apply = _compiled_apply(optimizer, variables)
        for gs in grads:
            apply(gs)
        results.append([np.asarray(v) for v in variables + list(optimizer.momentums)])
    for keras_value, fused_value in zip(*results):
        np.testing.assert_array_equal(fused_value, keras_value)


def test_fused_sgd_is_what_configs_build_and_it_saves(tmp_path):
    config = load_config("mnist_mlp")
    optimizer = build_optimizer(config.d_optimizer)
    assert type(optimizer) is FusedSGD and optimizer.momentum == 0.5
    plain = FusedSGD(0.1)  # no momentum: Keras' update
    v = keras.Variable(np.ones(3, "float32"))
    plain.apply_gradients([(tf.ones(3), v)])
    np.testing.assert_allclose(np.asarray(v), 0.9)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is FusedSGD
    assert restored.get_config() == optimizer.get_config()


# ---------------------------------------------------------------- pipeline
@requires_mnist_idx
@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_image_pipeline_values_equal_load_arrays(value_range):
    x, labels = data.load_arrays("mnist", "train[:1000]", value_range, source="idx")
    ds = data.load_dataset(
        "mnist",
        "train[:1000]",
        batch_size=100,
        value_range=value_range,
        shuffle=False,
        with_labels=True,
        source="idx",
    )
    assert ds.cardinality() == 10
    got = list(ds)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in got]), x)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in got]), labels)
    assert got[0][0].dtype == tf.float32 and got[0][1].dtype == tf.int32


@requires_mnist_idx
def test_image_pipeline_shuffles_every_epoch_reproducibly():
    x, labels = data.load_arrays("mnist", "train[:1050]", source="idx")
    index = {x[i].tobytes(): i for i in range(len(x))}

    def epochs(seed, n=2):
        ds = data.load_dataset(
            "mnist", "train[:1050]", batch_size=100, with_labels=True, seed=seed, source="idx"
        )
        assert ds.cardinality() == 10  # the remainder of 50 is dropped
        out = []
        for _ in range(n):
            order = []
            for images, batch_labels in ds:
                for image, label in zip(images.numpy(), batch_labels.numpy()):
                    i = index[image.tobytes()]
                    assert labels[i] == label  # labels travel with their images
                    order.append(i)
            out.append(order)
        return out

    first, second = epochs(seed=3)
    assert len(set(first)) == len(first) == 1000  # each example at most once per epoch
    assert first != second and first != sorted(first)
    assert epochs(seed=3) == [first, second]  # the same sequence of epochs for a seed
    assert epochs(seed=4, n=1)[0] != first


@requires_mnist_idx
def test_image_pipeline_remainder_and_single_examples():
    ds = data.load_dataset(
        "mnist", "train[:250]", batch_size=100, drop_remainder=False, shuffle=False, source="idx"
    )
    assert [int(b.shape[0]) for b in ds] == [100, 100, 50] and ds.cardinality() == 3
    single = data.load_dataset("mnist", "train[:20]", batch_size=None, source="idx")
    assert single.cardinality() == 20 and next(iter(single)).shape == (28, 28, 1)


def _pipeline_ops(ds):
    graph = tf.compat.v1.GraphDef()
    graph.ParseFromString(ds._as_serialized_graph().numpy())
    return {node.op for node in graph.node} | {
        node.op for f in graph.library.function for node in f.node_def
    }


@pytest.mark.parametrize(
    "name, kwargs",
    [
        pytest.param("mnist", dict(source="idx"), marks=requires_mnist_idx),
        ("gaussians_8", dict(num_examples=1000)),
        ("grammar", dict(num_examples=200)),
    ],
)
def test_pipelines_prefetch_without_the_autotuner(name, kwargs):
    # tf.data's autotuner made fit stall for seconds at epoch ends (see
    # keras_gan.data.pipeline): every pipeline turns it off and prefetches a
    # fixed number of batches, with no parallel map left for it to tune.
    ds = data.load_dataset(name, batch_size=50, **kwargs)
    assert ds.options().autotune.enabled is False
    ops = _pipeline_ops(ds)
    assert "PrefetchDataset" in ops
    assert not {"ParallelMapDatasetV2", "ParallelMapDataset"} & ops, ops
    assert next(iter(ds)).shape[0] == 50


# ------------------------------------------------------------------- noise
@pytest.mark.parametrize("prior", ["uniform", "normal"])
def test_portable_noise_matches_tensorflow_and_xla(prior):
    seed = tf.constant([5, 7], tf.int32)
    shape = tf.constant([33, 7])  # an odd count for Box-Muller's pairs
    reference = noise.sample_latent(shape, seed, prior).numpy()

    def draw(s):
        return noise.portable_sample_latent(shape, s, prior)

    graph = tf.function(draw)(seed).numpy()
    xla = tf.function(draw, jit_compile=True)(seed).numpy()
    if prior == "uniform":
        np.testing.assert_array_equal(graph, reference)
    else:
        np.testing.assert_allclose(graph, reference, atol=1e-5)
    np.testing.assert_allclose(xla, graph, atol=1e-6)
    assert graph.shape == (33, 7)
    # TensorFlow's own op does not survive XLA (why the portable version exists).
    plain_xla = tf.function(lambda s: noise.sample_latent(shape, s, prior), jit_compile=True)
    assert np.abs(plain_xla(seed).numpy() - reference).max() > 0.1


# ------------------------------------------------------------------- FLOPs
def test_flops_of_the_papers_mnist_gan():
    g = networks.mlp_generator(latent_dim=100)
    d = networks.maxout_discriminator()
    s_g = 100 * 1200 + 1200 * 1200 + 1200 * 784
    s_d = 784 * 1200 + 240 * 1200 + 240 * 1
    expected = 2 * 100 * (4 * s_g - 100 * 1200 + 8 * s_d - 2 * 784 * 1200)
    assert expected == 3_566_784_000
    assert flops.training_step_flops(g, d, batch=100) == expected
    assert flops.training_step_flops(g, d, batch=100, joint=False) == expected
    gemms = flops.training_step_gemms(g, d, batch=100)
    assert sum(c for _, c, _ in gemms) == 25  # products per step with the joint call
    k2 = flops.training_step_flops(g, d, batch=100, d_steps=2)
    assert k2 == 2 * 100 * (2 * (s_g + 6 * s_d - 2 * 784 * 1200) + 3 * s_g - 100 * 1200 + 2 * s_d)


def test_flops_of_convolutions_count_their_im2col_products():
    x = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)
    up = keras.layers.Conv2DTranspose(2, 5, strides=2, padding="same")(h)
    net = keras.Model(x, up)
    conv, transposed = (flops.layer_gemm(layer, rows=10) for layer in net.layers[1:])
    assert (conv.m, conv.k, conv.n) == (10 * 4 * 4, 3 * 3 * 3, 4)
    assert (transposed.m, transposed.k, transposed.n) == (10 * 4 * 4, 4, 5 * 5 * 2)
    assert flops.layer_gemm(keras.layers.ReLU(), rows=10) is None
    depthwise = keras.Sequential([keras.Input((5, 3)), keras.layers.DepthwiseConv1D(1)])
    with pytest.raises(ValueError, match="Cannot count .*DepthwiseConv1D"):
        flops.layer_gemm(depthwise.layers[-1], rows=1)


# -------------------------------------------------------------- per example
def test_batch_dependent_layers_trusts_only_known_per_example_layers():
    assert batch_dependent_layers(networks.maxout_discriminator()) == []
    assert batch_dependent_layers(networks.dcgan_discriminator(normalization="layer")) == []
    assert batch_dependent_layers(networks.dcgan_discriminator(normalization="batch")) == [
        "down_1_bn"
    ]
    x = keras.Input((4,))
    lam = keras.Model(x, keras.layers.Lambda(lambda t: t - keras.ops.mean(t, axis=0))(x))
    assert len(batch_dependent_layers(lam)) == 1

    class Sub(keras.layers.Dense):  # may mix examples in its call
        pass

    assert batch_dependent_layers(keras.Sequential([keras.Input((4,)), Sub(2)])) != []

    class Custom(keras.Model):
        def call(self, t):
            return t

    assert batch_dependent_layers(Custom(name="custom")) == ["custom"]


def test_config_steps_per_execution():
    assert load_config("mnist_mlp").training.steps_per_execution == "auto"
    assert (
        load_config("mnist_mlp", {"training.steps_per_execution": 4}).training.steps_per_execution
        == 4
    )
    with pytest.raises(ConfigError, match="training.steps_per_execution"):
        load_config("mnist_mlp", {"training.steps_per_execution": 0})
