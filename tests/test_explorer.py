"""The sample explorer page at ``GET /``, in a real headless Chromium."""

import types

import production_server
import requests
from browser import not_blank

from keras_gan.serving.extensions import Extensions


def _open(page, server):
    page.goto(server.rest_url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)


def _select(page, name):
    page.select_option("#model", name)
    page.wait_for_function(f"(document.body.dataset.model || '').startsWith('{name}/')")


def _generate(page, seed, count):
    # Emptied first, so that the wait below sees this answer, not the previous one.
    page.evaluate(
        "document.querySelector('#grid').replaceChildren();"
        "document.querySelector('#status').textContent = ''"
    )
    page.fill("#seed", str(seed))
    page.click("#generate")
    page.wait_for_function(
        f"document.querySelectorAll('#grid img, #grid canvas').length === {count} && "
        "document.querySelector('#status').textContent.includes('seed " + str(seed) + "')",
        timeout=30_000,
    )
    return page.eval_on_selector_all("#grid img", "els => els.map(e => e.src)")


def test_explorer_shows_samples_that_change_with_the_seed(page):
    server = production_server.get()
    _open(page, server)
    models = page.eval_on_selector_all("#model option", "o => o.map(x => x.value)")
    assert models == sorted(production_server.MODELS)
    _select(page, "mnist")
    page.fill("#num-samples", "16")
    first = _generate(page, 0, 16)
    assert len(first) == 16 and all(src.startswith("data:image/png;base64,") for src in first)
    page.wait_for_function(
        "Array.from(document.querySelectorAll('#grid img'))"
        ".every(i => i.complete && i.naturalWidth === 28)"
    )
    assert not_blank(page.locator("#grid").screenshot())
    assert _generate(page, 0, 16) == first  # the same seed, the same images
    second = _generate(page, 1, 16)
    assert second != first and len(set(second) & set(first)) == 0

    # Latent interpolation between two seeds: one frame per step, stepped through.
    page.fill("#seed-a", "0")
    page.fill("#seed-b", "1")
    page.fill("#steps", "8")
    page.click("#interpolate")
    page.wait_for_function("document.querySelectorAll('#interpolation canvas').length === 8")
    assert not_blank(page.locator("#interpolation").screenshot())
    page.fill("#step", "3")
    page.dispatch_event("#step", "input")
    assert page.text_content("#step-label") == "step 4 of 8"
    assert page.console_errors == []


def test_explorer_classes_and_text(page):
    server = production_server.get()
    _open(page, server)
    _select(page, "cond")
    assert page.is_visible("#class-label")
    page.select_option("#class", "2")
    page.fill("#num-samples", "4")
    one = _generate(page, 5, 4)
    page.select_option("#class", "0")
    assert _generate(page, 5, 4) != one  # another class, other images

    page.select_option("#model", "seq")
    page.wait_for_function(
        "document.querySelector('#model-info').textContent.includes('vocabulary')"
    )
    page.fill("#num-samples", "3")
    page.fill("#seed", "2")
    page.click("#generate")
    page.wait_for_function("document.querySelector('#text').textContent.length > 0")
    lines = page.text_content("#text").split("\n")
    assert len(lines) == 3 and all(set(line) <= set("abc_") for line in lines)
    assert page.console_errors == []


def test_the_page_is_served_offline_and_can_be_turned_off():
    server = production_server.get()
    html = requests.get(server.rest_url + "/", timeout=10).text
    assert "http://" not in html and "https://" not in html  # no CDN
    js = requests.get(server.rest_url + "/explorer/explorer.js", timeout=10)
    assert js.headers["Content-Type"].startswith("text/javascript") and "fetch(" in js.text
    options = types.SimpleNamespace(monitoring_path=None, enable_batching=False, explorer=False)
    assert Extensions(options).rest_plugins() == []
