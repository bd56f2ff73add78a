"""The report in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright's driver.

Needs /usr/bin/chromium (apt-get install chromium) and the `playwright` Python package; Playwright's own
browser download is never used. A screenshot lands in test-artifacts/ at the repository root.
"""

import math
import re
from pathlib import Path

import pytest

import rnnscope
from conftest import RUN_SECTIONS as SECTIONS
from rnnscope.report import build_report
from rnnscope.stages.pipeline import run_stages

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "run"
    rnnscope.train(
        out=out, task="mixture", task_params={"seq_len": 20}, hidden=8, epochs=2, n_train=96, n_test=48
    )
    stages = run_stages(out, sequences=48)
    assert [s.status for s in stages if s.name in ("record", "analyze")] == ["done", "done"], stages
    return build_report(out)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1100, "height": 900},
        )
        try:
            yield ctx
        finally:
            ctx.close()


def _open(ctx, url):
    """A page at `url` with every request routed: (page, console errors, requests other than url/data:)."""
    page = ctx.new_page()
    errors, foreign = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url == url or r.request.url.startswith("data:"):
            r.continue_()
        else:
            foreign.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("request", lambda q: None if q.url == url or q.url.startswith("data:") else foreign.append(q.url))
    page.goto(url)
    page.wait_for_load_state("load")
    return page, errors, foreign


def test_network_guard_catches_requests(browser, tmp_path):
    """The guard below is real: a page that asks for a remote image is caught."""
    probe = tmp_path / "probe.html"
    probe.write_text('<html><body><img src="http://127.0.0.1:9/x.png"></body></html>')
    page, _, foreign = _open(browser, probe.as_uri())
    page.close()
    assert any("127.0.0.1:9" in u for u in foreign)


def test_report_in_chromium(browser, report):
    url = report.as_uri()
    page, errors, foreign = _open(browser, url)
    try:
        # every section is there and visible
        for sid in SECTIONS:
            assert page.locator(f"section#{sid}").is_visible(), sid
        # every figure is decoded and laid out with a non-zero size
        imgs = page.locator("figure.fig img")
        assert imgs.count() >= 6
        for i in range(imgs.count()):
            img = imgs.nth(i)
            natural = img.evaluate("e => [e.complete, e.naturalWidth, e.naturalHeight]")
            box = img.bounding_box()
            assert natural[0] and natural[1] > 0 and natural[2] > 0, i
            assert box and box["width"] > 0 and box["height"] > 0, i
        # the explorer draws, and picking another sequence changes the plotted data
        unit = page.locator("#explorer path[data-unit]").first
        before = unit.get_attribute("d")
        info = page.locator("#explorer-info").inner_text()
        assert before and before.count("L") >= 5
        svg_box = page.locator("#explorer svg.unit-panel").first.bounding_box()
        assert svg_box["width"] > 0 and svg_box["height"] > 0
        page.select_option("#explorer-seq", "3")
        after = unit.get_attribute("d")
        assert after != before and page.locator("#explorer-info").inner_text() != info
        page.click("#explorer-next")
        assert page.locator("#explorer-seq").input_value() == "4" and unit.get_attribute("d") != after
        n_units = page.locator("#explorer path[data-unit]").count()
        assert n_units == 16  # 2 layers x 8 units, grouped by role
        # the role table sorts on a header click, then reverses
        table = page.locator("#role-table")
        header = table.locator("thead th", has_text=re.compile(r"^\s*tau\s*$"))
        col = [h.strip() for h in table.locator("thead th").all_inner_texts()].index(
            header.inner_text().strip()
        )

        def column():
            cells = table.locator(f"tbody tr td:nth-child({col + 1})")
            # a censored tau shows its bound ("> 30") and sorts by it (data-key)
            keys = cells.evaluate_all("cs => cs.map(c => c.getAttribute('data-key') ?? c.textContent)")
            values = [float(k) for k in keys]
            finite = [v for v in values if math.isfinite(v)]
            assert values[: len(finite)] == finite  # NaN (no estimate) sorts last in both directions
            return finite

        original = column()
        header.click()
        assert header.get_attribute("aria-sort") == "ascending"
        assert column() == sorted(original) and sorted(original) != original
        header.click()
        assert header.get_attribute("aria-sort") == "descending" and column() == sorted(
            original, reverse=True
        )
        role_header = table.locator("thead th", has_text="role")
        role_header.click()
        role_col = [h.strip() for h in table.locator("thead th").all_inner_texts()].index("role")
        roles = table.locator(f"tbody tr td:nth-child({role_col + 1})").all_inner_texts()
        assert roles == sorted(roles)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        page.set_viewport_size({"width": 400, "height": 900})  # a narrow window: nothing wider than it
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(ARTIFACTS / "report-narrow.png"), full_page=False)
        assert width <= 400
    finally:
        page.close()
    assert errors == []
    assert foreign == []
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
