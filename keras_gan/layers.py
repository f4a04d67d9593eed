"""Keras layers used by the package's networks.

Example:

```python
import keras
from keras_gan.layers import Maxout

x = keras.Input((784,))
h = Maxout(240, pieces=5)(x)  # 240 units, each the max of 5 affine pieces
```
"""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["Maxout"]


@keras.saving.register_keras_serializable(package="keras_gan")
class Maxout(keras.layers.Layer):
    """Maxout units (Goodfellow et al. 2013): ``h_i = max_j (x W_ij + b_ij)``.

    Implemented as one dense matrix multiply to ``units * pieces`` outputs
    followed by a max over the pieces, which is what a BLAS-backed CPU or a GPU
    runs fastest. The kernel is laid out ``[input_dim, units * pieces]`` with the
    pieces of one unit adjacent.

    Args:
        units: number of output units.
        pieces: number of linear pieces per unit (``k`` in the paper).
        kernel_initializer, bias_initializer: Keras initializers.
    """

    def __init__(
        self,
        units,
        pieces=5,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(units) < 1 or int(pieces) < 1:
            raise ValueError(
                f"Maxout needs units >= 1 and pieces >= 1; got units={units}, pieces={pieces}."
            )
        self.units = int(units)
        self.pieces = int(pieces)
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
        z = ops.reshape(z, (-1, self.units, self.pieces))
        return ops.max(z, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            pieces=self.pieces,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config
