"""Browser tests: Debian's Chromium driven by Playwright, with fake camera, microphone and screen, against a
``weir serve --dev`` server (SQLite and PostgreSQL) that serves the built app at ``/``.

Every page records console errors and uncaught exceptions; a test fails if any page had one.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.conftest import ROOT, RunningServer, free_port, fresh_postgres_database, start_server
from weir.config import Settings

T = TypeVar("T")
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# a page's join (coordinator, SFU, ICE and DTLS in Chromium) can take over 10 s while the suite loads both cores
expect.set_options(timeout=20_000)


def off_loop(work: Callable[[], T]) -> T:
    """Run ``work`` on another thread: Playwright's sync API keeps an event loop running on this one, and
    asyncio.run (PostgreSQL set-up, ASGI calls) refuses to start inside it."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


def chromium_path() -> str:
    """Debian's Chromium, installed by scripts/chromium.sh when missing."""
    path = os.environ.get("WEIR_CHROMIUM")
    if not path:
        out = subprocess.run([str(ROOT / "scripts" / "chromium.sh")], check=True, capture_output=True, text=True)
        path = out.stdout.strip().splitlines()[-1]
        os.environ["WEIR_CHROMIUM"] = path
    return path


@pytest.fixture(scope="session")
def web_build() -> None:
    """The app as `make run` builds it (a no-op when web/ has not changed)."""
    subprocess.run(["make", "-s", "-C", str(ROOT), "web"], check=True, capture_output=True)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def web_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, web_build: None
) -> Iterator[RunningServer]:
    """A development server (dev sign-in on) serving the app."""
    def drop() -> None:
        pass

    database_url = None
    if request.param == "postgres":
        database_url, drop = off_loop(fresh_postgres_database)
    data_dir = tmp_path_factory.mktemp(f"weir-web-{request.param}")
    settings = Settings(host="127.0.0.1", port=free_port(), data_dir=data_dir, database_url=database_url, dev=True,
                        rate_limits_enabled=False)
    uv, thread = start_server(settings)
    try:
        yield RunningServer(f"http://127.0.0.1:{settings.port}", settings.api_key or "", settings.api_secret or "",
                            data_dir, request.param, settings.resolved_database_url, app=uv.config.app)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        off_loop(drop)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Per module, not per session: while it is open its event loop runs on this thread, and under pytest-xdist
    the same worker goes on to run other modules' async tests and asyncio.run (which refuse a running loop)."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Pages:
    """Opens pages, one browser context each (so each has its own sign-in), and collects their errors."""

    browser: Browser
    base_url: str
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(
        self, path: str = "/", viewport: dict[str, int] = DESKTOP, init_script: str = "", **options: object
    ) -> Page:
        context = self.browser.new_context(viewport=viewport, base_url=self.base_url, **options)  # type: ignore[arg-type]
        if init_script:
            context.add_init_script(init_script)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: uncaught {error}"))
        page.goto(path)
        return page

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"{page.url}: console error: {message.text}")

    def signed_in(self, user_id: str, path: str = "/", **options: object) -> Page:
        """A page signed in through the development sign-in, on the lobby."""
        page = self.open(path, **options)
        page.get_by_test_id("sign-in-user").fill(user_id)
        page.get_by_test_id("sign-in-submit").click()
        expect(page.get_by_test_id("lobby")).to_be_visible()
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def server_api(web_server: RunningServer) -> Iterator[httpx.Client]:
    """The API with a server token, for what the app has no screen for (call settings)."""
    with httpx.Client(base_url=f"{web_server.base_url}/api/v1", params={"api_key": web_server.api_key},
                      headers={"Authorization": web_server.token()}, timeout=30) as client:
        yield client


@pytest.fixture
def pages(browser: Browser, web_server: RunningServer) -> Iterator[Pages]:
    opened = Pages(browser, web_server.base_url)
    yield opened
    opened.close()
    assert opened.errors == [], "pages had errors:\n" + "\n".join(opened.errors)


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[[Page, str], None]:
    """``shoot(page, name)``: a PNG of the page, kept in WEIR_SCREENSHOT_DIR when set."""
    folder = screenshot_dir() or tmp_path
    folder.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> None:
        page.wait_for_timeout(300)  # let transitions settle
        path = folder / f"{name}.png"
        page.screenshot(path=str(path))
        assert is_png(path)

    return take


JOIN_TIMEOUT_MS = 60_000  # a join under the whole suite's load on two cores has taken over 20 s
_LOBBY_LEFT_OR_FAILED = ("() => !document.querySelector('[data-testid=lobby]')"
                         " || document.querySelector('[data-testid=lobby-error]') !== null")


def join_call(page: Page, call_type: str, call_id: str) -> None:
    """From the lobby: choose the call and join; waits until the lobby has given way to the next screen (a call,
    a waiting or an outgoing screen), and fails with the lobby's error when the join failed."""
    page.get_by_test_id("call-type").select_option(call_type)
    page.get_by_test_id("call-id").fill(call_id)
    page.get_by_test_id("join-call").click()
    page.wait_for_function(_LOBBY_LEFT_OR_FAILED, timeout=JOIN_TIMEOUT_MS)
    failed = page.get_by_test_id("lobby-error")
    assert failed.count() == 0, f"the join failed: {failed.inner_text()}"


def tiles(page: Page) -> list[str]:
    """The user ids of the participant tiles on the page, in display order."""
    return page.get_by_test_id("participant-tile").evaluate_all("els => els.map(e => e.dataset.userId)")


def screenshot_dir() -> Path | None:
    """Where `make screenshots` keeps the PNGs (WEIR_SCREENSHOT_DIR); None keeps them in a temporary folder."""
    folder = os.environ.get("WEIR_SCREENSHOT_DIR")
    return Path(folder) if folder else None


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def by_user(page: Page, testid: str, user_id: str) -> Locator:
    """The element with ``data-testid`` that belongs to ``user_id`` (tiles, list entries)."""
    return page.locator(f'[data-testid="{testid}"][data-user-id="{user_id}"]')
