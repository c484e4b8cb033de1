"""HLS glass to glass: from a participant's camera frame to a player showing it, through the whole pipeline.

A ``weir serve`` subprocess with one egress worker. A participant (the Python SDK, aiortc) joins a call and
publishes a picture that shows the time it was made: ten bars, black or white, spell a 10-bit Gray code of the
capture time in 30ths of a second (34 s before it repeats). HLS broadcasting is started through the server SDK
(the default 720p ladder), so the worker captures the call's layout page in Chromium and ffmpeg encodes it. A
player here reloads the media playlist as hls.js does (a target duration after a change, half of one
otherwise), fetches each new segment and, after the run, decodes them (PyAV), reading the capture time out of
every frame.

It plays as hls.js does: playback starts when the first segment is fetched, ``hold_back`` target durations
behind the live edge (the end of the newest segment listed), and then runs in real time; a frame is shown when
the playhead reaches it, or when its segment arrives if that is later (a stall: the player waits, and is
later from then on). Glass to glass is that moment minus the capture time in the frame. hls.js holds 3
segments back (``liveSyncDurationCount``); a player that starts at the newest segment holds back 1. Both are
reported, over ``--seconds`` after WARMUP_S of broadcasting, with the time spent stalled.

    PYTHONPATH=. .venv/bin/python bench/hls_glass.py               # 30 s

Prints ``bench hls glass_to_glass_s=<p50> p95_s=<n> (hold_back=3 segments)`` and the same for hold_back=1.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field

import av
import httpx
from aiortc import VideoStreamTrack
from av import VideoFrame
from events import free_port
from join import API_KEY, API_SECRET, connected, weir_serve

from weir.client import CallConnectOptions, TrackOption
from weir.server import AsyncClient

WIDTH, HEIGHT, RATE = 640, 360, 30
BITS, BAR, MARGIN = 10, 48, 80  # bars from x=80 to x=560; grey around them, so the picture's edges can be found
GREY, BLACK, WHITE = 128, 16, 235
WARMUP_S = 8.0
PLAYLIST_WAIT_S = 90.0


def gray_code(n: int) -> int:
    return n ^ (n >> 1)


def from_gray(g: int) -> int:
    n = 0
    while g:
        n ^= g
        g >>= 1
    return n


class ClockTrack(VideoStreamTrack):
    """30 fps pictures with their capture time (monotonic, in 30ths of a second since ``started``) in bars."""

    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        code = gray_code(round((time.monotonic() - self.started) * RATE) % (1 << BITS))
        row = bytearray([GREY]) * WIDTH
        for bit in range(BITS):
            row[MARGIN + bit * BAR:MARGIN + (bit + 1) * BAR] = bytes([WHITE if code >> bit & 1 else BLACK]) * BAR
        luma = bytes([GREY]) * WIDTH * (HEIGHT // 6) + bytes(row) * (HEIGHT * 2 // 3) \
            + bytes([GREY]) * WIDTH * (HEIGHT - HEIGHT // 6 - HEIGHT * 2 // 3)
        frame = VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        frame.planes[0].update(luma)
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


def capture_code(frame: VideoFrame) -> int | None:
    """The Gray-decoded code in a played frame, or None when the picture's grey edges are not found."""
    grey = frame.reformat(format="gray")
    plane = grey.planes[0]
    luma, stride, y = bytes(plane), plane.line_size, grey.height // 2
    row = luma[y * stride:y * stride + grey.width]
    inside = [x for x, value in enumerate(row) if abs(value - GREY) < 24]  # the picture's grey margins
    if not inside:
        return None
    left, right = inside[0], inside[-1] + 1
    scale = (right - left) / WIDTH
    if scale < 0.3:
        return None
    code = 0
    for bit in range(BITS):
        x = left + round((MARGIN + bit * BAR + BAR / 2) * scale)
        samples = [luma[(y + dy) * stride + x + dx] for dy in range(-4, 5, 2) for dx in range(-4, 5, 2)]
        code |= (sum(samples) / len(samples) > GREY) << bit
    return from_gray(code)


