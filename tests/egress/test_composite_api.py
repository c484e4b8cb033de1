"""Composite recording through the API: the server SDK starts it, the egress worker renders the layout page as a
hidden participant, and ``call.recording_ready`` brings a URL to an MP4 showing both participants."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import httpx
import pytest

from tests.client.media_helpers import MEDIA_WAIT
from tests.conftest import RunningServer
from tests.egress.media import Picture
from tests.egress.test_composite import PEOPLE, ColourCall, near
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import running_sfu
from weir.client import Call
from weir.protocol.events import CallRecordingReadyEvent
from weir.server import AsyncClient

pytestmark = pytest.mark.usefixtures("loopback_ice")
RECORD_S = 4.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-composite-api"), egress_workers=1) as running:
        yield running


def pictures(body: bytes) -> tuple[float, list[Picture]]:
    """The file's video duration and its frames (every 5th)."""
    with av.open(io.BytesIO(body), "r") as container:
        stream = container.streams.video[0]
        frames = [frame for frame in container.decode(stream) if frame.time is not None]
    return float(frames[-1].time or 0) - float(frames[0].time or 0), [Picture.of(f) for f in frames[::5]]


def shows(picture: Picture, name: str) -> bool:
    return any(near(picture.at(x / 10, y / 10), PEOPLE[name][0]) for x in range(1, 10) for y in range(1, 10))


def both_shown(capture: Path) -> bool:
    """Whether the capture's last keyframe so far shows both participants (a fragmented MP4 reads while written)."""
    try:
        with av.open(str(capture), "r") as container:
            stream = container.streams.video[0]
            stream.codec_context.skip_frame = "NONKEY"
            keyframes = list(container.decode(stream))
    except (av.FFmpegError, IndexError):  # no fragment yet
        return False
    return bool(keyframes) and all(shows(Picture.of(keyframes[-1]), name) for name in ("Blue", "Green"))


async def ready(call: Call) -> CallRecordingReadyEvent:
    found: asyncio.Future[CallRecordingReadyEvent] = asyncio.get_running_loop().create_future()
    listener = call.events.on(CallRecordingReadyEvent,
                              lambda event: None if found.done() else found.set_result(event))
    try:
        return await asyncio.wait_for(found, MEDIA_WAIT + 20)
    finally:
        listener.cancel()


async def test_composite_recording_through_the_api_shows_both_participants(
        server: RunningServer, uid: Callable[[str], str]) -> None:
    call = ColourCall(server, uid("composite-api"))
    try:
        blue, green = await call.add("Blue"), await call.add("Green")
        async with AsyncClient(server.api_key, server.api_secret, server.base_url) as weir:
            started = await weir.video.call("default", call.id).start_recording("composite")
            output = server.data_dir / "egress" / started.data["egress_id"]
            await eventually(lambda: any(output.glob("*.mp4")), MEDIA_WAIT, "the capture starting")
            (capture,) = output.glob("*.mp4")
            # Chromium loads the page and joins (slow on a loaded machine); then a few seconds more
            await eventually(lambda: both_shown(capture), MEDIA_WAIT, "the layout page showing both participants")
            await asyncio.sleep(RECORD_S)
            assert blue.state.value.is_recording
            # the layout page joined with the worker's egress token: nobody sees it
            assert [p.user_id for p in blue.state.value.other_participants] == [f"green-{call.id}"]
            assert [p.user_id for p in green.state.value.other_participants] == [f"blue-{call.id}"]
            waiting = asyncio.create_task(ready(blue))
            await weir.video.call("default", call.id).stop_recording()
            event = await waiting
        assert event.recording_type == "composite"
        async with httpx.AsyncClient() as web:
            response = await web.get(event.call_recording["url"])
        assert response.status_code == 200
        duration, frames = pictures(response.content)
        assert RECORD_S < duration < RECORD_S + MEDIA_WAIT + 15, duration
        assert all(shows(frames[-1], name) for name in ("Blue", "Green")), "the file ends without both participants"
    finally:
        for client in call.clients:
            await client.disconnect()
