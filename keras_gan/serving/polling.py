"""A daemon thread that calls a function every few seconds until stopped: the
registry's scan of the base paths and the config file's re-read."""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger("keras_gan.serving")


class Poller:
    """Calls ``fn()`` every ``interval`` seconds in a daemon thread named ``name``;
    an exception is logged (``what`` failed) and the polling goes on.

    Example:

    ```python
    poller = Poller(lambda: print("tick"), 5.0, "ticker", "tick")
    poller.start()
    poller.stop()
    ```
    """

    def __init__(self, fn, interval, name, what):
        self.fn, self.interval, self.name, self.what = fn, float(interval), name, what
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.fn()
            except Exception:  # never let the poller die
                logger.exception("%s failed", self.what)
