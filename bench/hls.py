"""HLS serving: how late a segment is, and how many viewers one Weir process serves per core.

A ``weir serve`` subprocess (no egress worker) serves what ffmpeg writes with Weir's ``HlsSink`` into the data
folder, as a worker would: a real-time test pattern and tone, the default ladder (720p). Then wrk (its own
process, niced so it leaves the CPU to Weir first, ``bench/hls_player.lua``) plays ``N`` viewers, a connection
and a thread each: the 720p playlist once a second at a random phase, and every segment it lists after the last
one fetched, in order. N ramps up (``--steps``) for ``--seconds`` each, and stops at the first
step that fails or once the Weir process uses a whole core.

    PYTHONPATH=. .venv/bin/python bench/hls.py                            # 250, 500, 750, 1000, ... 3000
    PYTHONPATH=. .venv/bin/python bench/hls.py --steps 500,1000 --seconds 20

A step is served when no request failed, the viewers got ≥ 95 % of their playlists and segments (one of each a
second), and at most 1 % of the playlists took longer than 1 s. Prints a line per step, then
``bench hls segment_latency_s=<n> viewers=<n> cpu_per_viewer_ms=<n>``:
- segment_latency_s: from a segment's first frame to the playlist that Weir serves listing it, the median over
  10 s (segment length + encoding + serving); an upper bound: segment n's first frame is taken as made n
  segment lengths after ffmpeg was started, which counts ffmpeg's start-up too. A player adds its hold-back;
- viewers: the most viewers a step served, divided by the cores the Weir process used meanwhile (its CPU time
  in /proc over the step's wall time): viewers served per core (measured, not extrapolated, when that step
  took the process to a whole core);
- cpu_per_viewer_ms: that step's Weir CPU milliseconds per viewer per second (a playlist and a segment).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from events import free_port
from join import weir_serve

from weir.egress.composite.processes import tool
from weir.egress.composite.quality import ladder
from weir.egress.composite.sinks import HLS_SEGMENT_S, HlsSink

TICKS = os.sysconf("SC_CLK_TCK")
PLAYLIST_WAIT_S = 30.0
LATE_PLAYLISTS = 0.01  # at most 1 % of the playlists answered later than 1 s (a player polls once a second)
SERVED = 0.95
PLAYER = Path(__file__).with_name("hls_player.lua")


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


async def latencies(playlist_url: str, encoder_started: float, seconds: float) -> list[float]:
    """Seconds from each new segment's first frame to Weir listing it (the playlist polled every 20 ms)."""
    seen: set[str] = set()
    found = []
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=30) as http:
        while (await http.get(playlist_url)).status_code != 200:
            if time.monotonic() > deadline + PLAYLIST_WAIT_S:
                raise RuntimeError("the encoder wrote no playlist")
            await asyncio.sleep(0.2)
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


@dataclass(frozen=True, slots=True)
class Step:
    viewers: int
    seconds: float
    weir_cores: float  # the Weir process's CPU seconds per wall second
    wrk_cores: float  # the load generator's
    counts: dict[str, float]  # wrk's: requests, playlists, segments, new_segments, errors, p50_ms, p99_ms, ...

    @property
    def served(self) -> bool:
        playlists_per_viewer_s = self.counts["playlists"] / self.viewers / self.seconds
        segments_per_viewer_s = self.counts["segments"] / self.viewers / self.seconds * HLS_SEGMENT_S
        return (self.counts["errors"] == 0 and playlists_per_viewer_s >= SERVED and segments_per_viewer_s >= SERVED
                and self.counts["playlist_late_1000"] <= LATE_PLAYLISTS * self.counts["playlists"])

    def line(self) -> str:
        c = self.counts
        return (f"viewers={self.viewers} weir_cores={self.weir_cores:.2f} wrk_cores={self.wrk_cores:.2f} "
                f"errors={c['errors']:.0f} "
                f"playlists_per_viewer_s={c['playlists'] / self.viewers / self.seconds:.2f} "
                f"segments_per_viewer_s={c['segments'] / self.viewers / self.seconds * HLS_SEGMENT_S:.2f} "
                f"playlists_late_500ms_pct={100 * c['playlist_late_500'] / max(1.0, c['playlists']):.1f} "
                f"playlists_late_1s_pct={100 * c['playlist_late_1000'] / max(1.0, c['playlists']):.1f} "
                f"playlist_max_ms={c['playlist_max_ms']:.0f} requests_p50_ms={c['p50_ms']} p99_ms={c['p99_ms']} "
                f"mbit_s={c['bytes'] * 8 / 1e6 / self.seconds:.0f} served={self.served}")


def load(wrk: str, playlist_url: str, server_pid: int, viewers: int, seconds: float) -> Step:
    """wrk playing ``viewers`` players for ``seconds``, and the Weir process's CPU meanwhile."""
    argv = ["nice", "-n", "10", wrk, "-t", str(viewers), "-c", str(viewers), "-d", f"{seconds:.0f}s", "--timeout", "5s",
            "-s", str(PLAYER), playlist_url]  # a thread per player: each has its own Lua state
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before, wall_before = cpu_seconds(server_pid), time.monotonic()
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    wall = time.monotonic() - wall_before
    weir_cores = (cpu_seconds(server_pid) - cpu_before) / wall
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cores = (waited.ru_utime + waited.ru_stime - children.ru_utime - children.ru_stime) / wall
    summary = next(line for line in out.splitlines() if line.startswith("WRK "))
    counts = {key: float(value) for key, value in re.findall(r"(\w+)=([\d.]+)", summary)}
    return Step(viewers, seconds, weir_cores, wrk_cores, counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default="250,500,750,1000,1500,2000,3000")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    wrk = shutil.which("wrk", path=os.environ.get("WEIR_LOAD_TOOLS", "/usr/bin"))
    if wrk is None:
        raise SystemExit("wrk: scripts/load-tools.sh installs it")
    with weir_serve(free_port(), WEIR_EGRESS_WORKERS="0") as (base, server):
        data_dir = Path(server.args[server.args.index("--data-dir") + 1])  # type: ignore[index, union-attr, arg-type]
        folder = data_dir / "egress" / uuid.uuid4().hex  # where a worker would write the broadcast
        folder.mkdir(parents=True)
        encoder_started = time.monotonic()
        ffmpeg = encoder(folder)
        try:
            playlist_url = f"{base}/hls/{folder.name}/720p/index.m3u8"
            late = asyncio.run(latencies(playlist_url, encoder_started, 10))
            best: Step | None = None
            for viewers in (int(n) for n in args.steps.split(",")):
                step = load(wrk, playlist_url, server.pid, viewers, args.seconds)
                print(f"step {step.line()}", file=sys.stderr, flush=True)
                if not step.served:
                    break
                best = step
                if step.weir_cores >= 1.0:
                    break
        finally:
            ffmpeg.terminate()
            ffmpeg.wait(timeout=10)
    if best is None:
        raise SystemExit("no step was served")
    per_core = best.viewers / best.weir_cores
    print(f"bench hls segment_latency_s={statistics.median(late):.2f} viewers={per_core:.0f} "
          f"cpu_per_viewer_ms={1000 / per_core:.3f}")


if __name__ == "__main__":
    main()
