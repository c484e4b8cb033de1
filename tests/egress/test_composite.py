"""Composite recording end to end: three aiortc participants publish a colour and a tone each; Weir's layout
page, in Chromium under Xvfb with PulseAudio, is captured by ffmpeg; the MP4 is decoded and checked."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import av
import pytest

from tests.client.media_helpers import MEDIA_WAIT
from tests.conftest import RunningServer
from tests.egress.media import RGB, ColourTrack, Picture, PureTone, decode, last_keyframe
from tests.egress.test_processes import process_table, running
from weir.client import Call, CallConnectOptions, StreamVideo, StreamVideoOptions, TrackOption, User
from weir.egress.composite import CompositeSpec, record_composite

WIDTH, HEIGHT = 640, 360
# Names sort Blue, Green, Red: the grid's order (pinned, sharing, video, audio, then by name).
PEOPLE: dict[str, tuple[RGB, int]] = {"Blue": ((0, 0, 255), 500), "Green": ((0, 200, 0), 800),
                                      "Red": ((255, 0, 0), 1200)}


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


Placement = tuple[tuple[str, float, float], ...]  # (whose colour, x, y): positions as fractions of the frame
YELLOW: RGB = (255, 255, 0)  # Green's screen share
COLOURS: dict[str, RGB] = {**{name: rgb for name, (rgb, _) in PEOPLE.items()}, "Green's screen": YELLOW}


def shows(picture: Picture, placement: Placement) -> bool:
    """Whether each colour of ``placement`` is at its place in ``picture``."""
    return all(near(picture.at(x, y), COLOURS[name]) for name, x, y in placement)


def seen(picture: Picture, placement: Placement) -> dict[str, RGB]:
    """What ``picture`` has where ``placement`` expects its colours (for a failure's message)."""
    return {f"{name}@{x:.2f},{y:.2f}": picture.at(x, y) for name, x, y in placement}


# 3 tiles in 90 % of 640×360: two columns of 288×162, the last row centred
GRID_OF_THREE: Placement = (("Blue", 176 / 640, 99 / 360), ("Green", 464 / 640, 99 / 360),
                            ("Red", 320 / 640, 261 / 360))
# 4 tiles, 2×2: the screen share first, then by the grid's order (pinned Red, sharing Green, Blue)
GRID_WITH_SCREEN: Placement = (("Green's screen", 176 / 640, 99 / 360), ("Red", 464 / 640, 99 / 360),
                               ("Green", 176 / 640, 261 / 360), ("Blue", 464 / 640, 261 / 360))
# spotlight: the bar takes 20 % at the bottom (72 px), 10 px margin, the main area the 278 px above; Red fills
# it, corner to corner (the others' order in the bar follows who speaks)
SPOTLIGHT_RED: Placement = tuple(("Red", x, y) for x in (0.05, 0.5, 0.95) for y in (0.08, 139 / 360, 0.6))
# single-participant: Blue fills the frame (the label's corner aside), well past where any grid tile ends
ALONE_BLUE: Placement = tuple(("Blue", x, y) for x, y in ((0.05, 0.06), (0.95, 0.06), (0.5, 0.5), (0.95, 0.94)))


async def until_shown(capture: Path, placement: Placement, what: str) -> float:
    """Wait until the capture's last keyframe shows ``placement``; that keyframe's time in the file."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MEDIA_WAIT
    while True:
        picture = await asyncio.to_thread(last_keyframe, capture)
        if picture is not None and shows(picture, placement):
            return picture.time
        assert loop.time() < deadline, (f"timed out waiting for {what}", picture and seen(picture, placement))
        await asyncio.sleep(0.3)


# The layout follows the call through custom actions: alone, single-participant; unpinned, grid; else the named
# layout, spotlight; a screen share switches to screenshare_layout, grid.
SESSION_LAYOUT: dict[str, object] = {"name": "spotlight", "options": {"screenshare_layout": "grid", "custom_actions": [
    {"action_type": "layout_override", "condition": {"participant_count": 1}, "layout": "single-participant"},
    {"action_type": "layout_override", "condition": {"pinned_participant_count": 0}, "layout": "grid"}]}}


async def test_the_layout_follows_the_call_through_custom_actions_pins_and_a_screen_share(
        server: RunningServer, call_of: CallOf, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """One recording, each phase checked in the file: Blue alone (participant_count 1: single-participant, Blue
    fills the frame); Green and Red join (participant_count 3, nobody pinned: the grid of three); Red is pinned
    (spotlight, Red fills the main area); Green shares a screen (screenshare_layout grid, the share first)."""
    call = await call_of("Blue")
    output = tmp_path / "session.mp4"
    phases = [("single-participant, Blue alone", ALONE_BLUE), ("the grid of three", GRID_OF_THREE),
              ("spotlight on pinned Red", SPOTLIGHT_RED), ("the grid with Green's screen first", GRID_WITH_SCREEN)]
    async with recording(spec(server, call.id, SESSION_LAYOUT), output, caplog) as clock:
        await until_shown(output, ALONE_BLUE, phases[0][0])
        await call.add("Green")
        red = await call.add("Red")
        await until_shown(output, GRID_OF_THREE, phases[1][0])
        await call.owner.pin(red.state.value.user_session_id, user_id=f"red-{call.id}", for_everyone=True)
        await until_shown(output, SPOTLIGHT_RED, phases[2][0])
        await call.calls[1].set_screen_share_enabled(True, source=ColourTrack(YELLOW))
        await until_shown(output, GRID_WITH_SCREEN, phases[3][0])
    decoded = decode(output, frames_from=0, audio_from=0)
    assert abs(decoded.duration - clock.wall) <= 0.1 * clock.wall, (decoded.duration, clock.wall)
    after = 0.0  # the finished file shows each phase, in order
    for what, placement in phases:
        times = [p.time for p in decoded.pictures if p.time >= after and shows(p, placement)]
        assert times, f"no frame of {what} after {after:.1f} s"
        after = times[0]


RECORDER_PROGRAMS = {"Xvfb", "pulseaudio", "ffmpeg", "chromium"}


def program_name(cmdline: str) -> str:
    return Path(cmdline.split(" ", 1)[0]).name


def recorder_processes() -> dict[int, str]:
    """This process's recorder programs and the processes naming their work folder (Chromium's helpers), by
    pid: their command lines. Other recordings on the machine (other tests', workers') are not counted."""
    table = process_table()
    mine = {pid: cmdline for pid, (parent, cmdline) in table.items()
            if parent == os.getpid() and program_name(cmdline) in RECORDER_PROGRAMS}
    folders = set(re.findall(r"weir-composite-[^/ ]+", " ".join(mine.values())))
    return mine | {pid: cmdline for pid, (_, cmdline) in table.items() if any(f in cmdline for f in folders)}


async def test_audio_only_recording_cancelled_leaves_a_playable_file_and_no_process(
        server: RunningServer, call_of: CallOf, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    call = await call_of("Green")
    output = tmp_path / "audio.m4a"
    what = replace(spec(server, call.id, {"name": "grid"}), audio_only=True)
    with caplog.at_level(logging.INFO, logger="weir.egress.composite"):
        task = asyncio.create_task(record_composite(what, output, asyncio.Event()))  # never stopped: cancelled
        await capture_started(task, caplog)
    await asyncio.sleep(6)
    started = recorder_processes()
    assert set(map(program_name, started.values())) >= RECORDER_PROGRAMS, started
    task.cancel()  # as when the worker drops the job
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert [cmdline for pid, cmdline in started.items() if running(pid)] == []
    assert recorder_processes() == {}
    with av.open(str(output)) as container:
        assert not container.streams.video
        audio = container.streams.audio[0]
        seconds = sum(frame.samples for frame in container.decode(audio)) / audio.rate
    assert seconds > 3, seconds
