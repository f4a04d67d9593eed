"""Keras layers used by the package's networks.

Example:

```python
import keras
from keras_gan.layers import GumbelSoftmax, Maxout, PackedDropout

x = keras.Input((784,))
h = Maxout(240, pieces=5)(PackedDropout(0.2)(x))  # 240 units, each the max of 5 affine pieces

logits = keras.Input((16, 5))
y = GumbelSoftmax(temperature=0.5, hard=True)(logits)  # one-hot [16, 5] samples
```
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

__all__ = ["Maxout", "MAXOUT_LAYOUTS", "PackedDropout", "GumbelSoftmax", "keyed_uniform"]

#: Column layouts of a :class:`Maxout` kernel (see its docstring).
MAXOUT_LAYOUTS = ("piece_major", "unit_major")


@tf.autograph.experimental.do_not_convert
@tf.custom_gradient
def _max_over_pieces(z):
    """``max`` over axis 1 of ``[batch, pieces, units]``, with Theano's gradient
    (``eq(max, x) * g``): the output's gradient goes to every piece equal to the max."""
    y = tf.reduce_max(z, axis=1)

    def grad(upstream):
        winners = tf.equal(z, y[:, None, :])
        return tf.where(winners, upstream[:, None, :], tf.zeros([], upstream.dtype))

    return y, grad


