"""The sample explorer: a page at ``GET /`` on the REST port to look at the
served generators without writing a client (``keras-gan serve --noexplorer``
turns it off).

The page (``keras_gan/serving/static/explorer.html`` and ``explorer.js``,
served from the package: no CDN, works offline) calls the server's own REST
API: the model list (``GET /v1/models``), the model status (versions), the
metadata (latent size, value range, classes, vocabulary, signatures) and
``:predict``. It shows

* a grid of ``num_samples`` samples drawn from a seed (``sample_png`` when the
  model has it, else ``sample`` drawn on a canvas); a class for conditional
  models; the decoded text of sequence generators;
* a latent interpolation between two seeds (the paper's Figure 3): the first
  latent vector of each seed, mixed linearly in ``steps`` and run through
  ``serving_default``. TF Serving's API has no call that returns a seed's
  latent vector, so the page asks ``GET /explorer/latent``, which draws it
  with :func:`keras_gan.noise.stateless_latent_noise` exactly as the exported
  ``sample`` signature does (the ends of the interpolation are the seeds'
  first samples).

Besides the static files, its only path of its own is the latent one.
"""

from __future__ import annotations

import importlib.resources
import json

from keras_gan.serving.errors import ServingError, invalid

STATIC = ("explorer.html", "explorer.js", "explorer.css")
_TYPES = {"html": "text/html", "js": "text/javascript", "css": "text/css"}
MAX_LATENT_ROWS = 64


def _static(name):
    return importlib.resources.files("keras_gan.serving").joinpath("static", name).read_bytes()


def make_install(registry_of):
    """The REST plugin of the explorer; ``registry_of()`` is the model registry."""

    def install(app):
        from aiohttp import web

        files = {name: _static(name) for name in STATIC}

        def static(name):
            async def handler(request):
                kind = _TYPES[name.rsplit(".", 1)[1]]
                return web.Response(
                    body=files[name],
                    content_type=kind,
                    charset="utf-8",
                    headers={"Cache-Control": "no-cache"},
                )

            return handler

        async def latent(request):
            try:
                body = latent_json(registry_of(), request.query)
            except ServingError as e:
                return web.json_response({"error": e.message}, status=e.http_status)
            return web.Response(text=json.dumps(body), content_type="application/json")

        app.router.add_route("GET", "/", static("explorer.html"))
        for name in STATIC:
            app.router.add_route("GET", f"/explorer/{name}", static(name))
        app.router.add_route("GET", "/explorer/latent", latent)

    return install


def latent_json(registry, query):
    """``{"z": [[...]]}``: the first ``n`` latent vectors of ``seed`` for a
    served model (``?model=&seed=&n=[&version=]``)."""
    import tensorflow as tf

    from keras_gan.noise import stateless_latent_noise

    if registry is None:
        raise invalid("no models are served.")
    name = query.get("model", "")
    try:
        seed = int(query.get("seed", "0"))
        n = int(query.get("n", "1"))
        version = int(query["version"]) if query.get("version") else None
    except ValueError:
        raise invalid("seed, n and version must be integers.") from None
    if not -(2**63) <= seed < 2**63:
        raise invalid(f"seed must be an int64; got {seed}.")
    if not 1 <= n <= MAX_LATENT_ROWS:
        raise invalid(f"n must be in [1, {MAX_LATENT_ROWS}]; got {n}.")
    loaded = registry.get(name, version)
    meta = loaded.metadata or {}
    latent_dim, noise = meta.get("latent_dim"), meta.get("noise", "normal")
    if not isinstance(latent_dim, int):
        raise invalid(f"model {name!r} has no latent_dim in its metadata.")
    z = stateless_latent_noise(n, latent_dim, tf.constant(seed, tf.int64), noise).numpy()
    return {"z": z.tolist(), "version": loaded.version}
