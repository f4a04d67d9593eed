"""TensorBoard image summaries of generated samples."""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from keras_gan.images import samples_to_image, save_png


class SampleGrid(keras.callbacks.Callback):
    """Write a grid of samples from *fixed* noise every ``every`` epochs.

    The same seed is used each time, so successive images show how the same
    latent points evolve. Images go to TensorBoard under ``samples`` in
    ``logdir/train`` (next to ``keras.callbacks.TensorBoard``'s scalars), and
    optionally to ``png_dir/samples_epoch_XXXX.png``. Non-image (toy) samples are
    drawn as a scatter plot.

    Args:
        logdir: TensorBoard log directory (``None``: no summaries).
        num_samples: samples in the grid.
        every: epochs between grids.
        png_dir: directory for PNG copies (``None``: none).
        seed: seed of the fixed noise.
        value_range: range of the generated data (for scaling to pixels).

    Example:

    ```python
    gan.fit(ds, epochs=10, callbacks=[
        keras.callbacks.TensorBoard("runs/mnist"),
        SampleGrid("runs/mnist", num_samples=64, png_dir="runs/mnist/samples"),
    ])
    ```
    """

    def __init__(
        self,
        logdir=None,
        num_samples=64,
        every=1,
        png_dir=None,
        seed=0,
        value_range=(0.0, 1.0),
        name="samples",
    ):
        super().__init__()
        if int(every) < 1 or int(num_samples) < 1:
            raise ValueError("SampleGrid needs every >= 1 and num_samples >= 1.")
        self.logdir = logdir
        self.num_samples = int(num_samples)
        self.every = int(every)
        self.png_dir = png_dir
        self.seed = seed
        self.value_range = tuple(value_range)
        self.name = name
        self._writer = None

    def _get_writer(self):
        if self._writer is None and self.logdir:
            self._writer = tf.summary.create_file_writer(os.path.join(self.logdir, "train"))
        return self._writer

    def render(self):
        """The current grid as a uint8 ``[H, W, C]`` array."""
        samples = self.model.sample(self.num_samples, seed=self.seed)
        return samples_to_image(samples, self.value_range)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        image = self.render()
        writer = self._get_writer()
        if writer is not None:
            with writer.as_default():
                tf.summary.image(self.name, image[None], step=epoch)
            writer.flush()
        if self.png_dir:
            save_png(image, os.path.join(self.png_dir, f"{self.name}_epoch_{epoch + 1:04d}.png"))

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
