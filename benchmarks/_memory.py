"""Peak memory of a benchmark's timed block, shared by the benchmark scripts."""

from __future__ import annotations

import threading


class PeakRSS:
    """Peak resident set size while the ``with`` block runs, sampled every
    ``interval`` seconds in a thread (and once at each end).

    ``base`` and ``peak`` are bytes; ``growth`` is ``peak - base``.

    Example::

        with PeakRSS(interval=0.005) as mem:
            run()
        print(mem.growth / 2**20, "MiB")
    """

    def __init__(self, interval=0.02):
        self.interval = interval

    def __enter__(self):
        import psutil

        self._proc = psutil.Process()
        self.base = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)
        self.growth = self.peak - self.base