@keras.saving.register_keras_serializable(package="keras_gan")
class Maxout(keras.layers.Layer):
    """Maxout units (Goodfellow et al. 2013): ``h_i = max_j (x W_ij + b_ij)``.

    Implemented as one dense matrix multiply to ``units * pieces`` outputs
    followed by a max over the pieces, which is what a BLAS-backed CPU or a GPU
    runs fastest. The kernel has shape ``[input_dim, units * pieces]``; its
    columns are laid out by ``layout``:

    * ``"piece_major"`` (default): column ``j * units + i`` is piece ``j`` of
      unit ``i``, so the max runs over the middle axis of a
      ``[batch, pieces, units]`` view. This is about 2-3x faster (forward and
      backward) than reducing over a short innermost axis. Its gradient is the
      one Theano gives ``max`` and ``maximum`` (the paper's pylearn2 maxout
      ran on Theano): the output's gradient goes to every piece equal to the
      max, in two ops instead of the five of ``reduce_max``'s gradient, which
      splits it among tied pieces. The two differ only at exact ties.
    * ``"unit_major"``: column ``i * pieces + j``, the pieces of one unit
      adjacent. Layers saved by keras-gan 0.1 (whose configs have no
      ``layout`` key) are loaded with this layout, so they compute exactly what
      they computed before.

    Both layouts compute the same family of functions (they differ by a
    permutation of the kernel's columns), and with an i.i.d. initializer they
    are identically distributed at initialisation.

    Args:
        units: number of output units.
        pieces: number of linear pieces per unit (``k`` in the paper).
        kernel_initializer, bias_initializer: Keras initializers.
        layout: ``"piece_major"`` or ``"unit_major"`` (see above).
    """

    def __init__(
        self,
        units,
        pieces=5,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        layout="piece_major",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(units) < 1 or int(pieces) < 1:
            raise ValueError(
                f"Maxout needs units >= 1 and pieces >= 1; got units={units}, pieces={pieces}."
            )
        if layout not in MAXOUT_LAYOUTS:
            raise ValueError(f"Unknown Maxout layout {layout!r}. Allowed: {list(MAXOUT_LAYOUTS)}.")
        self.units = int(units)
        self.pieces = int(pieces)
        self.layout = layout
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_dim, self.units * self.pieces),
            initializer=self.kernel_initializer,
        )
        self.bias = self.add_weight(
            name="bias",
            shape=(self.units * self.pieces,),
            initializer=self.bias_initializer,
        )

    def call(self, inputs):
        z = ops.matmul(inputs, self.kernel) + self.bias
        if self.layout == "piece_major":
            return _max_over_pieces(ops.reshape(z, (-1, self.pieces, self.units)))
        z = ops.reshape(z, (-1, self.units, self.pieces))
        return ops.max(z, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            pieces=self.pieces,
            layout=self.layout,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Configs written before the layout option existed used the unit-major layout.
        config.setdefault("layout", "unit_major")
        return cls(**config)


def _check_seed(seed, layer):
    """``seed`` as an int, or None; a ValueError naming ``layer`` otherwise."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"{layer} seed must be an int or None; got {seed!r}.")
    return None if seed is None else int(seed)


# ------------------------------------------------------------------ Dropout
#: Most relative change of a :class:`PackedDropout` rate by its quantisation.
DROPOUT_RATE_TOLERANCE = 0.005


def _dropout_bits(rate):
    """Random bits per unit: 8 when a multiple of 2**-8 is within
    DROPOUT_RATE_TOLERANCE (relative) of ``rate``, else 16, else 32."""
    for bits in (8, 16):
        scale = 2**bits
        if abs(round(rate * scale) / scale - rate) <= DROPOUT_RATE_TOLERANCE * rate:
            return bits
    return 32


@keras.saving.register_keras_serializable(package="keras_gan")
class PackedDropout(keras.layers.Layer):
    """Dropout that draws 8 or 16 random bits per unit instead of a float.

    In training, each unit is zeroed with probability ``rate`` and the kept
    ones are scaled by ``1 / (1 - rate)``, as in ``keras.layers.Dropout``; at
    inference the layer is the identity. The difference is the random numbers:
    TensorFlow's CPU Philox kernel costs about 2.5 ns per 32-bit word on the
    2-core machine of BENCHMARKS.md, and ``keras.layers.Dropout`` spends one
    word per unit; this layer cuts each word into four 8-bit (or two 16-bit)
    integers and keeps a unit when its integer is at least ``round(rate *
    2**bits)``. On the paper's MNIST GAN (dropout on 784 inputs and twice on
    240 maxout units, in both players' updates) that makes a training step
    about 4% faster.

    **The rate is quantised** to a multiple of ``2**-bits``: 8 bits when that
    moves the rate by at most :data:`DROPOUT_RATE_TOLERANCE` (0.5%) of itself
    (0.5, 0.25 exactly; 0.2 becomes 51/256 = 0.19922), else 16 bits (any rate
    >= 0.0016), else 32. :attr:`effective_rate` is the rate used, and the
    kept units are scaled by ``1 / (1 - effective_rate)``, so the expected
    output equals the input exactly. ``bits`` overrides the choice.

    Masks come from the layer's own seeded stream
    (``keras.random.SeedGenerator(seed)``, as in ``keras.layers.Dropout``): a
    fresh draw at every call, reproducible as a whole run
    (``keras.utils.set_random_seed``), and identical under XLA
    (``jit_compile=True``) and without it. There is no ``noise_shape``; use
    ``keras.layers.Dropout`` or ``SpatialDropout*`` for shared masks.

    Args:
        rate: fraction of the units to drop, in ``[0, 1)``.
        seed: seed of the layer's random stream (``None``: a random one).
        bits: ``None`` (chosen from the rate, above), 8, 16 or 32.

    Example:

    ```python
    import keras
    from keras_gan.layers import PackedDropout

    x = keras.Input((784,))
    h = PackedDropout(0.2)(x)            # effective rate 0.19922 (8 bits per unit)
    h = keras.layers.Dense(240)(h)
    h = PackedDropout(0.5, seed=1)(h)    # exactly 0.5
    model = keras.Model(x, h)
    ```
    """

    def __init__(self, rate, seed=None, bits=None, **kwargs):
        super().__init__(**kwargs)
        try:
            rate = float(rate)
        except (TypeError, ValueError):
            raise ValueError(
                f"PackedDropout rate must be a number in [0, 1); got {rate!r}."
            ) from None
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"PackedDropout rate must be in [0, 1); got {rate!r}.")
        if bits is not None and bits not in (8, 16, 32):
            raise ValueError(f"PackedDropout bits must be None, 8, 16 or 32; got {bits!r}.")
        self.rate = rate
        self.seed = _check_seed(seed, "PackedDropout")
        self.bits = None if bits is None else int(bits)
        self._bits = self.bits or _dropout_bits(rate)
        self._threshold = round(rate * 2**self._bits)
        self.seed_generator = keras.random.SeedGenerator(seed, name="dropout_seed")
        self.supports_masking = True

    @property
    def effective_rate(self):
        """The drop probability used: ``rate`` rounded to a multiple of ``2**-bits``."""
        return self._threshold / 2**self._bits

    def call(self, inputs, training=False):
        if not training or self._threshold == 0:
            return inputs
        inputs = tf.convert_to_tensor(inputs)
        seed = self.seed_generator.next()
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)  # as Keras' dropout
        per_word = 32 // self._bits
        shape = tf.shape(inputs)
        size = tf.size(inputs)
        words = tf.random.stateless_uniform(
            [(size + per_word - 1) // per_word], seed, minval=None, maxval=None, dtype=tf.uint32
        )
        dtype = {8: tf.uint8, 16: tf.uint16, 32: tf.uint32}[self._bits]
        draws = tf.reshape(tf.bitcast(words, dtype), [-1])
        static = inputs.shape
        whole_words = (static.rank and static[-1] is not None and static[-1] % per_word == 0) or (
            static.num_elements() is not None and static.num_elements() % per_word == 0
        )
        if not whole_words:
            draws = draws[:size]  # drop the unused part of the last word
        keep = tf.reshape(draws, shape) >= tf.constant(self._threshold, dtype)
        scale = tf.constant(1.0 / (1.0 - self.effective_rate), inputs.dtype)
        return tf.where(keep, inputs * scale, tf.zeros([], inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed, bits=self.bits)
        return config


# ------------------------------------------------------------ Gumbel-Softmax
_GOLDEN = 0x9E3779B9  # 2**32 / golden ratio: Weyl-sequence increment of the counter
_KEY_SALTS = (0x243F6A88, 0x85A308D3)  # digits of pi: the two key lanes


def _fmix32(x):
    """MurmurHash3's 32-bit finalizer: a bijection on uint32 with full avalanche."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
    x = x * tf.constant(0x85EBCA6B, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 13))
    x = x * tf.constant(0xC2B2AE35, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def _uint32(value):
    return tf.constant(np.uint32(value & 0xFFFFFFFF), tf.uint32)


def bits_to_uniform(bits):
    """Map uint32 ``bits`` to float32 ``(t + 0.5) / 2**23`` with ``t`` their top 23 bits:
    uniform on ``[2**-24, 1 - 2**-24]``. ``t + 0.5`` is exact in float32 below
    ``2**23``, so ``u`` never rounds to 0 or 1 and ``-log(-log(u))`` is finite."""
    top = tf.cast(tf.bitwise.right_shift(bits, 9), tf.float32)
    return (top + 0.5) * (1.0 / 2**23)


def keyed_uniform(key, shape, salt=0):
    """Uniform ``(0, 1)`` float32 noise of shape ``[batch, *shape]``, a deterministic
    function of each row of ``key`` (``[batch, k]``, any float or int dtype).

    Row ``i`` of the result depends only on the bits of ``key[i]`` and ``salt``:
    the row's bits are hashed into a 64-bit key (two 32-bit lanes), and element
    ``j`` of the row is ``fmix32(fmix32(key_a + j * 0x9E3779B9) ^ key_b)`` with
    MurmurHash3's finalizer ``fmix32``; its top 24 bits give ``u = (h + 0.5) /
    2**24``. This is a counter-based generator like TensorFlow's stateless
    Philox ops but keyed *per row*, which those ops cannot do; it uses only
    integer ops, so eager code, ``tf.function``, XLA and an exported SavedModel
    give bit-identical noise. It is a statistical, not a cryptographic, generator.
    """
    key = tf.convert_to_tensor(key)
    if key.dtype.is_floating:
        key = tf.bitcast(tf.cast(key, tf.float32), tf.uint32)
    else:
        key = tf.cast(key, tf.int64)
        key = tf.cast(tf.bitwise.bitwise_and(key, 0xFFFFFFFF), tf.uint32)
    if key.shape.rank is None or key.shape.rank < 1:
        raise ValueError(f"keyed_uniform needs a key of shape [batch, ...]; got {key.shape}.")
    trailing = key.shape[1:]
    if not trailing.is_fully_defined():
        raise ValueError(f"keyed_uniform needs a key with static non-batch dims; got {key.shape}.")
    width = int(np.prod(trailing.as_list())) if trailing.rank else 1
    key = tf.reshape(key, [-1, width])
    salt = int(salt) & 0xFFFFFFFF
    lanes = []
    for lane_salt in _KEY_SALTS:
        column = np.arange(width, dtype=np.uint64) * _GOLDEN + lane_salt + salt * 0x2545F491
        column = tf.constant((column & 0xFFFFFFFF).astype(np.uint32), tf.uint32)
        mixed = _fmix32(tf.bitwise.bitwise_xor(key, column[None, :]))
        lanes.append(_fmix32(tf.reduce_sum(mixed, axis=1)))  # the sum wraps mod 2**32
    size = int(np.prod(shape)) if len(shape) else 1
    counter = tf.constant(
        (np.arange(size, dtype=np.uint64) * _GOLDEN & 0xFFFFFFFF).astype(np.uint32)
    )
    h = _fmix32(lanes[0][:, None] + counter[None, :])
    h = _fmix32(tf.bitwise.bitwise_xor(h, lanes[1][:, None]))
    u = bits_to_uniform(h)
    return tf.reshape(u, tf.concat([tf.shape(key)[:1], tf.constant(shape, tf.int32)], 0))


def _check_temperature(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"temperature must be a number > 0; got {value!r}.") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"temperature must be a finite number > 0; got {value!r}.")
    return value


