"""Pages checked in a real headless browser: Playwright driving a local Chromium.

Playwright comes from the test extras (``pip install -e .[test]``). The browser
is the system's Chromium (``apt-get install chromium``), or the one named by
``KERAS_GAN_CHROMIUM``, or Playwright's own (``playwright install chromium``,
which needs internet). Without any of them the browser tests skip with a reason
that says so; ``.ci/run`` installs Chromium when apt can.

``conftest.py`` loads this module as a pytest plugin, so any test can take the
``page`` fixture (a fresh tab, 1400x1000; console errors in
``page.console_errors``) and check a screenshot with :func:`not_blank`::

    from browser import not_blank

    def test_page(page):
        page.goto(url)
        assert not_blank(page.screenshot())
"""

from __future__ import annotations

import io
import os
import shutil

import numpy as np
import pytest
from PIL import Image

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
NO_BROWSER = (
    "no headless browser: install Chromium (apt-get install chromium), or set "
    "KERAS_GAN_CHROMIUM to a Chromium/Chrome executable, or run `playwright install chromium`"
)


def chromium_executable():
    """The Chromium to drive: ``KERAS_GAN_CHROMIUM``, else the first on PATH, else None."""
    explicit = os.environ.get("KERAS_GAN_CHROMIUM")
    if explicit:
        return explicit
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for a test module, or a skip that says what is missing.

    Module-scoped: Playwright's sync API keeps an asyncio loop running in this
    thread while it is started, which would make later tests' ``asyncio.run``
    fail; it stops at the end of each module that uses the browser."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install -e .[test]"
    )
    manager = sync_api.sync_playwright().start()
    executable = chromium_executable()
    try:
        launched = manager.chromium.launch(
            executable_path=executable,
            headless=True,
            # Root in a container has no user namespace for Chromium's sandbox.
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
    except Exception as exc:  # Playwright raises its own Error for a missing browser
        manager.stop()
        pytest.skip(f"{NO_BROWSER} ({type(exc).__name__}: {str(exc).splitlines()[0]})")
    yield launched
    launched.close()
    manager.stop()


@pytest.fixture
def page(browser):
    """A fresh browser tab; console errors are collected in ``page.console_errors``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.console_errors = []
    tab.on("console", lambda m: m.type == "error" and tab.console_errors.append(m.text))
    tab.on("pageerror", lambda e: tab.console_errors.append(str(e)))
    yield tab
    context.close()


def not_blank(png_bytes, min_std=8.0):
    """Whether a screenshot shows something: the grey levels vary (std >= ``min_std``)."""
    grey = np.asarray(Image.open(io.BytesIO(png_bytes)).convert("L"), dtype=np.float64)
    return float(grey.std()) >= min_std
