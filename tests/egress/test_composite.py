"""Composite recording end to end: three aiortc participants publish a colour and a tone each; Weir's layout
page, in Chromium under Xvfb with PulseAudio, is captured by ffmpeg; the MP4 is decoded and checked."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import av
import pytest

from tests.conftest import RunningServer
from tests.egress.media import RGB, ColourTrack, Picture, PureTone, decode
from weir.client import Call, CallConnectOptions, StreamVideo, StreamVideoOptions, TrackOption, User
from weir.egress.composite import CompositeSpec, record_composite

WIDTH, HEIGHT = 640, 360
# Names sort Blue, Green, Red: the grid's order (pinned, sharing, video, audio, then by name).
PEOPLE: dict[str, tuple[RGB, int]] = {"Blue": ((0, 0, 255), 500), "Green": ((0, 200, 0), 800),
                                      "Red": ((255, 0, 0), 1200)}
SETTLE_S = 10.0  # the page joins and video flows well before the end, whose last frame is checked


@dataclass
class ColourCall:
    """A default call whose participants each send their colour and tone (PEOPLE)."""

    server: RunningServer
    id: str
    clients: list[StreamVideo] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    @property
    def owner(self) -> Call:
        return self.calls[0]

    async def add(self, name: str) -> Call:
        user_id = f"{name.lower()}-{self.id}"
        client = StreamVideo.create(self.server.api_key, user=User.regular(user_id, name=name),
                                    user_token=self.server.token(user_id),
                                    options=StreamVideoOptions(coordinator_rpc_url=self.server.base_url))
        self.clients.append(client)
        await client.connect()
        rgb, frequency = PEOPLE[name]
        media = CallConnectOptions(camera=TrackOption.enabled(ColourTrack(rgb)),
                                   microphone=TrackOption.enabled(PureTone(frequency)))
        call = client.make_call(id=self.id)
        await call.join(create=True, connect_options=media)
        self.calls.append(call)
        return call


CallOf = Callable[..., Awaitable[ColourCall]]


@pytest.fixture
async def call_of(server: RunningServer, uid: Callable[[str], str]) -> AsyncIterator[CallOf]:
    """``await call_of("Blue", "Green")``: a new call with those participants in it."""
    made: list[ColourCall] = []

    async def make(*names: str) -> ColourCall:
        call = ColourCall(server, uid("composite"))
        made.append(call)
        for name in names:
            await call.add(name)
        return call

    yield make
    for call in made:
        for client in call.clients:
            await client.disconnect()


def spec(server: RunningServer, call_id: str, layout: dict[str, object]) -> CompositeSpec:
    return CompositeSpec(base_url=server.base_url, call_type="default", call_id=call_id,
                         token=server.token("recorder"), width=WIDTH, height=HEIGHT, audio_only=False, layout=layout,
                         api_key=server.api_key)


@dataclass
class Clock:
    """Seconds since the capture started (the file's time); ``wall`` is where the stop came."""

    started: float = 0.0
    wall: float = 0.0

    def __call__(self) -> float:
        return time.time() - self.started


async def capture_started(task: asyncio.Task[None], caplog: pytest.LogCaptureFixture) -> float:
    """When (epoch seconds) the recording ``task`` logged that its capture runs."""
    while not (started := [r.created for r in caplog.records if "capture" in r.getMessage()]):
        assert not task.done(), task.exception()
        await asyncio.sleep(0.05)
    return started[0]


@asynccontextmanager
async def recording(what: CompositeSpec, output: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Clock]:
    """Records while the block runs; yields its clock."""
    stop = asyncio.Event()
    clock = Clock()
    with caplog.at_level(logging.INFO, logger="weir.egress.composite"):
        task = asyncio.create_task(record_composite(what, output, stop))
        try:
            clock.started = await capture_started(task, caplog)
            yield clock
        finally:
            clock.wall = clock()
            stop.set()
            await asyncio.wait_for(task, 30)


def near(actual: RGB, expected: RGB, tolerance: int = 60) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def shows(picture: Picture, tiles: dict[str, tuple[float, float]]) -> bool:
    """Whether each named participant's colour is at its place (fractions of the frame) in ``picture``."""
    return all(near(picture.at(x, y), PEOPLE[name][0]) for name, (x, y) in tiles.items())


# 3 tiles in 90 % of 640×360: two columns of 288×162, the last row centred
GRID_OF_THREE = {"Blue": (176 / 640, 99 / 360), "Green": (464 / 640, 99 / 360), "Red": (320 / 640, 261 / 360)}
GRID_OF_TWO = {"Blue": (176 / 640, 180 / 360), "Green": (464 / 640, 180 / 360)}
# spotlight: the bar takes 20 % at the bottom (72 px), 10 px margin, the main area the 278 px above
SPOTLIGHT_RED = {"Red": (320 / 640, 139 / 360), "Blue": (160 / 640, 324 / 360), "Green": (480 / 640, 324 / 360)}


async def test_grid_recording_has_three_tiles_labels_and_tones(
        server: RunningServer, call_of: CallOf, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    call = await call_of("Blue", "Green", "Red")
    output = tmp_path / "grid.mp4"
    async with recording(spec(server, call.id, {"name": "grid"}), output, caplog) as clock:
        await asyncio.sleep(SETTLE_S)
    wall = clock.wall
    decoded = decode(output, frames_from=SETTLE_S - 1, audio_from=SETTLE_S - 4)
    assert abs(decoded.duration - wall) <= 0.1 * wall, (decoded.duration, wall)
    last = decoded.pictures[-1]
    assert shows(last, GRID_OF_THREE), {name: last.at(x, y) for name, (x, y) in GRID_OF_THREE.items()}
    # each tile's label sits at its bottom left, over the video: some pixels there are not the tile's colour
    for name, (x, y) in GRID_OF_THREE.items():
        label_row = [last.at(x - 0.2 + dx / 640, y + 0.17) for dx in range(0, 60)]
        assert any(not near(pixel, PEOPLE[name][0]) for pixel in label_row), name
    # every tone is in the mix, well above frequencies nobody sent
    silence = max(decoded.tone_energy(f) for f in (650, 1000, 1500))
    for name, (_, frequency) in PEOPLE.items():
        energy = decoded.tone_energy(frequency)
        assert energy > 0.01 and energy > 20 * silence, (name, frequency, energy, silence)


async def test_custom_action_switches_to_spotlight_on_the_pinned_participant(
        server: RunningServer, call_of: CallOf, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A grid while two are in the call; a third makes participant_count 3, and the layout_override switches to
    spotlight, where the pinned participant fills the main area."""
    override = {"action_type": "layout_override", "condition": {"participant_count": {"$gte": 3}},
                "layout": "spotlight"}
    call = await call_of("Blue", "Green")
    output = tmp_path / "override.mp4"
    layout: dict[str, object] = {"name": "grid", "options": {"custom_actions": [override]}}
    async with recording(spec(server, call.id, layout), output, caplog) as clock:
        await asyncio.sleep(SETTLE_S)
        red = await call.add("Red")
        third_at = clock()
        await call.owner.pin(red.state.value.user_session_id, user_id=f"red-{call.id}", for_everyone=True)
        await asyncio.sleep(SETTLE_S)
    decoded = decode(output, frames_from=0, audio_from=0)
    before = [p for p in decoded.pictures if p.time < third_at]
    assert any(shows(p, GRID_OF_TWO) for p in before), "no frame of the two-tile grid before the third joined"
    last = decoded.pictures[-1]
    assert shows(last, SPOTLIGHT_RED), {name: last.at(x, y) for name, (x, y) in SPOTLIGHT_RED.items()}


def recorder_processes() -> list[str]:
    """Command lines of live processes that belong to a composite recording (its work folder is in them), and
    of this process's children that are recorder programs."""
    found = []
    me = str(os.getpid())
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        parent = stat[stat.rindex(")") + 2:].split()[1]
        program = Path(cmdline.split(" ", 1)[0]).name
        if "weir-composite-" in cmdline or (parent == me and program in {"Xvfb", "pulseaudio", "ffmpeg", "chromium"}):
            found.append(cmdline)
    return found


async def test_audio_only_recording_cancelled_leaves_a_playable_file_and_no_process(
        server: RunningServer, call_of: CallOf, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    call = await call_of("Green")
    output = tmp_path / "audio.m4a"
    what = replace(spec(server, call.id, {"name": "grid"}), audio_only=True)
    with caplog.at_level(logging.INFO, logger="weir.egress.composite"):
        task = asyncio.create_task(record_composite(what, output, asyncio.Event()))  # never stopped: cancelled
        await capture_started(task, caplog)
    assert recorder_processes()
    await asyncio.sleep(6)
    task.cancel()  # as when the worker drops the job
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert recorder_processes() == []
    with av.open(str(output)) as container:
        assert not container.streams.video
        audio = container.streams.audio[0]
        seconds = sum(frame.samples for frame in container.decode(audio)) / audio.rate
    assert seconds > 3, seconds
