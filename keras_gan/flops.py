"""Matrix multiplies (and their FLOPs) of one adversarial training step.

Every weight layer of the package's networks is a matrix multiply, or lowers to
one: a dense or maxout layer with ``K`` inputs and ``N`` outputs on ``M`` rows
is an ``[M, K] x [K, N]`` product; a convolution is the same product on its
im2col patches (``M`` = rows x output positions, ``K`` = kernel height x width
x input channels, ``N`` = filters), and a transposed convolution the product
before its col2im (``M`` = rows x input positions, ``K`` = input channels,
``N`` = kernel height x width x filters). One multiply costs ``2 M K N`` FLOPs.
Backpropagation through a layer adds the weight gradient ``X^T dY`` (``[K, M]
x [M, N]``) and, unless the layer reads the network's input and no gradient
flows to it, the input gradient ``dY W^T`` (``[M, N] x [N, K]``); both cost the
forward's FLOPs.

One training step of :class:`keras_gan.models.AdversarialModel` with minibatch
``m``, ``k`` discriminator updates and the generator update (Algorithm 1):

* each discriminator update: ``G`` forward on ``m`` rows (no gradient), ``D``
  forward on ``2m`` rows (one joint call on real and fake, or two calls of
  ``m``), ``D``'s weight gradients on ``2m`` rows and its input gradients on
  ``2m`` rows for every layer but the first;
* the generator update: ``G`` and ``D`` forward on ``m`` rows, ``D``'s input
  gradients (all layers) and ``G``'s weight gradients on ``m`` rows, ``G``'s
  input gradients for every layer but the first.

With ``S_G = sum of K*N over G's layers`` (per example; for convolutions
times the positions), ``F_G`` its first layer's term, and ``S_D``, ``F_D``
likewise, a step costs::

    FLOPs = 2 m [k (S_G + 6 S_D - 2 F_D) + 3 S_G - F_G + 2 S_D]

(``k = 1``: ``2 m (4 S_G - F_G + 8 S_D - 2 F_D)``). Biases, activations,
normalization, dropout, losses and optimizer updates are not counted: they are
element-wise, so this is the work a matrix-multiply bound is computed from
(see ``benchmarks/train_throughput.py``).

Example:

```python
from keras_gan import flops, networks

g = networks.mlp_generator(latent_dim=100)
d = networks.maxout_discriminator()
flops.training_step_flops(g, d, batch=100)  # 3,566,784,000 (the paper's MNIST GAN)
```
"""

from __future__ import annotations

import collections
import dataclasses
import math

import keras

__all__ = ["Gemm", "layer_gemm", "training_step_gemms", "training_step_flops"]


@dataclasses.dataclass(frozen=True)
class Gemm:
    """An ``[m, k] x [k, n]`` matrix product (operands possibly transposed)."""

    m: int
    k: int
    n: int
    transpose_a: bool = False
    transpose_b: bool = False

    @property
    def flops(self):
        return 2 * self.m * self.k * self.n

    def weight_gradient(self):
        """``X^T dY``: ``[k, m] x [m, n]``."""
        return Gemm(self.k, self.m, self.n, transpose_a=True)

    def input_gradient(self):
        """``dY W^T``: ``[m, n] x [n, k]``."""
        return Gemm(self.m, self.n, self.k, transpose_b=True)


def _shape(tensor_or_shape):
    shape = getattr(tensor_or_shape, "shape", tensor_or_shape)
    return tuple(shape)


def layer_gemm(layer, rows):
    """The forward matrix product of ``layer`` on ``rows`` examples, or ``None``
    for a layer without one (activations, normalization, reshapes...).

    Raises ``ValueError`` for a weight layer whose product is not known.
    """
    from keras_gan.layers import Maxout

    L = keras.layers
    if isinstance(layer, (L.Dense, Maxout)):
        k, n = _shape(layer.kernel)
        positions = math.prod(_shape(layer.input)[1:-1])
        return Gemm(rows * positions, k, n)
    if isinstance(layer, (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)):
        *window, filters, channels = _shape(layer.kernel)
        positions = math.prod(_shape(layer.input)[1:-1])
        return Gemm(rows * positions, channels, math.prod(window) * filters)
    if isinstance(layer, (L.Conv1D, L.Conv2D, L.Conv3D)):
        if getattr(layer, "groups", 1) != 1 or layer.data_format != "channels_last":
            raise ValueError(f"Layer {layer.name!r}: only ungrouped channels-last convolutions.")
        *window, channels, filters = _shape(layer.kernel)
        positions = math.prod(_shape(layer.output)[1:-1])
        return Gemm(rows * positions, math.prod(window) * channels, filters)
    if any("kernel" in w.path.rsplit("/", 1)[-1] for w in layer.weights):
        raise ValueError(
            f"Cannot count the matrix products of layer {layer.name!r} "
            f"({type(layer).__name__}); supported: Dense, Maxout, Conv1D/2D/3D and their "
            "transposes."
        )
    return None


def _weight_layers(net):
    layers = net._flatten_layers(include_self=False, recursive=True)
    return [layer for layer in layers if not isinstance(layer, keras.Model)]


def _pass(net, rows, backward, first_input_grad):
    """``[(gemm, phase)]`` of one forward (and backward) pass of ``net``."""
    out = []
    first = True
    for layer in _weight_layers(net):
        gemm = layer_gemm(layer, rows)
        if gemm is None:
            continue
        out.append((gemm, f"{net.name} forward"))
        if backward in ("weights", "both"):
            out.append((gemm.weight_gradient(), f"{net.name} weight gradient"))
        if backward in ("inputs", "both") and (first_input_grad or not first):
            out.append((gemm.input_gradient(), f"{net.name} input gradient"))
        first = False
    return out


def training_step_gemms(generator, discriminator, batch, d_steps=1, joint=True):
    """The matrix products of one training step (see the module docstring).

    Args:
        generator, discriminator: built Keras networks whose first weight layer
            is the only one reading the network's input.
        batch: the minibatch ``m`` of every update.
        d_steps: ``k``, discriminator updates per step.
        joint: one discriminator call on ``2m`` rows per discriminator update
            (``AdversarialModel``'s joint pass) instead of two on ``m``.

    Returns:
        ``[(Gemm, count, phase)]``, identical products of a phase merged.
    """
    m = int(batch)
    items = []
    for _ in range(int(d_steps)):
        items += [(g, "D update: " + p) for g, p in _pass(generator, m, None, False)]
        d_rows = [2 * m] if joint else [m, m]
        for rows in d_rows:
            items += [(g, "D update: " + p) for g, p in _pass(discriminator, rows, "both", False)]
    items += [(g, "G update: " + p) for g, p in _pass(generator, m, "both", False)]
    items += [(g, "G update: " + p) for g, p in _pass(discriminator, m, "inputs", True)]
    counts = collections.Counter(items)
    return [(gemm, count, phase) for (gemm, phase), count in counts.items()]


def training_step_flops(generator, discriminator, batch, d_steps=1, joint=True):
    """FLOPs of the matrix products of one training step (an int)."""
    return sum(
        g.flops * c
        for g, c, _ in training_step_gemms(generator, discriminator, batch, d_steps, joint)
    )
