"""Composite recording through the API: the server SDK starts and stops it, the egress worker renders the layout
page as a hidden participant, and ``call.recording_ready`` brings a URL to an MP4 of the call: its three
participants' tiles where the grid places them, with their labels, their tones in the mix, and as long as the
capture ran. A worker killed mid-recording fails it, keeps what was captured and leaves no program behind."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.client.media_helpers import MEDIA_WAIT
from tests.conftest import RunningServer
from tests.egress.media import Picture, decode
from tests.egress.test_composite import GRID_OF_THREE, PEOPLE, ColourCall, Placement, seen, shows, until_shown
from tests.egress.test_processes import process_table, running
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import running_sfu
from weir.client import Call
from weir.protocol.events import CallRecordingFailedEvent, CallRecordingReadyEvent, RecordingEvent
from weir.server import AsyncClient
from weir.server.video import Call as ServerCall

pytestmark = pytest.mark.usefixtures("loopback_ice")
E = TypeVar("E", bound=RecordingEvent)
RECORD_S = 3.0  # after all three show: the tones are measured over this and what follows until the stop


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # a short lease: a stop reaches the worker within 0.75 s, a dead worker's job fails after 3 s
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-composite-api"), egress_workers=1,
                     egress_lease_seconds=3) as started:
        yield started


async def next_event(call: Call, kind: type[E]) -> E:
    found: asyncio.Future[E] = asyncio.get_running_loop().create_future()
    listener = call.events.on(kind, lambda event: None if found.done() else found.set_result(event))
    try:
        return await asyncio.wait_for(found, MEDIA_WAIT + 20)
    finally:
        listener.cancel()


@asynccontextmanager
async def call_at_360p(server: RunningServer, call_id: str) -> AsyncIterator[tuple[ColourCall, ServerCall[Any]]]:
    """A call whose composite recordings render a 360p grid (cheaper than the default 720p): its participants
    (``ColourCall.add``) and the server SDK's handle on it. Everyone leaves at the end."""
    call = ColourCall(server, call_id)
    try:
        async with AsyncClient(server.api_key, server.api_secret, server.base_url) as weir:
            recorded = weir.video.call("default", call_id)
            await recorded.get_or_create(data={"created_by_id": "owner", "settings_override": {"recording": {
                "quality": "360p", "layout": {"name": "grid"}}}})
            yield call, recorded
    finally:
        for client in call.clients:
            await client.disconnect()


async def capture_of(server: RunningServer, egress_id: str) -> Path:
    """The worker's capture file for ``egress_id``, once it exists."""
    output = server.data_dir / "egress" / egress_id
    await eventually(lambda: any(output.glob("*.mp4")), MEDIA_WAIT, "the capture starting")
    (capture,) = output.glob("*.mp4")
    return capture


def label_extent(picture: Picture, centre: tuple[float, float], right: bool = False) -> int:
    """How wide the dark text is in a grid tile's bottom corner (left, where labels go, or ``right``), in pixels.
    A grid tile of 640×360 shows 278×152 of video around ``centre``; the label sits 8 px in from its corner."""
    cx, cy = round(centre[0] * picture.width), round(centre[1] * picture.height)
    left, bottom = (cx + 139 - 110, cy + 76) if right else (cx - 139 + 10, cy + 76)
    columns = [x for x in range(left, left + 100) for y in range(bottom - 32, bottom - 14)
               if max(picture.at(x / picture.width, y / picture.height)) < 80]
    return max(columns) - min(columns) + 1 if columns else 0


