"""Two browser pages in a call whose SFU media worker is SIGKILLed three times in a row (issue 11), against a real
``weir serve --dev`` with two workers: each time both pages rejoin by themselves, on the other worker, and decode
each other's video again (``framesDecoded`` of their new connections advances); the call screen stays, with one
tile per user. How soon is bench/recovery.py's (for the SDK).
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.crash import RECOVERY_TIMEOUT_S, WeirServe
from tests.web.conftest import Pages, by_user
from tests.web.test_media import RECORD_SOCKETS, in_call, record_instances

RECORD_PEERS = record_instances("RTCPeerConnection", "__pcs")  # for their stats
# Video frames decoded by the page's open peer connections made since the first `first` ones.
DECODED_SINCE = """async (first) => {
  let frames = 0;
  for (const pc of window.__pcs.slice(first)) {
    if (pc.connectionState === "closed") continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames += s.framesDecoded || 0;
    });
  }
  return frames;
}"""
OPEN_SFU_URLS = "() => window.__sockets.filter((s) => s.url.includes('/sfu/') && s.readyState === 1).map((s) => s.url)"
# A killed worker refuses (or resets) the pages' fast-reconnect attempts: Chromium logs each as an error.
SFU_UNREACHABLE = re.compile(r"console error: WebSocket connection to 'ws://[^']+/sfu/ws' failed")


@pytest.fixture
def serve(tmp_path: Path, web_build: None) -> Iterator[WeirServe]:
    server = WeirServe(tmp_path / "weir", dev=True)
    server.start()
    yield server
    server.stop()


def sfu_port(page: Page) -> int:
    """The port of the page's open SFU socket (waiting for one, should the page be reconnecting)."""
    page.wait_for_function(f"() => ({OPEN_SFU_URLS})().length > 0", polling=100, timeout=RECOVERY_TIMEOUT_S * 1000)
    port = urlsplit(page.evaluate(OPEN_SFU_URLS)[-1]).port
    assert port is not None
    return port


def expect_decoding(page: Page, first_connection: int) -> None:
    """Connections made since the ``first_connection``-th decode video, and keep decoding."""
    timeout_ms = RECOVERY_TIMEOUT_S * 1000
    page.wait_for_function(f"async () => ({DECODED_SINCE})({first_connection}) > 0", polling=100, timeout=timeout_ms)
    frames = page.evaluate(DECODED_SINCE, first_connection)
    page.wait_for_function(f"async () => ({DECODED_SINCE})({first_connection}) > {frames}", polling=100,
                           timeout=timeout_ms)


def test_pages_rejoin_each_time_their_sfu_worker_is_killed(browser: Browser, serve: WeirServe,
                                                           uid: Callable[[str], str]) -> None:
    pages = Pages(browser, serve.base_url)
    try:
        users = [uid("alice"), uid("bob")]
        opened = in_call(pages, users, uid("c"), init_script=RECORD_SOCKETS + RECORD_PEERS)
        for page in opened:
            expect_decoding(page, 0)
        ports = set()
        for _ in range(3):
            serve.wait_for_workers()
            port = sfu_port(opened[0])
            assert sfu_port(opened[1]) == port, "both pages on the call's worker"
            ports.add(port)
            marks = [page.evaluate("() => window.__pcs.length") for page in opened]
            os.kill(serve.worker_listening_on(port), signal.SIGKILL)
            for page, mark in zip(opened, marks, strict=True):
                expect_decoding(page, mark)
            for page in opened:
                expect(page.get_by_test_id("call-screen")).to_be_visible()
                expect(page.get_by_test_id("participant-tile")).to_have_count(2)
                for user in users:
                    expect(by_user(page, "participant-tile", user)).to_have_count(1)
        assert len(ports | {sfu_port(opened[0])}) > 1, "the call moved to a live worker"
        unexpected = [error for error in pages.errors if not SFU_UNREACHABLE.search(error)]
        assert unexpected == [], "pages had errors:\n" + "\n".join(unexpected)
    finally:
        pages.close()
