"""Frame recording: the server SDK starts it, the egress worker joins hidden and every 2 s stores a JPEG of each
participant's video, each announced by ``call.frame_recording_ready`` with a URL to the image."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable, Iterator

import av
import httpx
import pytest

from tests.client.media_helpers import MEDIA_WAIT
from tests.conftest import RunningServer, assert_error
from tests.egress.media import RGB, ColourTrack
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import running_sfu
from weir.client import Call, CallConnectOptions, StreamVideo, StreamVideoOptions, TrackOption, User
from weir.domain.egress_tokens import create_worker_token
from weir.protocol.events import (
    CallFrameRecordingFrameReadyEvent,
    CallFrameRecordingStartedEvent,
    CallFrameRecordingStoppedEvent,
)
from weir.server import AsyncClient
from weir.server.response import WeirAPIError

pytestmark = pytest.mark.usefixtures("loopback_ice")
COLOURS: dict[str, RGB] = {"blue": (0, 0, 255), "green": (0, 200, 0)}
INTERVAL_S, RECORD_S = 2, 9.0  # captures at 0, 2, 4, 6 and 8 s after the first: five per participant


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-frames"), egress_workers=1) as running:
        yield running


def near(actual: tuple[int, ...], expected: RGB, tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def centre_of_jpeg(body: bytes) -> tuple[int, int, tuple[int, ...]]:
    """The image's width, height and centre pixel (RGB)."""
    with av.open(io.BytesIO(body), "r") as container:
        (frame,) = list(container.decode(video=0))
    rgb = frame.reformat(format="rgb24")
    row = bytes(rgb.planes[0])[rgb.planes[0].line_size * (frame.height // 2):]
    x = 3 * (frame.width // 2)
    return frame.width, frame.height, tuple(row[x:x + 3])


async def join(server: RunningServer, call_id: str, name: str, clients: list[StreamVideo]) -> Call:
    user_id = f"{name}-{call_id}"
    client = StreamVideo.create(server.api_key, user=User.regular(user_id, name=name), user_token=server.token(user_id),
                                options=StreamVideoOptions(coordinator_rpc_url=server.base_url))
    clients.append(client)
    await client.connect()
    call = client.make_call(id=call_id)
    await call.join(create=True, connect_options=CallConnectOptions(camera=TrackOption.enabled(ColourTrack(
        COLOURS[name]))))
    return call


async def test_frame_recording_stores_a_jpeg_per_participant_every_interval(
        server: RunningServer, uid: Callable[[str], str]) -> None:
    call_id, clients = uid("frames"), list[StreamVideo]()
    ready: list[CallFrameRecordingFrameReadyEvent] = []
    lifecycle: list[CallFrameRecordingStartedEvent | CallFrameRecordingStoppedEvent] = []
    try:
        async with AsyncClient(server.api_key, server.api_secret, server.base_url) as weir:
            api = weir.video.call("default", call_id)
            await api.get_or_create({"created_by_id": "frames-owner", "settings_override": {"frame_recording": {
                "mode": "available", "capture_interval_in_seconds": INTERVAL_S, "quality": "360p"}}})
            with pytest.raises(WeirAPIError, match="no frame recording"):
                await api.stop_frame_recording()
            blue = await join(server, call_id, "blue", clients)
            await join(server, call_id, "green", clients)
            blue.events.on(CallFrameRecordingFrameReadyEvent, ready.append)
            blue.events.on(CallFrameRecordingStartedEvent, lifecycle.append)
            blue.events.on(CallFrameRecordingStoppedEvent, lifecycle.append)
            with pytest.raises(WeirAPIError, match="start-frame-record-call"):  # a user may not, by default
                await blue.start_frame_recording()
            egress_id = (await api.start_frame_recording()).data["egress_id"]
            with pytest.raises(WeirAPIError, match="already running"):
                await api.start_frame_recording()
            await eventually(lambda: bool(ready), MEDIA_WAIT + 20, "the first frame")
            await asyncio.sleep(RECORD_S)
            call_state = (await api.get()).data["call"]
            await api.stop_frame_recording()
            await eventually(lambda: len(lifecycle) == 2, MEDIA_WAIT, "call.frame_recording_stopped")
            # the worker's last images may be announced just after call.frame_recording_stopped: wait until the
            # listing and the announcements agree and no announcement came for a capture interval (the assertion
            # below says which side lacks what)
            announced = -1
            for _ in range(20):
                captures = (await api.list_frame_captures()).data["frame_captures"]
                if {c["url"].split("?")[0] for c in captures} == {event.url.split("?")[0] for event in ready} \
                        and len(ready) == announced:
                    break
                announced = len(ready)
                await asyncio.sleep(INTERVAL_S)
            recordings = (await api.list_recordings()).data["recordings"]
        assert [type(event) for event in lifecycle] == [CallFrameRecordingStartedEvent, CallFrameRecordingStoppedEvent]
        assert all(event.egress_id == egress_id for event in lifecycle)
        assert call_state["egress"]["frame_recording"] == {"status": "running"}
        assert call_state["recording"] is False, "frame recording is not a recording of the call"
        assert lifecycle[1].call.egress.frame_recording is not None
        assert lifecycle[1].call.egress.frame_recording.status == "stopped"
        async with httpx.AsyncClient() as web:
            for name, colour in COLOURS.items():
                user_id = f"{name}-{call_id}"
                frames = [event for event in ready if list(event.users) == [user_id]]
                assert 4 <= len(frames) <= 6, (name, [event.captured_at for event in frames])
                for event in frames:
                    assert event.egress_id == egress_id and event.track_type == "TRACK_TYPE_VIDEO"
                    assert event.users[user_id]["name"] == name
                    response = await web.get(event.url)
                    assert response.status_code == 200 and response.content[:3] == b"\xff\xd8\xff"
                    width, height, centre = centre_of_jpeg(response.content)
                    assert (width, height) == (640, 360), "360p from a 320x180 camera"
                    assert near(centre, colour), (name, centre)
        assert len(ready) == len({event.url for event in ready}), "one image per event"
        # each announced image is listed (Weir's frame_captures), and none of them as a recording
        assert {(c["url"].split("?")[0], c["egress_id"]) for c in captures} == {
            (event.url.split("?")[0], egress_id) for event in ready}
        assert recordings == []
    finally:
        for client in clients:
            await client.disconnect()


async def test_auto_on_frame_recording_starts_with_the_first_participant_and_stops_with_the_last(
        server: RunningServer, uid: Callable[[str], str]) -> None:
    call_id, clients = uid("frames-auto"), list[StreamVideo]()
    ready: list[CallFrameRecordingFrameReadyEvent] = []
    try:
        async with AsyncClient(server.api_key, server.api_secret, server.base_url) as weir:
            api = weir.video.call("default", call_id)
            await api.get_or_create({"created_by_id": "frames-owner", "settings_override": {"frame_recording": {
                "mode": "auto-on", "capture_interval_in_seconds": INTERVAL_S, "quality": "360p"}}})
            blue = await join(server, call_id, "blue", clients)
            blue.events.on(CallFrameRecordingFrameReadyEvent, ready.append)
            await eventually(lambda: bool(ready), MEDIA_WAIT + 20, "a frame of the auto-on frame recording")
            await blue.leave()
            deadline = time.monotonic() + MEDIA_WAIT
            while (await api.get()).data["call"]["egress"]["frame_recording"] != {"status": "stopped"}:
                assert time.monotonic() < deadline, "the session's end did not stop frame recording"
                await asyncio.sleep(0.2)
        assert list(ready[0].users) == [f"blue-{call_id}"]
    finally:
        for client in clients:
            await client.disconnect()


async def test_a_frame_report_must_name_a_jpeg_of_the_job(server: RunningServer, uid: Callable[[str], str]) -> None:
    """The workers' frame route takes only a plain ``.jpg`` name of a frame job that exists."""
    auth = {"Authorization": f"Bearer {create_worker_token(server.api_secret)}"}
    frame = {"worker_id": "w", "user_id": "u", "track_type": "TRACK_TYPE_VIDEO", "captured_at": "2026-01-01T00:00:00Z"}
    async with httpx.AsyncClient(base_url=f"{server.base_url}/internal/egress", headers=auth) as channel:
        for name in ("../../weir.db", "frame.png", ""):
            assert_error(await channel.post(f"/{uid('job')}/frame", json={**frame, "filename": name}), 400)
        assert_error(await channel.post(f"/{uid('job')}/frame", json={**frame, "filename": "frame.jpg"}), 404)
        unsigned = await channel.post(f"/{uid('job')}/frame", json={**frame, "filename": "frame.jpg"},
                                      headers={"Authorization": "Bearer nonsense"})
        assert unsigned.status_code in (401, 403)
