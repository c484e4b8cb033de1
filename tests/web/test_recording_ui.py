"""Recording from the call screen: the host records through the API (the egress worker renders the call), the
other participant sees the indicator, and the recordings list links the file; the frame-recording toggle too.
Screenshots go with the others (`make screenshots`)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import RunningServer
from tests.sfu.signaling_peers import running_sfu
from tests.web.conftest import Pages, is_png, join_call, screenshot_dir

WORKER_WAIT_S = 60  # the worker starts a display, a browser and an encoder: slow on a loaded machine


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory, web_build: None, browser: Browser) -> Iterator[RunningServer]:
    """The app's server with a recording worker (the other browser tests run none), on SQLite, ICE on loopback;
    after ``browser``, so that the worker's own Chromium is the one the tests use."""
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-web-recording"), dev=True, egress_workers=1,
                     egress_lease_seconds=60) as running:  # a starved worker is not taken for dead
        yield running


def capturing(data_dir: Path, started: set[Path]) -> bool:
    """Whether a new composite capture has begun writing in the worker's folder."""
    return any(path not in started and path.stat().st_size > 0 for path in data_dir.glob("egress/*/*.mp4"))


def test_record_button_indicator_and_recordings_list(pages: Pages, web_server: RunningServer,
                                                     server_api: httpx.Client, uid: Callable[[str], str],
                                                     tmp_path: Path) -> None:
    folder = screenshot_dir() or tmp_path
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page: Page, name: str) -> None:
        page.wait_for_timeout(300)
        page.screenshot(path=str(folder / f"{name}.png"))
        assert is_png(folder / f"{name}.png")

    host, guest, call_id = uid("host"), uid("guest"), uid("c")
    moderator, member = pages.signed_in(host, "/?theme=light"), pages.signed_in(guest, "/?theme=light")
    for page in (moderator, member):  # three browsers and an encoder share the machine: actions may wait long
        page.set_default_timeout(90_000)
    join_call(moderator, "default", call_id)  # the creator is the call's host: it may record
    expect(moderator.get_by_test_id("call-screen")).to_be_visible()
    server_api.patch(f"/video/call/default/{call_id}", json={"settings_override": {
        "recording": {"quality": "360p"}, "frame_recording": {"capture_interval_in_seconds": 2}}}).raise_for_status()
    join_call(member, "default", call_id)
    expect(member.get_by_test_id("participant-tile")).to_have_count(2, timeout=30_000)
    expect(member.get_by_test_id("toggle-recording")).to_have_count(0)  # a user may not record
    expect(member.get_by_test_id("toggle-frame-recording")).to_have_count(0)

    started = set(web_server.data_dir.glob("egress/*/*.mp4"))
    moderator.get_by_test_id("toggle-recording").click()
    expect(member.get_by_test_id("recording-indicator")).to_be_visible(timeout=30_000)
    expect(moderator.get_by_test_id("toggle-recording")).to_have_attribute("aria-pressed", "true")
    deadline = time.monotonic() + WORKER_WAIT_S
    while not capturing(web_server.data_dir, started):
        assert time.monotonic() < deadline, "the worker never began the capture"
        moderator.wait_for_timeout(250)
    shoot(moderator, "call-recording-host")
    shoot(member, "call-recording-participant")

    moderator.wait_for_timeout(2000)  # a couple of seconds of video
    moderator.get_by_test_id("toggle-recording").click()
    expect(member.get_by_test_id("recording-indicator")).to_have_count(0, timeout=30_000)

    member.get_by_test_id("recordings").click()  # everyone in the call may list the recordings
    files = member.get_by_test_id("recording-file")
    expect(files).to_have_count(1, timeout=WORKER_WAIT_S * 1000)  # listed again when call.recording_ready comes
    expect(files).to_have_attribute("data-type", "composite")
    link = files.locator("a")
    expect(link).to_have_text(re.compile(r"^rec_composite_\w+\.mp4$"))
    shoot(member, "call-recordings-list")
    href = link.get_attribute("href") or ""
    response = httpx.get(href, timeout=30)
    assert response.status_code == 200 and response.content[4:8] == b"ftyp", href

    moderator.get_by_test_id("toggle-frame-recording").click()
    expect(member.get_by_test_id("frame-recording-indicator")).to_be_visible(timeout=30_000)
    expect(moderator.get_by_test_id("toggle-frame-recording")).to_have_attribute("aria-pressed", "true")
    shoot(member, "call-frame-recording-participant")
    moderator.get_by_test_id("toggle-frame-recording").click()
    expect(member.get_by_test_id("frame-recording-indicator")).to_have_count(0, timeout=30_000)
