"""The REST server's listening socket: a cap on open connections, accept errors
logged at most once a second, and answers to half-closed requests.

asyncio's own ``create_server`` accepts whatever arrives: a client opening
connections up to the process's file limit shuts everyone else out, and each
failed ``accept()`` (``EMFILE``) is logged with a traceback, in a tight loop.
:class:`Listener` accepts with the loop's public ``sock_accept`` and hands each
socket to aiohttp with ``connect_accepted_socket`` (TLS included). At
``max_connections`` open connections it stops accepting: new clients wait in
the kernel's backlog (no file descriptor is used) until a connection closes,
which aiohttp's ``keepalive_timeout`` guarantees for idle ones and ones whose
headers never complete (see :mod:`keras_gan.serving.server`). So once a flood
of partial connections times out, service resumes by itself.

Example (what :mod:`keras_gan.serving.server` does):

```python
runner = web.AppRunner(app, keepalive_timeout=10, access_log=None)
await runner.setup()
listener = Listener(runner, max_connections=1000)
port = await listener.start("127.0.0.1", 8501)
...
await listener.close()
await runner.cleanup()
```
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import time

from aiohttp import web_protocol

logger = logging.getLogger("keras_gan.serving")

#: File descriptors left for everything but client connections (model files,
#: TensorFlow, gRPC's own descriptors, logs).
RESERVED_FILES = 128
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def open_file_limit():
    """The soft ``RLIMIT_NOFILE`` of this process (``None`` when unlimited or
    unknown, as on Windows)."""
    try:
        import resource
    except ImportError:
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def connection_caps(rest, grpc, file_limit, reserved=RESERVED_FILES):
    """``(rest, grpc)`` connection caps that fit below ``file_limit``.

    The requested caps are kept when ``rest + grpc + reserved`` fits; otherwise
    both are lowered in proportion so that it does.

    >>> connection_caps(1024, 1024, 1024)
    (448, 448)
    """
    if file_limit is None:
        return rest, grpc
    room = max(2, file_limit - reserved)
    if rest + grpc <= room:
        return rest, grpc
    rest_cap = max(1, rest * room // (rest + grpc))
    return rest_cap, max(1, room - rest_cap)


class RateLimitedLog:
    """Log a recurring error at most once per ``interval`` seconds, with the
    number of repeats left out since the last line."""

    def __init__(self, interval=1.0, log=logger):
        self.interval = interval
        self.log = log
        self._last = -float("inf")
        self._skipped = 0

    def error(self, message):
        now = time.monotonic()
        if now - self._last < self.interval:
            self._skipped += 1
            return
        if self._skipped:
            message += f" ({self._skipped} more since the last such line)"
        self.log.error("%s", message)
        self._last, self._skipped = now, 0


class HalfCloseRequestHandler(web_protocol.RequestHandler):
    """aiohttp's handler that still answers a client that half-closed its side.

    aiohttp closes the connection when the client sends EOF, so a complete
    request sent with ``shutdown(SHUT_WR)`` (curl's HTTP/1.0 POST without
    ``Content-Length``) got no answer. Here EOF on an idle connection closes it
    at once; after a received request it closes once that request is answered.
    """

    def eof_received(self):
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            self.force_close()  # idle: nothing to answer
        else:
            self.close()  # answer what was received, then close
        return True  # keep our sending side open meanwhile


class Listener:
    """Accepts REST connections for an aiohttp ``runner``, at most
    ``max_connections`` open at once.

    Args:
        runner: a set-up ``aiohttp.web.AppRunner``.
        max_connections: open connections (TLS handshakes included) above which
            accepting pauses.
        handler_kwargs: the keyword arguments the runner was given for its
            request handlers (``keepalive_timeout``, ``access_log``...).
        ssl: an ``ssl.SSLContext`` for HTTPS, or ``None``.
        handshake_timeout: seconds a TLS handshake may take.
        backlog: the listening socket's backlog.
    """

    def __init__(
        self,
        runner,
        max_connections,
        handler_kwargs=None,
        ssl=None,
        handshake_timeout=10.0,
        backlog=128,
    ):
        self.runner = runner
        self.max_connections = int(max_connections)
        self.handler_kwargs = dict(handler_kwargs or {})
        self.ssl = ssl
        self.handshake_timeout = handshake_timeout
        self.backlog = backlog
        self.accept_errors = RateLimitedLog()
        self.paused = 0  # times accepting paused at the cap (for tests and metrics)
        self._sock = None
        self.port = None
        self._task = None
        self._opening = set()

    @property
    def open_connections(self):
        """Connections open now (the ones still in their TLS handshake too)."""
        return len(self.runner.server.connections) + len(self._opening)

    async def start(self, host, port):
        """Listen on ``host:port`` (``port`` 0: any); the port bound.
        Raises OSError when the address cannot be bound."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.create_server(
            (host, port), family=family, backlog=self.backlog, reuse_port=False
        )
        self._sock.setblocking(False)
        self.port = self._sock.getsockname()[1]
        self._task = asyncio.get_running_loop().create_task(self._accept_loop())
        return self.port

    async def close(self):
        """Stop accepting and drop connections still in their handshake."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for task in list(self._opening):
            task.cancel()
        if self._sock is not None:
            self._sock.close()

    def _handler(self):
        server = self.runner.server
        return HalfCloseRequestHandler(
            server, loop=asyncio.get_running_loop(), **self.handler_kwargs
        )

    async def _accept_loop(self):
        loop = asyncio.get_running_loop()
        while True:
            if self.open_connections >= self.max_connections:
                self.paused += 1
                while self.open_connections >= self.max_connections:
                    await asyncio.sleep(0.05)  # a connection closes: accept again
            try:
                conn, _ = await loop.sock_accept(self._sock)
            except OSError as e:
                if e.errno in _OUT_OF_RESOURCES:
                    self.accept_errors.error(
                        f"cannot accept a REST connection: {e.strerror or e} "
                        f"({self.open_connections} open; the cap is {self.max_connections})"
                    )
                    await asyncio.sleep(0.1)  # the client waits in the backlog meanwhile
                continue  # ECONNABORTED and friends: the client went away
            task = loop.create_task(self._open(conn))
            self._opening.add(task)
            task.add_done_callback(self._opening.discard)

    async def _open(self, conn):
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(
                self._handler,
                sock=conn,
                ssl=self.ssl,
                ssl_handshake_timeout=self.handshake_timeout if self.ssl else None,
            )
        except (OSError, asyncio.TimeoutError, ConnectionError) as e:
            conn.close()  # a failed TLS handshake, or the client went away
            logger.debug("REST connection dropped before its first request: %s", e)
        except asyncio.CancelledError:
            conn.close()
            raise


async def start_rest(app, host, port, max_connections, idle_timeout, ssl=None):
    """Serve the aiohttp ``app`` on ``host:port``: ``(runner, listener)``.

    ``idle_timeout`` is aiohttp's ``keepalive_timeout``: a connection without
    complete request headers that long after it opened or after its last
    answer (idle keep-alive, or headers that never complete) is closed; it
    also bounds TLS handshakes and the reading of an unread body's rest after
    its answer. Raises OSError when the port cannot be bound.
    """
    from aiohttp import web

    # lingering_time: after answering a request whose body was not read (413,
    # 408), aiohttp reads and drops the rest for this long before it closes,
    # so the client can read the answer; bounded like an idle connection.
    handler_kwargs = {
        "access_log": None,
        "keepalive_timeout": idle_timeout,
        "lingering_time": idle_timeout,
    }
    runner = web.AppRunner(app, handle_signals=False, **handler_kwargs)
    await runner.setup()
    listener = Listener(
        runner,
        max_connections,
        handler_kwargs=handler_kwargs,
        ssl=ssl,
        handshake_timeout=idle_timeout,
    )
    try:
        await listener.start(host, port)
    except BaseException:
        await runner.cleanup()
        raise
    return runner, listener