@dataclass
class Player:
    """Segments as a player gets them: when each was first listed, when fetched, and its frames' capture times."""

    started: float
    listed: dict[str, float] = field(default_factory=dict)
    frames: list[tuple[str, float, float]] = field(default_factory=list)  # (segment, pts s, capture time)
    fetched: dict[str, float] = field(default_factory=dict)
    target_duration: float = 1.0
    undecoded: int = 0

    def capture_time(self, code: int, shown: float) -> float:
        """The latest capture time with this code before ``shown`` (the code repeats every 34 s)."""
        period = (1 << BITS) / RATE
        made = self.started + code / RATE
        return made + ((shown - made) // period) * period

    def decode(self, name: str, data: bytes) -> None:
        with av.open(io.BytesIO(data), mode="r", format="mpegts") as container:
            for frame in container.decode(video=0):
                code = capture_code(frame)
                if code is None or frame.time is None:
                    self.undecoded += 1
                    continue
                self.frames.append((name, frame.time, self.capture_time(code, self.fetched[name])))

    def glass_to_glass(self, hold_back: int, first: str, ends: dict[str, float]) -> tuple[list[float], float]:
        """Each frame's latency when playback starts at ``first``'s fetch, ``hold_back`` target durations behind
        the end of the newest segment listed then, and then runs in real time, waiting (a stall) whenever a
        frame's segment has not arrived by its moment; and the seconds spent stalled."""
        playhead_pts = ends[first] - hold_back * self.target_duration
        start, stalled = self.fetched[first], 0.0
        latencies = []
        for name, pts, captured in sorted(self.frames, key=lambda frame: frame[1]):
            if pts < playhead_pts:
                continue
            shown = start + stalled + (pts - playhead_pts)
            if self.fetched[name] > shown:
                stalled += self.fetched[name] - shown
                shown = self.fetched[name]
            latencies.append(shown - captured)
        return latencies, stalled


async def play(http: httpx.AsyncClient, media_url: str, player: Player, seconds: float) -> dict[str, bytes]:
    """Poll and fetch for ``seconds`` (decoding comes after, so it cannot delay the fetches); returns the
    segments."""
    base = media_url.rsplit("/", 1)[0]
    data: dict[str, bytes] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        playlist = (await http.get(media_url)).text
        now = time.monotonic()
        if match := re.search(r"#EXT-X-TARGETDURATION:(\d+)", playlist):
            player.target_duration = float(match[1])
        new = [line for line in playlist.splitlines() if line and not line.startswith("#")
               and line not in player.listed]
        for name in new:
            player.listed[name] = now
            data[name] = (await http.get(f"{base}/{name}")).content
            player.fetched[name] = time.monotonic()
        # hls.js reloads a live playlist after a target duration, or half of one when it had nothing new
        await asyncio.sleep(player.target_duration / (1 if new else 2))
    return data


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    return f"glass_to_glass_s={statistics.median(ordered):.2f} p95_s={ordered[int(0.95 * (len(ordered) - 1))]:.2f}"


async def run(base: str, seconds: float) -> None:
    started = time.monotonic()
    call_id = f"glass-{uuid.uuid4().hex[:8]}"
    client = await connected(base, "glass-host")
    try:
        call = client.make_call(id=call_id)
        await call.join(create=True, connect_options=CallConnectOptions(
            camera=TrackOption.enabled(ClockTrack(started))))
        async with AsyncClient(API_KEY, API_SECRET, base) as weir:
            master = (await weir.video.call("default", call_id).start_hls_broadcasting()).data["playlist_url"]
        media_url = master.rsplit("/", 1)[0] + "/720p/index.m3u8"
        async with httpx.AsyncClient(timeout=30) as http:
            deadline = time.monotonic() + PLAYLIST_WAIT_S
            while (await http.get(media_url)).status_code != 200:
                if time.monotonic() > deadline:
                    raise SystemExit("the egress worker wrote no playlist")
                await asyncio.sleep(0.2)
            await asyncio.sleep(WARMUP_S)
            player = Player(started)
            # the segments listed at the first poll were made before the player came: the first new one starts
            segments = await play(http, media_url, player, seconds)
    finally:
        await client.disconnect()
    ends = {}
    for name, data in segments.items():
        player.decode(name, data)
        ends[name] = max((pts for segment, pts, _ in player.frames if segment == name), default=0.0) + 1 / RATE
    first_listed = min(player.listed.values())
    new = sorted((name for name in segments if player.listed[name] > first_listed), key=player.listed.__getitem__)
    if not new or not player.frames:
        raise SystemExit(f"nothing decoded ({player.undecoded} frames without a readable clock)")
    # playback starts when the first segment listed after the player's first poll is fetched
    first = new[0]
    print(f"{len(player.frames)} frames, {player.undecoded} unreadable, {len(new)} new segments", flush=True)
    for hold_back in (3, 1):
        latencies, stalled = player.glass_to_glass(hold_back, first, ends)
        print(f"bench hls {summary(latencies)} stalled_s={stalled:.2f} (hold_back={hold_back} segments)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with weir_serve(free_port(), WEIR_EGRESS_WORKERS="1") as (base, _server):
        asyncio.run(run(base, args.seconds))


if __name__ == "__main__":
    main()
