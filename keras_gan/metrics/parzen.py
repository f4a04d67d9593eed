"""Gaussian Parzen-window log-likelihood, the evaluation of Goodfellow et al. (2014).

Fit an isotropic Gaussian kernel density estimate to ``N`` generated samples
``s_1 .. s_N`` and report the mean log-likelihood of held-out data::

    log p(x) = logsumexp_i(-||x - s_i||^2 / (2 sigma^2)) - log N - (d/2) log(2 pi sigma^2)

in nats, with its standard error across the held-out examples
(``std(ddof=1) / sqrt(n)``). The bandwidth ``sigma`` is chosen by maximising the
mean log-likelihood of a *validation* set (held out of the training data) over a
log-spaced grid (:func:`select_parzen_sigma`); the test set is then scored with
that sigma (:func:`parzen_evaluate`). Table 1 of the paper reports 225 +/- 2
nats on MNIST with pixels scaled to ``[0, 1]``.

How it is computed
------------------
Squared distances come from matrix products,
``||x - s||^2 = ||x||^2 - 2 x.s + ||s||^2``, on data *centred* on the samples'
mean (distances do not change; the norms, and with them the rounding error of
the expansion, shrink), clamped at 0. The logsumexp over samples is accumulated
in float64 with a streaming (online) update: the data are processed in chunks of
``batch_size`` rows and, for each, the samples in chunks of
``sample_batch_size``; a running maximum and a running sum of ``exp(a - max)``
per data row and sigma are all that is kept. The largest term of each row is
``exp(0) = 1`` exactly, so points far from every sample give a large negative,
finite log-likelihood (never ``-inf``, never an overflow).

Precision. The matrix product runs in float32 when that is safe, else float64
(``precision="auto"``). The expansion's absolute error on a squared distance is
at most about ``8 eps (max ||x - m||^2 + max ||s - m||^2)`` (``eps`` the float32
epsilon, ``m`` the samples' mean; measured on MNIST: 5 eps), i.e. an error of
that divided by ``2 sigma^2`` on a log density. "auto" uses float32 when this
bound is at most :data:`FLOAT32_TOLERANCE` (0.01 nats) for the smallest sigma,
which holds for MNIST in ``[0, 1]`` down to sigma ~ 0.07 (measured worst case
2e-3 nats at sigma = 0.1; mean error 1e-4 nats), and float64 otherwise.

Memory. Besides the inputs and the ``n x K`` float64 output (``K`` sigmas),
the working memory is bounded by :func:`working_memory_bytes`, i.e. about
``(w + 24) B S + (w + 8) (B + S) d`` bytes for chunk sizes ``B = batch_size``,
``S = sample_batch_size``, dimension ``d`` and ``w`` = 4 (float32) or 8
(float64) bytes, whatever ``n`` and ``N``: 49 MB at the defaults (1024, 1024)
for MNIST in float32. That counts the live arrays; the process' resident memory
grows by up to about 2.5 times as much (allocator caching; measured in
``benchmarks/parzen_speed.py``), still independent of ``n`` and ``N``. Inputs
are read chunk by chunk and never copied whole (a float64 or uint8 array is
converted one chunk at a time).

Speed: 10,000 samples x 10,000 MNIST test digits take about 2 s on 2 CPU cores
(see ``benchmarks/parzen_speed.py`` and BENCHMARKS.md).

Example:

```python
from keras_gan.metrics import parzen_evaluate, parzen_log_likelihood, select_parzen_sigma

samples = gan.sample(10_000, seed=0)
sigma, scores = select_parzen_sigma(samples, x_valid)       # grid 0.1 .. 1.0
mean, stderr = parzen_log_likelihood(samples, x_test, sigma)
result = parzen_evaluate(gan, x_test, x_valid)              # the whole protocol
print(result)  # Parzen log-likelihood 225.3 +/- 2.0 nats (sigma 0.17, ...)
```
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import NamedTuple

import numpy as np

__all__ = [
    "DEFAULT_SIGMAS",
    "FLOAT32_TOLERANCE",
    "ParzenResult",
    "ParzenScore",
    "SigmaSelection",
    "draw_samples",
    "parzen_evaluate",
    "parzen_log_density",
    "parzen_log_likelihood",
    "predict_samples",
    "select_parzen_sigma",
    "working_memory_bytes",
]

#: Default bandwidth grid of :func:`select_parzen_sigma`: 20 log-spaced values
#: from 0.1 to 1.0 (the range of the paper's evaluation code for data in
#: ``[0, 1]``, twice as fine). Pass ``sigmas=`` for data on another scale.
DEFAULT_SIGMAS = tuple(float(s) for s in np.logspace(-1.0, 0.0, 20))
#: Largest estimated error (nats, on any one log density) accepted from a
#: float32 matrix product under ``precision="auto"``.
FLOAT32_TOLERANCE = 0.01
DEFAULT_BATCH_SIZE = 1024
DEFAULT_SAMPLE_BATCH_SIZE = 1024
DEFAULT_NUM_SAMPLES = 10_000
PRECISIONS = ("auto", "float32", "float64")
_EPS32 = float(np.finfo(np.float32).eps)
_ROUNDING_FACTOR = 8.0  # measured 5 on MNIST; see the module doc


class ParzenScore(NamedTuple):
    """Mean log-likelihood (nats) and its standard error across examples."""

    mean: float
    stderr: float


class SigmaSelection(NamedTuple):
    """The chosen bandwidth and the mean validation log-likelihood of each one."""

    sigma: float
    scores: dict


@dataclasses.dataclass(frozen=True)
class ParzenResult:
    """Result of :func:`parzen_evaluate`: the test log-likelihood and how it was got.

    Attributes:
        mean: mean test log-likelihood (nats).
        stderr: its standard error across test examples.
        sigma: the bandwidth chosen on the validation set.
        num_samples: generated samples in the density estimate.
        sigma_scores: ``((sigma, mean validation log-likelihood), ...)`` of the grid.
        num_test, num_validation: examples scored.
    """

    mean: float
    stderr: float
    sigma: float
    num_samples: int
    sigma_scores: tuple = ()
    num_test: int = 0
    num_validation: int = 0

    def __str__(self):
        return (
            f"Parzen log-likelihood {self.mean:.1f} +/- {self.stderr:.1f} nats "
            f"(sigma {self.sigma:.4g}, {self.num_samples} samples, "
            f"{self.num_test} test / {self.num_validation} validation examples)"
        )

    def to_dict(self):
        """A JSON-serialisable dict."""
        d = dataclasses.asdict(self)
        d["sigma_scores"] = [[float(s), float(v)] for s, v in self.sigma_scores]
        return d


# --------------------------------------------------------------- validation
def _as_2d(values, what):
    """View ``values`` as ``[n, d]`` without copying (1-D input: ``n`` scalars)."""
    if values is None:
        raise ValueError(f"{what} is None; expected an array of examples.")
    arr = np.asarray(values)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise ValueError(f"{what} must be a numeric array; got dtype {arr.dtype}.")
    if arr.ndim == 0:
        raise ValueError(f"{what} must be an array of examples [n, ...]; got a scalar.")
    if arr.shape[0] == 0:
        raise ValueError(f"{what} is empty; need at least one example.")
    arr = arr.reshape(arr.shape[0], -1) if arr.ndim != 1 else arr[:, None]
    if arr.shape[1] == 0:
        raise ValueError(f"{what} has examples of size 0; got shape {np.shape(values)}.")
    return arr


def _check_sigmas(sigma):
    sigmas = np.atleast_1d(np.asarray(sigma, dtype=np.float64))
    if sigmas.ndim != 1 or sigmas.size == 0:
        raise ValueError(f"sigma must be a positive number or a 1-D list of them; got {sigma!r}.")
    if not (np.isfinite(sigmas).all() and (sigmas > 0).all()):
        raise ValueError(f"sigma must be finite and > 0; got {sigma!r}.")
    return sigmas


def _check_positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be an int >= 1; got {value!r}.")
    return int(value)


def _scan(arr, what, batch_size, center=None):
    """One chunked pass: check finiteness; return (float64 sum, max squared norm)."""
    total = np.zeros(arr.shape[1], np.float64)
    max_sq = 0.0
    for start in range(0, len(arr), batch_size):
        chunk = np.asarray(arr[start : start + batch_size], np.float64)
        finite = np.isfinite(chunk).all(axis=1)
        if not finite.all():
            bad = start + int(np.argmin(finite))
            raise ValueError(
                f"{what} contains NaN or Inf values (first in example {bad}); "
                "all values must be finite."
            )
        total += chunk.sum(axis=0)
        if center is not None:
            chunk = chunk - center  # never in place: ``chunk`` may be a view of the input
        max_sq = max(max_sq, float(np.einsum("ij,ij->i", chunk, chunk).max()))
    return total, max_sq


def working_memory_bytes(batch_size, sample_batch_size, dim, num_sigmas=1, precision="float32"):
    """Upper bound (bytes) of the working memory of :func:`parzen_log_density`.

    The ``[B, S]`` distance block in the matmul dtype and in float64, one float64
    ``[B, S]`` exponent block and its exponential (the sigmas are processed one
    after the other), the two input chunks in float64 (conversion) and in the
    matmul dtype, and the ``[B, K]`` running state. Independent of the numbers of
    samples and data points.
    """
    w = 8 if precision == "float64" else 4
    b, s, d, k = int(batch_size), int(sample_batch_size), int(dim), int(num_sigmas)
    return b * s * (w + 8 + 8 + 8) + (b + s) * d * (8 + w) + 4 * b * k * 8


# ------------------------------------------------------------------- kernel
_KERNELS = {}


def _kernel(dtype_name):
    """The per-chunk update, one ``tf.function`` per matmul dtype (built lazily)."""
    if dtype_name in _KERNELS:
        return _KERNELS[dtype_name]
    import tensorflow as tf

    dtype = tf.as_dtype(dtype_name)
    spec = tf.TensorSpec([None, None], dtype)
    state = tf.TensorSpec([None, None], tf.float64)

    @tf.function(
        input_signature=[spec, spec, tf.TensorSpec([None], tf.float64), state, state],
        reduce_retracing=True,
    )
    def update(x, s, coef, running_max, running_sum):
        """Fold samples ``s`` into the running logsumexp of data rows ``x``.

        ``coef[k] = -1 / (2 sigma_k^2)``; the state is ``[B, K]`` float64.
        """
        xx = tf.reduce_sum(tf.square(x), axis=1, keepdims=True)
        ss = tf.reduce_sum(tf.square(s), axis=1)
        d2 = xx - 2.0 * tf.matmul(x, s, transpose_b=True) + ss[None, :]
        d2 = tf.cast(tf.maximum(d2, 0.0), tf.float64)  # [B, S]
        # coef < 0, so the largest exponent of a row is coef * (its smallest d2).
        new_max = tf.maximum(running_max, tf.reduce_min(d2, axis=1)[:, None] * coef[None, :])

        def chunk_sum(args):
            c, m = args  # scalar, [B]
            return tf.reduce_sum(tf.exp(d2 * c - m[:, None]), axis=1)

        sums = tf.map_fn(
            chunk_sum,
            (coef, tf.transpose(new_max)),
            fn_output_signature=tf.TensorSpec([None], tf.float64),
            parallel_iterations=1,  # one [B, S] exponent block at a time
        )
        new_sum = running_sum * tf.exp(running_max - new_max) + tf.transpose(sums)
        return new_max, new_sum

    _KERNELS[dtype_name] = update
    return update


def _resolve_precision(precision, max_sq, sigmas):
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}; got {precision!r}.")
    if precision != "auto":
        return precision
    bound = _ROUNDING_FACTOR * _EPS32 * max_sq / (2.0 * float(sigmas.min()) ** 2)
    # float32 also needs the squared norms to stay far from its overflow.
    if bound <= FLOAT32_TOLERANCE and max_sq < 1e30:
        return "float32"
    return "float64"


# ---------------------------------------------------------------- public API
def parzen_log_density(
    samples,
    data,
    sigma,
    batch_size=DEFAULT_BATCH_SIZE,
    sample_batch_size=DEFAULT_SAMPLE_BATCH_SIZE,
    precision="auto",
):
    """Log density (nats) of each row of ``data`` under the Parzen window on ``samples``.

    Args:
        samples: ``[N, ...]`` generated examples (the kernel centres).
        data: ``[n, ...]`` examples to score, of the same example size.
        sigma: a bandwidth, or a 1-D list of ``K`` bandwidths scored in one pass
            (the distances are computed once).
        batch_size: data rows per chunk (``B``).
        sample_batch_size: samples per chunk (``S``).
        precision: ``"auto"``, ``"float32"`` or ``"float64"``: dtype of the
            distance matrix products (see the module doc).

    Returns:
        float64 array ``[n]`` for a scalar ``sigma``, else ``[n, K]``.
    """
    scalar = np.ndim(sigma) == 0
    sigmas = _check_sigmas(sigma)
    batch_size = _check_positive_int(batch_size, "batch_size")
    sample_batch_size = _check_positive_int(sample_batch_size, "sample_batch_size")
    samples2 = _as_2d(samples, "samples")
    data2 = _as_2d(data, "data")
    if samples2.shape[1] != data2.shape[1]:
        raise ValueError(
            f"samples and data have different example sizes: samples "
            f"{list(np.shape(samples))} ({samples2.shape[1]} values each) vs data "
            f"{list(np.shape(data))} ({data2.shape[1]} values each)."
        )
    total, _ = _scan(samples2, "samples", sample_batch_size)
    center = total / len(samples2)
    _, s_sq = _scan(samples2, "samples", sample_batch_size, center)
    _, x_sq = _scan(data2, "data", batch_size, center)
    dtype = _resolve_precision(precision, s_sq + x_sq, sigmas)
    out = _stream(samples2, data2, sigmas, center, batch_size, sample_batch_size, dtype)
    return out[:, 0] if scalar else out


def _chunk(arr, start, size, center, dtype):
    return (np.asarray(arr[start : start + size], np.float64) - center).astype(dtype)


def _stream(samples, data, sigmas, center, batch_size, sample_batch_size, dtype):
    import tensorflow as tf

    update = _kernel(dtype)
    num, dim = samples.shape
    coef = tf.constant(-0.5 / sigmas**2, tf.float64)
    out = np.empty((len(data), len(sigmas)), np.float64)
    for start in range(0, len(data), batch_size):
        x = tf.constant(_chunk(data, start, batch_size, center, dtype))
        rows = int(x.shape[0])
        running_max = tf.fill([rows, len(sigmas)], tf.constant(-np.inf, tf.float64))
        running_sum = tf.zeros([rows, len(sigmas)], tf.float64)
        for s_start in range(0, num, sample_batch_size):
            s = tf.constant(_chunk(samples, s_start, sample_batch_size, center, dtype))
            running_max, running_sum = update(x, s, coef, running_max, running_sum)
        out[start : start + rows] = running_max.numpy() + np.log(running_sum.numpy())
    out -= math.log(num) + 0.5 * dim * np.log(2.0 * np.pi * sigmas**2)[None, :]
    return out


def _score(values):
    values = np.asarray(values, np.float64)
    stderr = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
    return ParzenScore(float(values.mean()), stderr)


def parzen_log_likelihood(
    samples,
    data,
    sigma,
    batch_size=DEFAULT_BATCH_SIZE,
    sample_batch_size=DEFAULT_SAMPLE_BATCH_SIZE,
    precision="auto",
):
    """Mean log-likelihood (nats) of ``data`` under the Parzen window on ``samples``.

    Returns a :class:`ParzenScore` ``(mean, stderr)``; ``stderr`` is the
    standard error of the mean across the examples of ``data`` (``nan`` for a
    single example). Arguments as in :func:`parzen_log_density` (one ``sigma``).

    Example:

    ```python
    mean, stderr = parzen_log_likelihood(gan.sample(10_000, seed=0), x_test, sigma=0.2)
    ```
    """
    if np.ndim(sigma) != 0:
        raise ValueError(
            f"sigma must be one positive number; got {sigma!r} (to score several, use "
            "select_parzen_sigma or parzen_log_density)."
        )
    return _score(
        parzen_log_density(samples, data, sigma, batch_size, sample_batch_size, precision)
    )


def select_parzen_sigma(samples, validation, sigmas=None, **kwargs):
    """Pick the bandwidth that maximises the mean log-likelihood of ``validation``.

    Args:
        samples: generated examples.
        validation: held-out examples (not the test set; the paper uses the
            last 10,000 MNIST training digits).
        sigmas: the grid (default :data:`DEFAULT_SIGMAS`: 20 log-spaced values
            from 0.1 to 1.0, for data in ``[0, 1]``).
        **kwargs: ``batch_size``, ``sample_batch_size``, ``precision``.

    Returns:
        :class:`SigmaSelection` ``(sigma, scores)``; ``scores`` maps each sigma
        to its mean validation log-likelihood. A warning is issued when the best
        sigma is at an end of the grid (the optimum may lie outside it).
    """
    grid = _check_sigmas(DEFAULT_SIGMAS if sigmas is None else sigmas)
    if len(np.unique(grid)) != len(grid):
        raise ValueError(f"sigmas must be distinct; got {list(grid)}.")
    grid = np.sort(grid)
    means = parzen_log_density(samples, validation, grid, **kwargs).mean(axis=0)
    best = int(np.argmax(means))
    if len(grid) > 1 and best in (0, len(grid) - 1):
        warnings.warn(
            f"The best Parzen sigma {grid[best]:.4g} is at the {'low' if best == 0 else 'high'} "
            f"end of the grid [{grid[0]:.4g}, {grid[-1]:.4g}]; the optimum may lie outside it "
            "(pass a wider `sigmas` grid).",
            stacklevel=2,
        )
    scores = {float(s): float(v) for s, v in zip(grid, means)}
    return SigmaSelection(float(grid[best]), scores)


# ------------------------------------------------------------- the protocol
def draw_samples(source, num_samples=None, seed=0, latent_dim=None, noise=None):
    """Generated examples from a model, a generator, a callable or an array.

    Args:
        source: an :class:`~keras_gan.models.AdversarialModel` (``source.sample(n,
            seed)``); a plain Keras generator (fed the prior ``noise`` of size
            ``latent_dim``, default its input size); a callable
            ``fn(num_samples, seed)`` returning an array; or an array of samples
            (the first ``num_samples``, default all).
        num_samples: how many (default 10,000; all of an array).
        seed: seed of the latent noise.
        latent_dim, noise: for a plain Keras generator only.
    """
    import keras

    if num_samples is not None:
        num_samples = _check_positive_int(num_samples, "num_samples")
    if hasattr(source, "sample") and isinstance(getattr(source, "generator", None), keras.Model):
        return np.asarray(source.sample(num_samples or DEFAULT_NUM_SAMPLES, seed=seed))
    if isinstance(source, keras.Model):
        return _sample_keras_generator(source, num_samples, seed, latent_dim, noise)
    if callable(source):
        n = num_samples or DEFAULT_NUM_SAMPLES
        out = np.asarray(source(n, seed))
        if out.ndim == 0 or out.shape[0] != n:
            raise ValueError(
                f"The sample function returned shape {list(out.shape)}; expected "
                f"{n} examples [{n}, ...]."
            )
        return out
    arr = np.asarray(source)
    if arr.dtype == object or arr.ndim == 0:
        raise ValueError(
            "parzen_evaluate needs an AdversarialModel, a Keras generator, a callable "
            f"fn(num_samples, seed) or an array of samples; got {type(source).__name__}."
        )
    if num_samples is not None:
        if len(arr) < num_samples:
            raise ValueError(f"num_samples={num_samples} but only {len(arr)} samples were given.")
        arr = arr[:num_samples]
    return arr


def _sample_keras_generator(generator, num_samples, seed, latent_dim, noise):
    from keras_gan.noise import check_noise, stateless_latent_noise

    if noise is None:
        raise ValueError(
            "A plain Keras generator needs noise= (the prior it was trained with: "
            "'normal' or 'uniform'); or pass the AdversarialModel, which knows it."
        )
    check_noise(noise)
    shape = generator.input_shape
    if isinstance(shape, list) or len(shape) != 2:
        raise ValueError(
            f"The generator takes inputs {shape}; parzen_evaluate needs one input [batch, "
            "latent_dim] (for a conditional generator pass a sample function)."
        )
    if latent_dim is None:
        latent_dim = shape[-1]
    if latent_dim is None or (shape[-1] is not None and int(latent_dim) != shape[-1]):
        raise ValueError(f"latent_dim={latent_dim} does not fit the generator's input {shape}.")
    z = stateless_latent_noise(num_samples or DEFAULT_NUM_SAMPLES, int(latent_dim), seed, noise)
    return predict_samples(generator, z)


def predict_samples(generator, z):
    """``generator.predict(z)`` as a float32 (or float64) NumPy array.

    A generator built under a ``mixed_bfloat16`` policy returns bfloat16.
    """
    samples = np.asarray(generator.predict(z, batch_size=1024, verbose=0))
    if samples.dtype not in (np.float32, np.float64):
        samples = samples.astype(np.float32)
    return samples


def parzen_evaluate(
    generator_or_model,
    test,
    validation,
    num_samples=None,
    sigmas=None,
    seed=0,
    latent_dim=None,
    noise=None,
    batch_size=DEFAULT_BATCH_SIZE,
    sample_batch_size=DEFAULT_SAMPLE_BATCH_SIZE,
    precision="auto",
):
    """The paper's protocol: draw samples, pick sigma on ``validation``, score ``test``.

    Args:
        generator_or_model: what to evaluate (see :func:`draw_samples`: a model,
            a Keras generator with ``noise=``, a callable ``fn(num_samples, seed)``
            or an array of samples).
        test: test examples (e.g. the 10,000 MNIST test digits).
        validation: examples held out of training to choose sigma (e.g. MNIST
            ``"train[50000:]"``); never the test set.
        num_samples: generated samples (default 10,000, as in the paper).
        sigmas: the sigma grid (default :data:`DEFAULT_SIGMAS`).
        seed: seed of the generated samples.
        latent_dim, noise: for a plain Keras generator.
        batch_size, sample_batch_size, precision: see :func:`parzen_log_density`.

    Returns:
        :class:`ParzenResult`.

    Example:

    ```python
    from keras_gan.data import load_arrays
    x_valid, _ = load_arrays("mnist", "train[50000:]")
    x_test, _ = load_arrays("mnist", "test")
    print(parzen_evaluate(gan, x_test, x_valid))
    ```
    """
    kwargs = dict(batch_size=batch_size, sample_batch_size=sample_batch_size, precision=precision)
    # Check the data before the (possibly slow) sampling.
    test2 = _as_2d(test, "test")
    validation2 = _as_2d(validation, "validation")
    if test2.shape[1] != validation2.shape[1]:
        raise ValueError(
            f"test and validation examples differ in size: {list(np.shape(test))[1:]} vs "
            f"{list(np.shape(validation))[1:]}."
        )
    samples = draw_samples(generator_or_model, num_samples, seed, latent_dim, noise)
    if _as_2d(samples, "samples").shape[1] != test2.shape[1]:
        raise ValueError(
            f"The generated samples have shape {list(samples.shape)[1:]} but the test data "
            f"{list(np.shape(test))[1:]}; evaluate on data of the generator's shape."
        )
    sigma, scores = select_parzen_sigma(samples, validation, sigmas, **kwargs)
    mean, stderr = parzen_log_likelihood(samples, test, sigma, **kwargs)
    return ParzenResult(
        mean=mean,
        stderr=stderr,
        sigma=sigma,
        num_samples=len(samples),
        sigma_scores=tuple(scores.items()),
        num_test=len(test2),
        num_validation=len(validation2),
    )
