"""HLS serving: how late a segment is, and how many viewers one Weir process serves per core.

A ``weir serve`` subprocess (no egress worker) serves what ffmpeg writes with Weir's ``HlsSink`` into the data
folder, as a worker would: a real-time test pattern and tone, the default ladder (720p). Then ``--viewers`` simulated
players (async HTTP, one shared pool) each fetch the 720p playlist every second and every new segment in it, for
``--seconds``.

    PYTHONPATH=. .venv/bin/python bench/hls.py                   # 300 viewers, 20 s
    PYTHONPATH=. .venv/bin/python bench/hls.py --viewers 600

Prints ``bench hls segment_latency_s=<n> viewers=<n> cpu_per_viewer_ms=<n>``:
- segment_latency_s: from a segment's first frame to the playlist that Weir serves listing it, the median over
  10 s (segment length + encoding + serving); an upper bound: segment n's first frame is taken as made n
  segment lengths after ffmpeg was started, which counts ffmpeg's start-up too. A player adds its hold-back;
- cpu_per_viewer_ms: the Weir process's CPU milliseconds per second of video served to one viewer (a segment
  and the playlist fetches that found it), above what the process spends idle (measured first, as long);
- viewers: viewers one core serves at that cost (1000 / cpu_per_viewer_ms).
Failed requests are counted and printed on stderr; the figures are only meaningful when there are none.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from events import free_port
from join import weir_serve

from weir.egress.composite.processes import tool
from weir.egress.composite.quality import ladder
from weir.egress.composite.sinks import HLS_SEGMENT_S, HlsSink

TICKS = os.sysconf("SC_CLK_TCK")
PLAYLIST_WAIT_S = 30.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def segments(playlist: str) -> list[str]:
    """The names of the segments a live playlist lists (00000.ts, 00001.ts, ...), oldest first."""
    return [line for line in playlist.splitlines() if line and not line.startswith("#")]


def encoder(folder: Path) -> subprocess.Popen[bytes]:
    inputs = [tool("ffmpeg"), "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
              "sine=frequency=440:r=48000", "-re", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"]
    return subprocess.Popen([*inputs, *HlsSink(folder, ladder(["720p"])).output_args(video=True)])


async def latencies(http: httpx.AsyncClient, playlist_url: str, encoder_started: float,
                    seconds: float) -> list[float]:
    """Seconds from each new segment's first frame to Weir listing it (the playlist polled every 20 ms)."""
    seen: set[str] = set()
    found = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = await http.get(playlist_url)
        if response.status_code == 200:
            for name in segments(response.text):
                if name not in seen:
                    seen.add(name)
                    first_frame = encoder_started + int(name.removesuffix(".ts")) * HLS_SEGMENT_S
                    found.append(time.monotonic() - first_frame)
        await asyncio.sleep(0.02)
    return found[1:]  # the first poll finds segments listed before it started


async def viewer(http: httpx.AsyncClient, playlist_url: str, until: float, counts: dict[str, int]) -> None:
    base = playlist_url.rsplit("/", 1)[0]
    fetched: set[str] = set()
    while time.monotonic() < until:
        tick = time.monotonic()
        try:
            playlist = await http.get(playlist_url)
            counts["requests"] += 1
            for name in segments(playlist.text)[-1:]:  # a player at the live edge wants the newest
                if name not in fetched:
                    fetched.add(name)
                    segment = await http.get(f"{base}/{name}")
                    counts["requests"] += 1
                    counts["segments"] += 1
                    counts["bytes"] += len(segment.content)
                    counts["failed"] += segment.status_code != 200
        except httpx.HTTPError:
            counts["failed"] += 1
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))


async def run(base: str, server_pid: int, folder: Path, encoder_started: float, viewers: int,
              seconds: float) -> str:
    playlist_url = f"{base}/hls/{folder.name}/720p/index.m3u8"
    limits = httpx.Limits(max_connections=viewers, max_keepalive_connections=viewers)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        deadline = time.monotonic() + PLAYLIST_WAIT_S
        while (await http.get(playlist_url)).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the encoder wrote no playlist")
            await asyncio.sleep(0.2)
        late = await latencies(http, playlist_url, encoder_started, 10)
        idle_before, idle_started = cpu_seconds(server_pid), time.monotonic()
        await asyncio.sleep(seconds)
        idle_rate = (cpu_seconds(server_pid) - idle_before) / (time.monotonic() - idle_started)
        counts = {"requests": 0, "segments": 0, "bytes": 0, "failed": 0}
        until = time.monotonic() + seconds
        cpu_before, wall_before = cpu_seconds(server_pid), time.monotonic()
        await asyncio.gather(*(viewer(http, playlist_url, until, counts) for _ in range(viewers)))
        wall = time.monotonic() - wall_before
        cpu = cpu_seconds(server_pid) - cpu_before - idle_rate * wall
    print(f"{counts['requests']} requests, {counts['bytes'] / wall * 8 / 1e6:.0f} Mbit/s, {counts['failed']} failed,"
          f" idle {idle_rate * 1000:.0f} ms/s", file=sys.stderr)
    per_viewer_ms = cpu * 1000 / counts["segments"]  # a segment is a second of video for one viewer
    return (f"bench hls segment_latency_s={statistics.median(late):.2f} viewers={1000 / per_viewer_ms:.0f} "
            f"cpu_per_viewer_ms={per_viewer_ms:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with weir_serve(free_port(), WEIR_EGRESS_WORKERS="0") as (base, server):
        data_dir = Path(server.args[server.args.index("--data-dir") + 1])  # type: ignore[index, union-attr]
        folder = data_dir / "egress" / uuid.uuid4().hex  # where a worker would write the broadcast
        folder.mkdir(parents=True)
        encoder_started = time.monotonic()
        ffmpeg = encoder(folder)
        try:
            print(asyncio.run(run(base, server.pid, folder, encoder_started, args.viewers, args.seconds)))
        finally:
            ffmpeg.terminate()
            ffmpeg.wait(timeout=10)


if __name__ == "__main__":
    main()