async def test_composite_grid_through_the_api_has_three_tiles_labels_tones_and_the_capture_s_duration(
        server: RunningServer, uid: Callable[[str], str], tmp_path: Path) -> None:
    async with call_at_360p(server, uid("composite-api")) as (call, recorded):
        blue, green, _ = [await call.add(name) for name in PEOPLE]
        started = await recorded.start_recording("composite")
        capture = await capture_of(server, started.data["egress_id"])
        capture_began = time.time()
        # Chromium loads the page and joins (slow on a loaded machine)
        three_at = await until_shown(capture, GRID_OF_THREE, "the grid of three")
        await asyncio.sleep(RECORD_S)
        assert blue.state.value.is_recording
        # the layout page joined with the worker's egress token: nobody sees it
        assert sorted(p.user_id for p in blue.state.value.other_participants) == [
            f"green-{call.id}", f"red-{call.id}"]
        assert len(green.state.value.other_participants) == 2
        waiting = asyncio.create_task(next_event(blue, CallRecordingReadyEvent))
        await recorded.stop_recording()
        event = await waiting
    assert event.recording_type == "composite"
    async with httpx.AsyncClient() as web:
        response = await web.get(event.call_recording["url"])
    assert response.status_code == 200
    (tmp_path / "grid.mp4").write_bytes(response.content)
    decoded = decode(tmp_path / "grid.mp4", frames_from=three_at, audio_from=three_at)
    # the file lasts as long as its capture ran: from the file's start until its last write (its end_time)
    wall = datetime.fromisoformat(event.call_recording["end_time"]).timestamp() - capture_began
    assert abs(decoded.duration - wall) <= 0.1 * wall, (decoded.duration, wall)
    last = decoded.pictures[-1]
    assert (last.width, last.height) == (640, 360)  # the call's quality
    assert shows(last, GRID_OF_THREE), seen(last, GRID_OF_THREE)
    # each tile's label, its name in dark text, sits at its bottom left and nowhere else in the tile
    widths = {name: label_extent(last, (x, y)) for name, x, y in GRID_OF_THREE}
    assert all(label_extent(last, (x, y), right=True) == 0 for _, x, y in GRID_OF_THREE), widths
    # ... and is each one's name: "Green" is the longest, whatever the font
    assert min(widths.values()) > 10 and widths["Green"] > max(widths["Blue"], widths["Red"]) + 4, widths
    # every tone is in the mix, well above frequencies nobody sent
    silence = max(decoded.tone_energy(f) for f in (650, 1000, 1500))
    for name, (_, frequency) in PEOPLE.items():
        energy = decoded.tone_energy(frequency)
        assert energy > 0.01 and energy > 20 * silence, (name, frequency, energy, silence)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    return [child for child, (parent, _) in process_table().items() if parent == pid]


BLUE_ALONE: Placement = (("Blue", 0.5, 0.5),)


async def test_a_killed_worker_fails_the_composite_keeps_a_playable_part_and_leaves_no_program(
        server: RunningServer, uid: Callable[[str], str], tmp_path: Path) -> None:
    async with call_at_360p(server, uid("composite-killed")) as (call, recorded):
        blue = await call.add("Blue")
        capture = await capture_of(server, (await recorded.start_recording("composite")).data["egress_id"])
        await until_shown(capture, BLUE_ALONE, "Blue in the capture")
        (worker,) = server.app.state.egress.processes
        programs = children(worker.pid)  # Xvfb, PulseAudio, ffmpeg, Chromium
        assert len(programs) >= 4, programs
        failing = asyncio.create_task(next_event(blue, CallRecordingFailedEvent))
        os.kill(worker.pid, signal.SIGKILL)
        await eventually(lambda: not any(map(running, programs)), MEDIA_WAIT, "the worker's programs ending")
        assert (await failing).recording_type == "composite"
        files = (await recorded.list_recordings()).data["recordings"]
        assert blue.state.value.status.is_active  # the call goes on
    (file,) = files
    async with httpx.AsyncClient() as web:
        (tmp_path / "part.mp4").write_bytes((await web.get(file["url"])).content)
    decoded = decode(tmp_path / "part.mp4", frames_from=0, audio_from=0)
    assert decoded.duration > 1 and shows(decoded.pictures[-1], BLUE_ALONE), decoded.duration
