"""Reading REST request bodies within a memory budget.

A request body is held in memory while it is parsed and run, and a JSON body
becomes many times its size in Python objects (floats about 9x, ``[{}, ...]``
about 25x) while it is checked. So :class:`BodyReader` lets at most ``slots``
bodies that can be large (an announced ``Content-Length`` over
:data:`SMALL_BODY_BYTES`, a chunked one, or a compressed one) be read and
processed at once; the others wait *before* their body is read, holding only
what aiohttp buffers for an unread body (it pauses reading the socket past
128 KiB). Small bodies, the common case, never wait. A slot is held until the
worker thread is done with the body, even after the request timed out.

Each body is read with a cap of ``max_bytes`` applied to the *decoded* body:
``Content-Encoding: gzip`` and ``deflate`` are decompressed (by aiohttp, in
chunks) as they are read, so a decompression bomb is refused with 413 after at
most ``max_bytes``, and a corrupt stream gets 400. The whole body must arrive
within ``timeout`` seconds of its headers (408 otherwise), and a request
waits at most as long for a slot (503).

Example:

```python
reader = BodyReader(max_bytes=16 << 20, slots=4, timeout=30)
body, release = await reader.read(request)   # in an aiohttp handler
try:
    ...  # parse body in a worker thread
finally:
    release()
```
"""

from __future__ import annotations

import asyncio

from aiohttp import hdrs

from keras_gan.serving.errors import ServingError

#: Bodies announced at most this long (and not compressed) need no slot.
SMALL_BODY_BYTES = 64 * 1024
#: What aiohttp may buffer for a connection whose body is not being read
#: (2 x its 64 KiB read_bufsize before it pauses reading, plus one 256 KiB recv).
UNREAD_BUFFER_BYTES = 384 * 1024
ENCODINGS = ("identity", "gzip", "deflate")


class BodyError(ServingError):
    """A body that cannot be read; ``http_status`` is the answer, and the
    connection is closed after it (the rest of the body is not read)."""

    def __init__(self, http_status, message, code="INVALID_ARGUMENT"):
        super().__init__(code, message, http_status=http_status)
        self.close_connection = True


def _no_op():
    pass


class BodyReader:
    """Reads bodies of at most ``max_bytes`` (decoded), ``slots`` large ones at a time.

    Args:
        max_bytes: largest body, after decompression (``--max_request_bytes``).
        slots: large bodies read and processed at once (``--num_request_threads``).
        timeout: seconds for the whole body to arrive, and the longest wait for
            a slot (``--rest_body_timeout_seconds``); ``None``: no limit.
    """

    def __init__(self, max_bytes, slots, timeout=30.0):
        self.max_bytes = int(max_bytes)
        self.slots = int(slots)
        self.timeout = timeout if timeout and timeout > 0 else None
        self._semaphore = None

    def check_headers(self, request):
        """Refuse from the headers alone: a body announced over the limit
        (413), an unsupported ``Content-Encoding`` (400), or a POST with
        neither ``Content-Length`` nor chunked encoding (411)."""
        encoding = request.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower()
        if encoding not in ENCODINGS:
            raise BodyError(
                400,
                f"Unsupported Content-Encoding {encoding[:40]!r}: send the body as gzip, "
                "deflate or identity (uncompressed).",
            )
        length = request.content_length
        if length is None and hdrs.TRANSFER_ENCODING not in request.headers:
            raise BodyError(
                411,
                "Length required: send the body with a Content-Length header "
                "(or Transfer-Encoding: chunked).",
            )
        if length is not None and length > self.max_bytes:
            raise self.too_large()
        return encoding

    def too_large(self):
        return BodyError(
            413,
            f"Request body too large: the limit is {self.max_bytes} bytes "
            "(--max_request_bytes), after decompression.",
        )

    async def read(self, request):
        """``(body bytearray, release)``: call ``release()`` once the body is no
        longer used (it frees the slot). Raises :class:`BodyError`."""
        encoding = self.check_headers(request)
        length = request.content_length
        small = encoding == "identity" and length is not None and length <= SMALL_BODY_BYTES
        release = _no_op if small else await self._acquire()
        try:
            body = await self._read(request, length if encoding == "identity" else None)
        except BaseException:
            release()
            raise
        return body, release

    async def _acquire(self):
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.slots)
        semaphore = self._semaphore
        try:
            await asyncio.wait_for(semaphore.acquire(), self.timeout)
        except asyncio.TimeoutError:
            raise BodyError(
                503,
                f"The server is busy reading {self.slots} large request bodies "
                "(--num_request_threads); retry later.",
                code="UNAVAILABLE",
            ) from None
        released = False

        def release():
            nonlocal released
            if not released:
                released = True
                semaphore.release()

        return release

    async def _read(self, request, length):
        from aiohttp.http_exceptions import ContentEncodingError

        body = bytearray()

        async def read_all():
            while True:
                chunk = await request.content.readany()
                if not chunk:
                    return
                if len(body) + len(chunk) > self.max_bytes:
                    raise self.too_large()
                body.extend(chunk)

        try:
            await asyncio.wait_for(read_all(), self.timeout)
        except asyncio.TimeoutError:
            raise BodyError(
                408,
                f"Request timeout: the body did not arrive within {self.timeout:g} s "
                f"(--rest_body_timeout_seconds); {len(body)} bytes received.",
            ) from None
        except BodyError:
            raise
        except Exception as e:  # aiohttp's payload errors: corrupt compression, bad chunks
            encoding = request.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower()
            cause = e.__cause__ if e.__cause__ is not None else e
            if isinstance(cause, ContentEncodingError) or (
                encoding != "identity" and "content-encoding" in str(e).lower()
            ):
                raise BodyError(
                    400, f"The {encoding} body cannot be decompressed: it is corrupt or truncated."
                ) from None
            detail = " ".join(str(getattr(cause, "message", cause)).split())[:200]
            raise BodyError(400, f"The request body cannot be read: {detail}.") from None
        if length is not None and len(body) != length:
            raise BodyError(400, f"The body has {len(body)} bytes; Content-Length said {length}.")
        return body


#: Peak memory of one body at the limit while it is read, decoded and parsed,
#: in multiples of its size (measured: floats 24x, ``[{}, {}, ...]``, the
#: worst JSON, 30x; see README).
JSON_EXPANSION = 40
#: Allocator and interpreter slack on top of the bound.
SLACK_BYTES = 64 << 20


def memory_bound_bytes(max_request_bytes, slots, connections):
    """The bound on the REST server's memory growth over its size after
    warm-up: ``slots x 40 x max_request_bytes + connections x 384 KiB + 64 MiB``
    (``slots``: ``--num_request_threads``; ``connections``: the REST cap).

    >>> memory_bound_bytes(16 << 20, slots=4, connections=1024) / 2**20
    3008.0
    """
    return (
        slots * JSON_EXPANSION * max_request_bytes + connections * UNREAD_BUFFER_BYTES + SLACK_BYTES
    )
