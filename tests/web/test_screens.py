"""Every screen renders, in light and dark, in English and French, down to phone width; each is kept as a PNG
(`make screenshots` writes them to docs/screenshots/, otherwise they go to a temporary folder)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import RunningServer
from tests.test_transcriptions import claim
from tests.web.conftest import PHONE, Pages, by_user, join_call, off_loop
from weir.ai.transcript import Transcript
from weir.domain.egress_tokens import create_worker_token
from weir.egress.composite import CompositeSpec, layout_url
from weir.egress.delivery import deliver, job_files, work_dir

# What a screen looks like does not depend on the database: these run on SQLite only.
pytestmark = pytest.mark.parametrize("web_server", ["sqlite"], indirect=True)


def test_lobby_and_themes(pages: Pages, uid: Callable[[str], str], shoot: Callable[[Page, str], None]) -> None:
    page = pages.signed_in(uid("alice"), "/join/default/weekly-standup?theme=light")
    expect(page.get_by_test_id("lobby-preview")).to_be_visible()
    expect(page.get_by_test_id("mic-level")).to_be_visible()
    expect(page.get_by_test_id("camera-select")).not_to_have_value("")
    shoot(page, "lobby")

    page.get_by_test_id("toggle-theme").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 17, 21)", background
    shoot(page, "lobby-dark")


def test_phone_width_in_french(pages: Pages, uid: Callable[[str], str], shoot: Callable[[Page, str], None]) -> None:
    page = pages.signed_in(uid("alice"), "/?lang=fr&theme=light", viewport=PHONE)
    expect(page.get_by_test_id("join-call")).to_have_text("Rejoindre")
    join_call(page, "default", uid("c"))
    expect(page.get_by_test_id("leave-call")).to_have_text("Quitter")
    expect(page.get_by_test_id("leave-call")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "no sideways scrolling"
    shoot(page, "call-phone-fr")
    page.get_by_test_id("language").select_option("en")
    expect(page.get_by_test_id("leave-call")).to_have_text("Leave")


def test_four_person_grid_and_spotlight_with_screen_share(
    pages: Pages, uid: Callable[[str], str], shoot: Callable[[Page, str], None]
) -> None:
    names = ["Ada", "Grace", "Linus", "Margaret"]
    call_id = uid("c")
    opened = []
    for name in names:
        page = pages.signed_in(uid(name.lower()), "/?theme=light")
        page.get_by_test_id("display-name").fill(name)
        join_call(page, "default", call_id)
        expect(page.get_by_test_id("call-screen")).to_be_visible()
        opened.append(page)
    viewer, sharer = opened[0], opened[1]
    expect(viewer.get_by_test_id("participant-tile")).to_have_count(4)
    expect(viewer.get_by_test_id("participant-name")).to_contain_text(["Ada (you)", "Grace", "Linus", "Margaret"],
                                                                      ignore_case=False)
    opened[2].get_by_test_id("reactions").click()
    opened[2].get_by_test_id("send-reaction-heart").click()
    expect(viewer.get_by_test_id("reaction")).to_be_visible()
    shoot(viewer, "call-grid")

    sharer.get_by_test_id("screen-share").click()
    viewer.get_by_test_id("toggle-layout").click()
    expect(viewer.get_by_test_id("layout-spotlight")).to_be_visible()
    main = viewer.locator(".spotlight-main [data-testid=screen-share-tile]")
    expect(main).to_be_visible()
    viewer.get_by_test_id("toggle-participants").click()
    expect(viewer.get_by_test_id("participant-entry")).to_have_count(4)
    shoot(viewer, "call-spotlight-screen-share")


def test_incoming_call(pages: Pages, uid: Callable[[str], str], shoot: Callable[[Page, str], None]) -> None:
    callee_id = uid("bob")
    caller, callee = pages.signed_in(uid("alice"), "/?theme=light"), pages.signed_in(callee_id, "/?theme=light")
    caller.get_by_test_id("display-name").fill("Alice Liddell")
    caller.get_by_test_id("ring-users").fill(callee_id)
    caller.get_by_test_id("ring-call").click()
    expect(callee.get_by_test_id("incoming-caller")).to_contain_text("Alice Liddell")
    shoot(callee, "incoming-call")
    shoot(caller, "outgoing-call")


def test_livestream_viewer_and_audio_room(
    pages: Pages, uid: Callable[[str], str], shoot: Callable[[Page, str], None]
) -> None:
    host, viewer = pages.signed_in(uid("host"), "/?theme=dark"), pages.signed_in(uid("viewer"), "/?theme=dark")
    live_id = uid("live")
    join_call(host, "livestream", live_id)
    host.get_by_test_id("go-live").click()
    join_call(viewer, "livestream", live_id)
    expect(viewer.get_by_test_id("livestream-viewer")).to_be_visible()
    shoot(viewer, "livestream-viewer")
    shoot(host, "livestream-host")

    speaker_id, listener_id = uid("speaker"), uid("listener")
    speaker, listener = pages.signed_in(speaker_id, "/?theme=light"), pages.signed_in(listener_id, "/?theme=light")
    room_id = uid("room")
    join_call(speaker, "audio_room", room_id)
    speaker.get_by_test_id("go-live").click()
    join_call(listener, "audio_room", room_id)
    listener.get_by_test_id("request-permission").click()
    expect(by_user(speaker, "permission-request", listener_id)).to_be_visible()
    shoot(speaker, "audio-room")


LOGO = ("data:image/svg+xml," + quote('<svg xmlns="http://www.w3.org/2000/svg" width="160" height="48">'
                                     '<rect width="160" height="48" rx="8" fill="#0ea5e9"/><text x="80" y="32" '
                                     'font-size="24" text-anchor="middle" fill="white">Weir</text></svg>'))

# every video on the page shows frames
PLAYING = "[...document.querySelectorAll('[data-testid=layout-video]')].every(v => v.videoWidth > 0)"


def test_recording_layout_page(pages: Pages, web_server: RunningServer, uid: Callable[[str], str],
                               shoot: Callable[[Page, str], None]) -> None:
    """The composite recorder's page: a grid of the call's participants with labels and a logo; a screen share
    switches it to `screenshare_layout`."""
    call_id = uid("c")
    opened = []
    for name in ["Ada", "Grace"]:
        page = pages.signed_in(uid(name.lower()), "/?theme=light")
        page.get_by_test_id("display-name").fill(name)
        join_call(page, "default", call_id)
        expect(page.get_by_test_id("call-screen")).to_be_visible()
        opened.append(page)
    layout = {"name": "grid", "options": {"screenshare_layout": "spotlight", "video.background_color": "#1f2937",
                                          "participant.label_background_color": "#ffffffdd",
                                          "logo.image_url": LOGO, "logo.horizontal_position": "right"}}
    spec = CompositeSpec(base_url="", call_type="default", call_id=call_id, token=web_server.token("recorder"),
                         width=1280, height=720, audio_only=False, layout=layout, api_key=web_server.api_key)
    recorder = pages.open(layout_url(spec), viewport={"width": 1280, "height": 720})
    expect(recorder.get_by_test_id("recording-layout")).to_have_attribute("data-status", "joined", timeout=30_000)
    stage = recorder.get_by_test_id("layout-stage")
    expect(stage).to_have_attribute("data-layout", "grid")
    expect(recorder.get_by_test_id("layout-video")).to_have_count(2, timeout=30_000)
    expect(recorder.get_by_test_id("layout-label")).to_have_text(["Ada", "Grace"])
    recorder.wait_for_function(PLAYING, timeout=30_000)
    shoot(recorder, "recording-layout-grid")

    # external_css_url restyles the page; name "custom" hands the call to the external_app_url app
    css = "data:text/css," + quote(".layout-label { text-transform: uppercase }")
    styled = pages.open(layout_url(replace(spec, layout={**layout, "external_css_url": css})))
    expect(styled.get_by_test_id("layout-label").first).to_have_css("text-transform", "uppercase", timeout=30_000)
    custom = pages.open(layout_url(replace(spec, layout={"name": "custom", "external_app_url": "/my-layout-app"})))
    # (here the "app" is Weir's own, which signs in with the token and api_key and then drops them from the URL)
    expect(custom).to_have_url(re.compile(rf"/my-layout-app\?call_type=default&call_id={call_id}&base_url=http"),
                               timeout=30_000)
    expect(custom.get_by_test_id("lobby")).to_contain_text("recorder", timeout=30_000)

    opened[1].get_by_test_id("screen-share").click()
    expect(stage).to_have_attribute("data-layout", "spotlight", timeout=30_000)
    expect(recorder.locator("[data-testid=layout-tile]").first).to_have_attribute("data-kind", "screen_share")
    recorder.wait_for_function(PLAYING, timeout=30_000)
    shoot(recorder, "recording-layout-screen-share")


def test_captions_overlay_and_transcripts(pages: Pages, web_server: RunningServer, uid: Callable[[str], str],
                                          shoot: Callable[[Page, str], None]) -> None:
    """The host turns captions on; the AI worker's captions (played here through its channel) show with the
    speaker's name; a finished transcript is listed. A member without the capability sees no toggle."""
    host_id, guest_id, call_id = uid("ada"), uid("grace"), uid("c")
    cid = f"default:{call_id}"
    host, guest = pages.signed_in(host_id, "/?theme=dark"), pages.signed_in(guest_id, "/?theme=dark")
    for page, name in ((host, "Ada"), (guest, "Grace")):
        page.get_by_test_id("display-name").fill(name)
        join_call(page, "default", call_id)
        expect(page.get_by_test_id("call-screen")).to_be_visible()
    expect(guest.get_by_test_id("captions-toggle")).to_have_count(0)
    toggle = host.get_by_test_id("captions-toggle")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true", timeout=30_000)
    settings = web_server.app.state.weir.settings
    with httpx.Client(base_url=web_server.base_url + "/internal/egress") as channel:
        def worker(path: str, **body: Any) -> dict[str, Any]:
            token = create_worker_token(web_server.api_secret)
            answer = channel.post(path, json={"worker_id": "web-ai", **body},
                                  headers={"Authorization": f"Bearer {token}"})
            answer.raise_for_status()
            return answer.json()  # type: ignore[no-any-return]

        job = claim(worker, cid, "closed_captions")
        now = datetime.now(UTC)
        for speaker, text in ((host_id, "shall we begin"), (guest_id, "yes the agenda is ready")):
            worker(f"/{job['egress_id']}/captions", captions=[{"speaker_id": speaker, "text": text, "language": "en",
                   "start_time": now.isoformat(), "end_time": (now + timedelta(seconds=2)).isoformat()}])
        expect(guest.get_by_test_id("captions")).to_contain_text("Ada: shall we begin", timeout=30_000)
        expect(guest.get_by_test_id("captions")).to_contain_text("Grace: yes the agenda is ready", timeout=30_000)
        shoot(guest, "call-captions")

        httpx.post(f"{web_server.base_url}/api/v1/video/call/default/{call_id}/start_transcription", json={},
                   params={"api_key": web_server.api_key}, headers={"Authorization": web_server.token()})
        job = claim(worker, cid, "transcription")
        folder = work_dir(settings.data_dir, job["egress_id"])
        folder.mkdir(parents=True)
        transcript = Transcript(folder / "transcript.jsonl")
        transcript.write(now, now, host_id, "shall we begin")
        transcript.close()
        stored = off_loop(lambda: asyncio.run(deliver(settings, None, cid, job["session_id"], job_files(folder),
                                                      now)))
        worker(f"/{job['egress_id']}/finish", error=None, files=[
            {"filename": f.filename, "storage": f.storage, "key": f.key, "start_time": f.start_time.isoformat(),
             "end_time": f.end_time.isoformat()} for f in stored])
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false", timeout=30_000)
    host.get_by_test_id("transcriptions-open").click()
    expect(host.get_by_test_id("transcription")).to_have_text("transcript.jsonl", timeout=30_000)
    shoot(host, "call-transcripts")
