"""Composite recording end to end: three aiortc participants publish a colour and a tone each; Weir's layout
page, in Chromium under Xvfb with PulseAudio, is captured by ffmpeg; the MP4 is decoded and checked."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tests.egress.media import RGB, ColourTrack, PureTone, Recording, decode
from weir.client import CallConnectOptions, StreamVideo, StreamVideoOptions, TrackOption, User
from weir.egress.composite import CompositeSpec, record_composite

WIDTH, HEIGHT = 640, 360
# Names sort Blue, Green, Red: the grid's order (pinned, sharing, video, audio, then by name).
PEOPLE: dict[str, tuple[RGB, int]] = {"Blue": ((0, 0, 255), 500), "Green": ((0, 200, 0), 800),
                                      "Red": ((255, 0, 0), 1200)}
SETTLE_S = 10.0  # the page joins and video flows well before the end, whose last frame is checked


@pytest.fixture
async def call_of_three(server: RunningServer, uid: object) -> AsyncIterator[str]:
    """A default call with Blue, Green and Red in it, each sending its colour and tone; yields the call id."""
    call_id = uid("composite")  # type: ignore[operator]
    clients = []
    try:
        for name, (rgb, frequency) in PEOPLE.items():
            user_id = uid(name.lower())  # type: ignore[operator]
            client = StreamVideo.create(server.api_key, user=User.regular(user_id, name=name),
                                        user_token=server.token(user_id),
                                        options=StreamVideoOptions(coordinator_rpc_url=server.base_url))
            clients.append(client)
            await client.connect()
            media = CallConnectOptions(camera=TrackOption.enabled(ColourTrack(rgb)),
                                       microphone=TrackOption.enabled(PureTone(frequency)))
            await client.make_call(id=call_id).join(create=True, connect_options=media)
        yield call_id
    finally:
        for client in clients:
            await client.disconnect()


def spec(server: RunningServer, call_id: str, layout: dict[str, object]) -> CompositeSpec:
    return CompositeSpec(base_url=server.base_url, call_type="default", call_id=call_id,
                         token=server.token("recorder"), width=WIDTH, height=HEIGHT, audio_only=False, layout=layout,
                         api_key=server.api_key)


async def record(what: CompositeSpec, output: Path, seconds: float, caplog: pytest.LogCaptureFixture) -> float:
    """Record for ``seconds`` after the capture started; the wall time from its start to the stop."""
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO, logger="weir.egress.composite"):
        task = asyncio.create_task(record_composite(what, output, stop))
        while not (started := [r.created for r in caplog.records if "capture" in r.getMessage()]):
            assert not task.done(), task.exception()
            await asyncio.sleep(0.05)
        await asyncio.sleep(seconds)
        stop.set()
        stopped = time.time()
        await asyncio.wait_for(task, 30)
    return stopped - started[0]


def near(actual: RGB, expected: RGB, tolerance: int = 60) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def colour_at(recording: Recording, x: float, y: float) -> RGB:
    return recording.pixel(round(x * recording.width), round(y * recording.height))


async def test_grid_recording_has_three_tiles_labels_and_tones(
        server: RunningServer, call_of_three: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    output = tmp_path / "grid.mp4"
    wall = await record(spec(server, call_of_three, {"name": "grid"}), output, SETTLE_S, caplog)
    recording = decode(output, frame_at=SETTLE_S + 5, audio_from=SETTLE_S - 4)
    assert abs(recording.duration - wall) <= 0.1 * wall, (recording.duration, wall)
    # 3 tiles in 90 % of 640×360: two columns of 288×162, the last row centred
    centres = {"Blue": (176 / 640, 99 / 360), "Green": (464 / 640, 99 / 360), "Red": (320 / 640, 261 / 360)}
    for name, (x, y) in centres.items():
        assert near(colour_at(recording, x, y), PEOPLE[name][0]), (name, colour_at(recording, x, y))
    # each tile's label sits at its bottom left, over the video: some pixels there are not the tile's colour
    for name, (x, y) in centres.items():
        label_row = [colour_at(recording, x - 0.2 + dx / 640, y + 0.17) for dx in range(0, 60)]
        assert any(not near(pixel, PEOPLE[name][0]) for pixel in label_row), name
    # every tone is in the mix, well above frequencies nobody sent
    silence = max(recording.tone_energy(f) for f in (650, 1000, 1500))
    for name, (_, frequency) in PEOPLE.items():
        energy = recording.tone_energy(frequency)
        assert energy > 0.01 and energy > 20 * silence, (name, frequency, energy, silence)
