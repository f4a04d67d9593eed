"""keras-gan: Generative Adversarial Nets for Keras 3, real, measurable and servable.

``import keras_gan`` is cheap (it does not import TensorFlow), and it is enough
for ``keras.models.load_model`` on every model the package saves: when Keras is
imported, before or after, the package's Keras classes (models, layers,
optimizers, learning-rate schedules) are registered with it, through a
post-import hook (:mod:`keras_gan.registration`).

Example:

```python
import keras
import keras_gan  # noqa: F401  (registers the package's classes with Keras)

model = keras.models.load_model("runs/mnist_mlp_quick/model.keras")
images = model.sample(16, seed=0)
```
"""

from keras_gan import registration

__version__ = "0.1.0"

registration.register_on_keras_import()
