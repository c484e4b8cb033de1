"""Livestreams (backstage, go live, viewers) and audio rooms (request to speak, grant, revoke) in Chromium."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.web.conftest import Pages, by_user, join_call, tiles


def test_viewer_waits_in_backstage_and_watches_once_live(pages: Pages, uid: Callable[[str], str]) -> None:
    host_id, viewer_id, call_id = uid("host"), uid("viewer"), uid("live")
    host, viewer = pages.signed_in(host_id), pages.signed_in(viewer_id)
    join_call(host, "livestream", call_id)
    expect(host.get_by_test_id("livestream-host")).to_be_visible()
    expect(host.get_by_test_id("backstage-badge")).to_be_visible()

    join_call(viewer, "livestream", call_id)
    expect(viewer.get_by_test_id("livestream-waiting")).to_be_visible()

    host.get_by_test_id("go-live").click()
    expect(host.get_by_test_id("live-badge")).to_be_visible()
    expect(viewer.get_by_test_id("livestream-viewer")).to_be_visible()
    expect(viewer.get_by_test_id("live-badge")).to_be_visible()
    assert tiles(viewer) == [host_id], "viewers see the host, not themselves"
    expect(host.get_by_test_id("viewer-count")).to_contain_text("1")
    assert viewer.get_by_test_id("go-live").count() == 0


def test_audio_room_listener_requests_to_speak_and_the_host_grants(pages: Pages, uid: Callable[[str], str]) -> None:
    host_id, listener_id, call_id = uid("host"), uid("listener"), uid("room")
    host, listener = pages.signed_in(host_id), pages.signed_in(listener_id)
    join_call(host, "audio_room", call_id)
    expect(host.get_by_test_id("audio-room")).to_be_visible()
    host.get_by_test_id("go-live").click()
    expect(host.get_by_test_id("live-badge")).to_be_visible()

    join_call(listener, "audio_room", call_id)
    expect(by_user(host, "listener", listener_id)).to_be_visible()
    expect(by_user(listener, "speaker", host_id)).to_be_visible()
    expect(listener.get_by_test_id("toggle-mic")).to_be_disabled()

    listener.get_by_test_id("request-permission").click()
    request = by_user(host, "permission-request", listener_id)
    expect(request).to_contain_text("send-audio")
    request.get_by_test_id("grant-permission").click()

    expect(listener.get_by_test_id("toggle-mic")).to_be_enabled()
    expect(by_user(host, "speaker", listener_id)).to_be_visible()
    listener.get_by_test_id("toggle-mic").click()
    # The host hears the new speaker: the SFU reports the published audio, and the host's page plays it.
    mic = by_user(host, "speaker", listener_id).get_by_test_id("mic-indicator")
    expect(mic).to_have_attribute("data-muted", "false")
    expect(host.locator("[data-testid=remote-audio]")).to_have_count(1)

    by_user(host, "speaker", listener_id).get_by_test_id("revoke-speaker").click()
    expect(by_user(host, "listener", listener_id)).to_be_visible()
    expect(listener.get_by_test_id("toggle-mic")).to_be_disabled()
