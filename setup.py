"""keras-gan: Generative Adversarial Nets for Keras 3, real, measurable and servable."""

import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read(*parts):
    with open(os.path.join(HERE, *parts), encoding="utf-8") as f:
        return f.read()


VERSION = re.search(r'__version__ = "([^"]+)"', read("keras_gan", "__init__.py")).group(1)

setup(
    name="keras-gan",
    version=VERSION,
    description="Generative Adversarial Nets for Keras 3: train with fit, measure, export, serve.",
    long_description=read("README.md"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.14",
    packages=find_packages(include=["keras_gan", "keras_gan.*"]),
    package_data={
        "keras_gan": ["configs/*.yaml", "metrics/weights/*.h5", "serving/static/*"]
    },
    install_requires=[
        "tensorflow~=2.21.0",
        "keras>=3.15,<4",
        "tensorflow-datasets>=4.9,<5",
        # tensorflow-datasets 4.9.x imports it without declaring it.
        "importlib_resources>=5",
        "tensorboard~=2.21",
        "tensorflow-serving-api~=2.21",
        "numpy>=1.26,<3",
        "mlxtend>=0.23,<1",
        "pillow>=10,<13",
        "pyyaml>=6,<7",
        "pydantic>=2.6,<3",
        # import keras_gan registers the package's Keras classes when Keras is
        # imported (a post-import hook; TensorFlow depends on wrapt too).
        "wrapt>=1.14",
        # keras-gan serve: REST (aiohttp), gRPC (grpcio), fast JSON responses (orjson);
        # the REST client (requests).
        # >= 3.14: the size-limited chunked decompression and the half-close
        # handling of keras_gan.serving are verified with it.
        "aiohttp>=3.14,<4",
        "grpcio>=1.60,<2",
        "orjson>=3.9,<4",
        "requests>=2.31,<3",
        # keras-gan serve --monitoring_config_file: Prometheus metrics.
        "prometheus_client>=0.17,<1",
    ],
    extras_require={
        "test": [
            "pytest>=8,<10",
            "pytest-timeout>=2.3,<3",
            "hypothesis>=6.100,<7",
            "psutil>=5.9",
            "scipy>=1.11,<2",
            # Pages checked in a real headless browser (tests/browser.py), driving
            # the system's Chromium.
            "playwright>=1.45,<2",
        ],
        "lint": ["ruff>=0.6"],
        # benchmarks/: psutil for peak memory; torch for train_throughput.py's PyTorch peer;
        # the reference implementations that metrics.py checks the metrics against
        # (never imported by the package).
        "bench": [
            "torch==2.13.0",
            "psutil>=5.9",
            "prdc>=0.2",
            "pytorch-fid>=0.3",
            "torch-fidelity>=0.4",
        ],
        "gpu": ["tensorflow[and-cuda]~=2.21.0"],
    },
    entry_points={"console_scripts": ["keras-gan=keras_gan.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: TensorFlow",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
