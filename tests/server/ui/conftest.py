"""One `canalis serve` (127.0.0.1, a free port) over one demo workspace for every web UI test,
and one headless Chromium (Debian's, driven by Playwright) for the browser tests.

Screenshots of the pages the browser tests open are written to the folder named by
CANALIS_SCREENSHOTS, by default `build/ui-screenshots/` at the top of the checkout."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.server.conftest import Server, canalis
from tests.server.ui import demo

CHROMIUM = "/usr/bin/chromium"
MANY = 1210  # runs of experiment "many": 25 pages of 50, the last one of 10


class Demo:
    def __init__(self, root, ws, runs, server, token, pipeline_id):
        self.root, self.ws, self.runs, self.server = root, ws, runs, server
        self.token, self.pipeline_id = token, pipeline_id
        self.url = server.url


@pytest.fixture(scope="session")
def ui_demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    ws, runs = demo.build(root)
    demo.many_runs(ws.ledger, "many", MANY)
    from canalis.pipeline.core import PipelineRun
    from canalis.core import Experiment

    published = PipelineRun(Experiment(ws, "demo"), runs[0]).publish_pipeline(name="demo-nightly", description="demo",
                                                                               version="1")
    token = canalis(root, "token", "create", "ui").stdout.strip().splitlines()[-1]
    server = Server(root, root / "serve.log").start()
    yield Demo(root, ws, runs, server, token, published.id)
    server.stop()


def _screenshots() -> Path:
    folder = Path(os.environ.get("CANALIS_SCREENSHOTS") or Path(__file__).parents[3] / "build" / "ui-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CANALIS_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


class Page:
    """A browser tab on the demo server that records console errors and takes screenshots."""

    def __init__(self, page, base: str, shots: Path):
        self.page, self.base, self.shots = page, base, shots
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, path: str):
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        return self.page

    def shot(self, name: str):
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def tab(browser, ui_demo):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = Page(context.new_page(), ui_demo.url, _screenshots())
    page.page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture
def clean_console(tab):
    """Fails the test when a page it opened logged an error to the console."""
    tab.errors.clear()
    yield tab
    assert tab.errors == [], tab.errors