@keras.saving.register_keras_serializable(package="keras_gan")
class GumbelSoftmax(keras.layers.Layer):
    """Gumbel-Softmax samples from logits (Jang et al. 2017; Maddison et al. 2017).

    ``y = softmax((logits + g) / temperature)`` over the last axis, with
    independent Gumbel noise ``g = -log(-log(u))``, ``u ~ U(0, 1)``. ``y`` lies on
    the probability simplex and approaches the one-hot Gumbel-max sample
    ``one_hot(argmax(logits + g))`` -- an exact draw from ``softmax(logits)`` --
    as the temperature goes to 0. With ``hard=True`` (the straight-through
    estimator) the forward output *is* that one-hot sample, exactly, while
    gradients are those of the soft ``y``.

    **Noise, and reproducible sampling.** The layer always samples, in training
    and in inference alike (it is a sampler, not a regulariser; for the
    deterministic ``softmax(logits / t)`` or ``argmax`` use those ops). Where
    the noise comes from depends on the inputs:

    * ``layer([logits, key])``: ``u`` is a deterministic function of each
      example's ``key`` row (:func:`keyed_uniform`, salted by ``seed``). A
      generator passes its latent vector ``z`` as the key, so the generator is a
      deterministic function of ``z``: ``GAN.sample(n, seed)``, which draws
      ``z`` from ``seed``, and an exported model's ``sample`` signature give the
      same sequences for the same seed, and fresh ``z`` in every training step
      gives fresh noise. :func:`keras_gan.networks.sequence_generator` does this.
    * ``layer(logits)``: ``u`` comes from the layer's own seeded stream
      (``keras.random.SeedGenerator(seed)``, as in ``Dropout``): a fresh draw at
      every call, reproducible only as a whole run (``keras.utils.set_random_seed``).

    **Temperature.** It is a non-trainable variable, so it can be changed during
    training (``layer.temperature = 0.5``, or
    :class:`keras_gan.callbacks.TemperatureSchedule`) without retracing the
    compiled training step; it is saved with the weights. It must be a finite
    number > 0 (``ValueError`` otherwise).

    **Non-finite logits** raise an error naming the layer: a ``ValueError`` in
    eager calls; an ``InvalidArgumentError`` from ``tf.debugging.check_numerics``
    inside a ``tf.function``. Under XLA (``jit_compile=True``) that check
    compiles to nothing, so NaN logits then give NaN outputs instead.

    Args:
        temperature: initial temperature ``> 0``.
        hard: straight-through: one-hot forward, soft gradients.
        seed: salt of the keyed noise and seed of the layer's own stream
            (``None``: salt 0 and a random stream).

    Example:

    ```python
    import keras
    from keras_gan.layers import GumbelSoftmax

    z = keras.Input((32,))
    logits = keras.layers.Reshape((16, 5))(keras.layers.Dense(16 * 5)(z))
    tokens = GumbelSoftmax(temperature=1.0, hard=True)([logits, z])  # one-hot, per z
    generator = keras.Model(z, tokens)
    ```
    """

    def __init__(self, temperature=1.0, hard=False, seed=None, **kwargs):
        super().__init__(**kwargs)
        self._initial_temperature = _check_temperature(temperature)
        if not isinstance(hard, (bool, np.bool_)):
            raise ValueError(f"hard must be True or False; got {hard!r}.")
        self.hard = bool(hard)
        self.seed = _check_seed(seed, "GumbelSoftmax")
        self.seed_generator = keras.random.SeedGenerator(seed, name="gumbel_seed")
        self.temperature_variable = None

    def build(self, input_shape):
        self.temperature_variable = self.add_weight(
            name="temperature",
            shape=(),
            initializer=keras.initializers.Constant(self._initial_temperature),
            trainable=False,
            dtype="float32",
        )

    @property
    def initial_temperature(self):
        """The temperature the layer was configured with (its ``temperature``
        argument); setting :attr:`temperature` or restoring weights leaves it alone."""
        return self._initial_temperature

    @property
    def temperature(self):
        """The current temperature (a Python float)."""
        if self.temperature_variable is None:
            return self._initial_temperature
        return float(keras.ops.convert_to_numpy(self.temperature_variable.value))

    @temperature.setter
    def temperature(self, value):
        value = _check_temperature(value)
        if self.temperature_variable is None:
            self._initial_temperature = value  # before build: the configured value
        else:
            self.temperature_variable.assign(value)

    def _split(self, inputs):
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 2:
                raise ValueError(
                    f"{self.name} takes logits or [logits, key]; got {len(inputs)} inputs."
                )
            return inputs[0], inputs[1]
        return inputs, None

    def _check_finite(self, logits):
        message = (
            f"{self.name}: the logits contain NaN or Inf values (Gumbel-Softmax needs finite "
            "logits; the network producing them has diverged or was fed non-finite input)"
        )
        if tf.executing_eagerly():
            if not bool(tf.reduce_all(tf.math.is_finite(logits))):
                raise ValueError(message + ".")
            return logits
        return tf.debugging.check_numerics(logits, message)

    def call(self, inputs, training=None):
        logits, key = self._split(inputs)
        logits = self._check_finite(tf.cast(logits, tf.float32))
        if key is not None:
            shape = tuple(int(d) for d in logits.shape[1:])
            u = keyed_uniform(key, shape, salt=self.seed or 0)
        else:
            u = keras.random.uniform(tf.shape(logits), seed=self.seed_generator)
            u = tf.clip_by_value(u, 2.0**-24, 1.0 - 2.0**-24)  # log(u) and log(-log(u)) finite
        gumbel = -tf.math.log(-tf.math.log(u))
        temperature = tf.cast(self.temperature_variable, tf.float32)
        y = tf.nn.softmax((logits + gumbel) / temperature, axis=-1)
        if self.hard:
            depth = tf.shape(y)[-1]
            one_hot = tf.one_hot(tf.argmax(y, axis=-1, output_type=tf.int32), depth, dtype=y.dtype)
            # y - stop_gradient(y) is exactly 0 forward (x - x == 0 for finite x), so
            # the output is exactly one-hot while the gradient is that of y.
            y = one_hot + (y - tf.stop_gradient(y))
        return tf.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple)):
            return tuple(input_shape[0])
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(temperature=self.temperature, hard=self.hard, seed=self.seed)
        return config
