"""The livestream viewer watches an HLS broadcast with hls.js: the call broadcasts (the egress worker captures the
host's livestream into HLS), the viewer opens the call and plays the playlist without joining over WebRTC."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import expect

from tests.client.media_helpers import MEDIA_WAIT
from tests.conftest import RunningServer
from tests.sfu.signaling_peers import running_sfu
from tests.web.conftest import Pages, join_call, screenshot_dir

CURRENT_TIME = "() => document.querySelector('[data-testid=hls-video]').currentTime"


@pytest.fixture(scope="module")
def web_server(web_build: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A development server with an egress worker (the shared one has none); ``pages`` and ``server_api`` use it."""
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-web-hls"), egress_workers=1, dev=True) as running:
        yield running


def wait_until_served(url: str) -> None:
    """The egress worker's first segments take seconds (a browser and an encoder start): the viewer opens the
    call once the playlist is there, so its page logs no 404."""
    deadline = time.monotonic() + MEDIA_WAIT + 30
    while httpx.get(url).status_code != 200:
        assert time.monotonic() < deadline, "the broadcast's playlist never appeared"
        time.sleep(0.3)


def test_viewer_plays_the_broadcast_over_hls(pages: Pages, server_api: httpx.Client,
                                              uid: Callable[[str], str]) -> None:
    host_id, viewer_id, call_id = uid("host"), uid("viewer"), uid("hls")
    host = pages.signed_in(host_id)
    join_call(host, "livestream", call_id)
    host.get_by_test_id("go-live").click()
    expect(host.get_by_test_id("live-badge")).to_be_visible()
    path = f"/video/call/livestream/{call_id}"
    server_api.patch(path, json={"settings_override": {"broadcasting": {"hls": {"quality_tracks": ["360p"]}}}}
                     ).raise_for_status()
    started = server_api.post(f"{path}/start_broadcasting")
    started.raise_for_status()
    wait_until_served(started.json()["playlist_url"])

    viewer = pages.signed_in(viewer_id)
    join_call(viewer, "livestream", call_id)
    expect(viewer.get_by_test_id("livestream-hls")).to_be_visible()
    viewer.wait_for_function(f"() => ({CURRENT_TIME})() > 0", timeout=(MEDIA_WAIT + 30) * 1000)
    first = viewer.evaluate(CURRENT_TIME)
    viewer.wait_for_function(f"t => ({CURRENT_TIME})() > t + 1", arg=first, timeout=MEDIA_WAIT * 1000)
    # over HLS, not WebRTC: the viewer never joined, so the host counts no viewer
    expect(host.get_by_test_id("viewer-count")).to_contain_text("0")
    folder = screenshot_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        viewer.screenshot(path=str(folder / "livestream-hls-viewer.png"))

    # the broadcast stops: the viewer falls back to watching over WebRTC
    server_api.post(f"{path}/stop_broadcasting").raise_for_status()
    expect(viewer.get_by_test_id("livestream-viewer")).to_be_visible(timeout=MEDIA_WAIT * 1000)
