"""Noise cancellation in the browser app: the lobby's and the call controls' toggle puts the microphone through
the RNNoise AudioWorklet, and the call publishes the worklet's output; the toggle hides, and processing stops,
when the call's mode turns disabled."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Pages, join_call
from tests.web.test_media import record_instances

pytestmark = pytest.mark.parametrize("web_server", ["sqlite"], indirect=True)  # the browser's media, not the database

RECORD = record_instances("RTCPeerConnection", "__pcs") + record_instances("AudioWorkletNode", "__worklets")
# The label of the track the call sends as audio (the fake microphone's, or a MediaStreamAudioDestinationNode's).
SENT_AUDIO = """() => window.__pcs.flatMap((pc) => pc.signalingState === "closed" ? [] : pc.getSenders())
  .map((s) => s.track).filter((t) => t && t.kind === "audio" && t.readyState === "live").map((t) => t.label)"""
# The runs the newest worklet reports next (it reports every half second while it processes audio).
NEXT_REPORT = """() => new Promise((resolve) => {
  const node = window.__worklets.at(-1);
  node.port.addEventListener("message", (event) => resolve(event.data.runs));
  node.port.start();
})"""


def sent_audio(page: Page) -> str:
    page.wait_for_function(f"({SENT_AUDIO})().length === 1")
    (label,) = page.evaluate(SENT_AUDIO)
    return str(label)


def test_the_toggle_publishes_the_denoised_microphone(pages: Pages, server_api: httpx.Client,
                                                      uid: Callable[[str], str],
                                                      shoot: Callable[[Page, str], None]) -> None:  # noqa: F811
    page = pages.signed_in(uid("alice"), "/?theme=light", init_script=RECORD)
    toggle = page.get_by_test_id("toggle-noise-cancellation")
    expect(page.get_by_test_id("lobby-preview")).to_be_visible()
    toggle.click()  # in the lobby: the preview's microphone goes through the worklet at once
    expect(toggle).to_have_attribute("aria-pressed", "true")
    page.wait_for_function("window.__worklets.length === 1")
    assert page.evaluate(NEXT_REPORT) > 0

    call_id = uid("c")
    join_call(page, "default", call_id)  # the default type's mode is "available"
    expect(page.get_by_test_id("call-screen")).to_be_visible()
    expect(toggle).to_have_attribute("aria-pressed", "true")  # the lobby's choice carries into the call
    denoised = sent_audio(page)
    first = page.evaluate(NEXT_REPORT)
    assert page.evaluate(NEXT_REPORT) > first, "the worklet keeps processing the published microphone"
    shoot(page, "call-noise-cancellation")

    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    page.wait_for_function(f"({SENT_AUDIO})().length === 1 && ({SENT_AUDIO})()[0] !== {denoised!r}")
    microphone = sent_audio(page)
    toggle.click()
    page.wait_for_function(f"({SENT_AUDIO})()[0] === {denoised!r}")
    print(f"sent audio: {denoised!r} with noise cancellation, {microphone!r} without")

    server_api.patch(f"/video/call/default/{call_id}", json={
        "settings_override": {"audio": {"noise_cancellation": {"mode": "disabled"}}}}).raise_for_status()
    expect(toggle).to_have_count(0)
    page.wait_for_function(f"({SENT_AUDIO})()[0] === {microphone!r}")  # and processing stopped
