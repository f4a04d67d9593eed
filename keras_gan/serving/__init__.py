"""Serving exported generators: clients and a TF-Serving-compatible server.

* :class:`SampleClient` talks to TF Serving's REST API (the real
  ``tensorflow/serving`` or ``keras-gan serve``); it needs only ``requests``
  and NumPy.
* :class:`GrpcSampleClient` talks gRPC with the ``tensorflow-serving-api`` stubs.
* ``keras-gan serve`` (:mod:`keras_gan.serving.server`) is the embedded server.

Nothing here imports training code.

Example:

```python
from keras_gan.serving import SampleClient

client = SampleClient("http://localhost:8501", model="mnist_gan")
images = client.sample(16, seed=0)   # float32 [16, 28, 28, 1]
```
"""

from keras_gan.serving.client import GrpcSampleClient, SampleClient, connect
from keras_gan.serving.errors import ServingError

__all__ = ["SampleClient", "GrpcSampleClient", "ServingError", "connect"]
