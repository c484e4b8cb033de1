"""Composite recording cost: ``--participants`` SDK clients (the synthetic pattern and tone) in one call on a
``weir serve`` subprocess, recorded by ``record_composite`` at ``--quality`` for ``--seconds``.

    .venv/bin/python bench/recording.py                           # 4 participants, 720p, 20 s
    .venv/bin/python bench/recording.py --participants 2 --quality portrait-720x1280

Prints ``bench recording participants=<n> quality=<q> cpu_per_media_second=<x> realtime_factor=<y>``:
the CPU seconds of the recorder's processes (Xvfb, PulseAudio, Chromium and its children, ffmpeg) per second of
recorded media, and the frames in the file over the frames 30 fps would give for its duration (1.0 keeps up).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import av
from events import free_port
from join import API_KEY, API_SECRET, LOOPBACK, connected, weir_serve

from weir.client import CallConnectOptions, StreamVideo, SyntheticSource, TrackOption
from weir.domain.tokens import create_token
from weir.egress.composite import FRAME_RATE, CompositeSpec, record_composite
from weir.egress.composite.quality import frame_size

RECORDER_PROGRAMS = {"Xvfb", "pulseaudio", "ffmpeg", "chromium"}
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name_end = text.rindex(")")
    return [text[text.index("(") + 1:name_end], *text[name_end + 2:].split()]


def recorder_cpu_seconds() -> float:
    """CPU time of every process in the sessions this process started for the recorder programs (with the
    children they reaped)."""
    stats = [s for s in map(_stat, (p for p in os.listdir("/proc") if p.isdigit())) if s]
    me = str(os.getpid())
    sessions = {s[4] for s in stats if s[2] == me and s[0] in RECORDER_PROGRAMS}  # leaders: sid == their pid
    return sum(sum(int(v) for v in s[12:16]) for s in stats if s[4] in sessions) / TICKS


def frames_and_duration(path: Path) -> tuple[int, float]:
    with av.open(str(path)) as container:
        times = [float(f.time) for f in container.decode(container.streams.video[0]) if f.time is not None]
    return len(times), times[-1] - times[0]


async def run(base: str, participants: int, quality: str, seconds: float) -> str:
    call_id = f"rec-{uuid.uuid4().hex[:8]}"
    clients: list[StreamVideo] = []
    try:
        for index in range(participants):
            client = await connected(base, f"publisher-{index}")
            clients.append(client)
            media = CallConnectOptions(camera=TrackOption.enabled(SyntheticSource(shade=40 * index)),
                                       microphone=TrackOption.enabled(SyntheticSource()))
            await client.make_call(id=call_id).join(create=True, connect_options=media)
        width, height = frame_size(quality)
        spec = CompositeSpec(base_url=base, call_type="default", call_id=call_id,
                             token=create_token(API_SECRET, "recorder"), width=width, height=height,
                             audio_only=False, layout={"name": "grid"}, api_key=API_KEY)
        with tempfile.TemporaryDirectory() as folder:
            output = Path(folder) / "bench.mp4"
            stop = asyncio.Event()
            task = asyncio.create_task(record_composite(spec, output, stop))
            await asyncio.sleep(seconds)
            cpu = recorder_cpu_seconds()
            stop.set()
            await task
            frames, duration = frames_and_duration(output)
    finally:
        for client in clients:
            await client.disconnect()
    return (f"bench recording participants={participants} quality={quality} "
            f"cpu_per_media_second={cpu / duration:.2f} realtime_factor={frames / (duration * FRAME_RATE):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=4)
    parser.add_argument("--quality", default="720p", help="a recording quality, e.g. 720p or portrait-720x1280")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to record")
    args = parser.parse_args()
    os.environ["WEIR_ICE_HOST_ADDRESSES"] = LOOPBACK  # the SDK's ICE, as the server's
    started = time.monotonic()
    with weir_serve(free_port()) as (base, _):
        print(asyncio.run(run(base, args.participants, args.quality, args.seconds)), flush=True)
    print(f"(took {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
