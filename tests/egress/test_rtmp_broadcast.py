"""RTMP out end to end: two aiortc participants in a call, the server SDK starts RTMP broadcasts, the egress worker
composes the call and pushes it to a private nginx-rtmp; ffprobe and PyAV pull the stream back from nginx. A
destination that refuses, and one that dies mid-stream, each give ``call.rtmp_broadcast_failed`` with the reason,
and the call goes on. One call serves every step (the layout page in Chromium is the slow part)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import av
import pytest

from tests.client.media_helpers import MEDIA_WAIT, Room
from tests.conftest import RunningServer, free_port
from tests.egress.media import Picture
from tests.egress.nginx_rtmp import NginxRtmp, running_nginx
from tests.egress.test_composite import PEOPLE, ColourCall, near
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import running_sfu
from weir.client import Call
from weir.egress.composite.processes import tool
from weir.protocol.events import (
    CallRtmpBroadcastFailedEvent,
    CallRtmpBroadcastStartedEvent,
    CallRtmpBroadcastStoppedEvent,
)
from weir.server import AsyncClient

pytestmark = pytest.mark.usefixtures("loopback_ice")
KEY = "weir-test-key"
Event = CallRtmpBroadcastStartedEvent | CallRtmpBroadcastStoppedEvent | CallRtmpBroadcastFailedEvent
E = TypeVar("E", CallRtmpBroadcastStoppedEvent, CallRtmpBroadcastFailedEvent)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-rtmp-out"), egress_workers=1) as running:
        yield running


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[NginxRtmp]:
    with running_nginx(tmp_path / "nginx") as running:
        yield running


class Seen:
    """The RTMP broadcast events one participant receives, by type and name."""

    def __init__(self, call: Call) -> None:
        self.events: list[Event] = []
        self.listeners = [call.events.on(model, self.events.append) for model in (
            CallRtmpBroadcastStartedEvent, CallRtmpBroadcastStoppedEvent, CallRtmpBroadcastFailedEvent)]

    async def _seen(self, model: type[E], name: str) -> E:
        def found() -> list[E]:
            return [e for e in self.events if isinstance(e, model) and e.name == name]

        await eventually(lambda: bool(found()), MEDIA_WAIT, f"{model.__name__} for {name}")
        return found()[0]

    async def failed(self, name: str) -> CallRtmpBroadcastFailedEvent:
        return await self._seen(CallRtmpBroadcastFailedEvent, name)

    async def stopped(self, name: str) -> CallRtmpBroadcastStoppedEvent:
        return await self._seen(CallRtmpBroadcastStoppedEvent, name)

    def described(self) -> list[str]:
        return [f"{type(e).__name__}({e.name}{': ' + e.error if isinstance(e, CallRtmpBroadcastFailedEvent) else ''})"
                for e in self.events]

    def started(self) -> set[str]:
        return {e.name for e in self.events if isinstance(e, CallRtmpBroadcastStartedEvent)}


async def probe(url: str) -> dict[str, str]:
    """ffprobe on the played stream: codec name by stream type. nginx holds the player until the publisher comes."""
    process = await asyncio.create_subprocess_exec(
        os.path.join(os.path.dirname(tool("ffmpeg")), "ffprobe"), "-v", "error", "-rw_timeout", "30000000",
        "-show_entries", "stream=codec_type,codec_name", "-of", "json", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), MEDIA_WAIT + 20)
    assert process.returncode == 0, err.decode()
    return {stream["codec_type"]: stream["codec_name"] for stream in json.loads(out)["streams"]}


def anywhere(picture: Picture, name: str) -> bool:
    """Whether ``name``'s colour is somewhere on a 9×9 grid of ``picture``."""
    return any(near(picture.at(x / 10, y / 10), PEOPLE[name][0]) for x in range(1, 10) for y in range(1, 10))


def portrait_on_air(url: str, within_s: float) -> bool:
    """Whether ``url`` plays a portrait picture within ``within_s`` (reconnecting while the landscape one ends)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with contextlib.suppress(av.error.FFmpegError), av.open(url, options={"rw_timeout": "5000000"}) as container:
            frame = next(container.decode(container.streams.video[0]))
            if frame.height > frame.width:
                return True
        time.sleep(0.2)
    return False


def both_on_screen(url: str, within_s: float) -> bool:
    """Play ``url`` until a frame shows both participants' colours (the composed call, not a blank page)."""
    deadline = time.monotonic() + within_s
    with av.open(url, options={"rw_timeout": "20000000"}) as container:
        for frame in container.decode(container.streams.video[0]):
            if all(anywhere(Picture.of(frame), name) for name in ("Blue", "Green")):
                return True
            if time.monotonic() > deadline:
                return False
    return False


async def test_rtmp_broadcast_reaches_nginx_and_a_failing_destination_leaves_the_call_alone(
        server: RunningServer, nginx: NginxRtmp, uid: Callable[[str], str]) -> None:
    call = ColourCall(server, uid("rtmp-out"))
    try:
        blue, green = await call.add("Blue"), await call.add("Green")
        seen = Seen(blue)
        refused = f"rtmp://127.0.0.1:{free_port()}/live"  # nothing listens there
        async with AsyncClient(server.api_key, server.api_secret, server.base_url) as weir:
            api = weir.video.call("default", call.id)
            await api.start_rtmp_broadcasts([
                {"name": "nginx", "stream_url": nginx.application, "stream_key": KEY, "quality": "360p"},
                {"name": "refused", "stream_url": refused, "stream_key": KEY}])

            failure = await seen.failed("refused")
            assert "Connection refused" in failure.error, failure.error
            assert KEY not in failure.error, "the stream key is a credential: never in an event"

            played = f"{nginx.application}/{KEY}"
            assert await probe(played) == {"video": "h264", "audio": "aac"}
            assert await asyncio.to_thread(both_on_screen, played, MEDIA_WAIT), "the broadcast never showed both"
            running = (await api.get()).data["call"]["egress"]["rtmps"]
            assert [(r["name"], r["stream_url"], r.get("stream_key")) for r in running] == \
                [("nginx", nginx.application, None)]

            # stopped by name: the worker ends the stream cleanly (no failure), and a new one may take the name
            await api.stop_rtmp_broadcast("nginx")
            await seen.stopped("nginx")
            await api.start_rtmp_broadcasts([{"name": "nginx", "stream_url": nginx.application, "stream_key": KEY,
                                              "quality": "portrait-360x640"}])
            # the new (portrait) stream is the one on the server: the stopped one's ffmpeg may linger a moment
            # a second composite start under the suite's load: twice the wait; the events say what happened
            assert await asyncio.to_thread(portrait_on_air, played, 2 * MEDIA_WAIT), \
                f"the portrait stream never came; events: {seen.described()}"
            nginx.kill()
            dropped = await seen.failed("nginx")
            assert "Broken pipe" in dropped.error or "reset" in dropped.error, dropped.error
            assert [e.name for e in seen.events if isinstance(e, CallRtmpBroadcastFailedEvent)] == \
                ["refused", "nginx"], "the clean stop was no failure"
            assert seen.started() == {"nginx", "refused"}
            assert (await api.get()).data["call"]["egress"]["rtmps"] == []
        # the call goes on: both still there, media still flowing both ways
        await Room(blue, green).flowing("audio", "video")
        assert [p.user_id for p in blue.state.value.other_participants] == [f"green-{call.id}"]
    finally:
        for client in call.clients:
            await client.disconnect()
