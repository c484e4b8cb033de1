"""RTMP ingress latency: how long a frame takes from ffmpeg's send to a subscriber's decode.

Starts ``weir serve``'s app in this process (SQLite, ICE on 127.0.0.1) with its ingress worker, and a Weir SDK
viewer in a call. ffmpeg encodes a picture whose brightness counts the frames (left half: frame number mod 32,
right half: frame number / 32, in steps of 8) as OBS is advised to (H.264, no B-frames, a keyframe a second,
zerolatency) and publishes it over RTMP, through a proxy here that notes when each video frame leaves ffmpeg.
The viewer reads each decoded frame's number from its brightness; the latency is its decode time minus that
frame's send time. The first two seconds (the join, the first keyframe) are left out.

    .venv/bin/python bench/ingress.py              # 20 s of video
    .venv/bin/python bench/ingress.py --seconds 40

Prints ``bench ingress protocol=rtmp added_latency_ms=<p50> p95_ms=<n> frames=<n>``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from av import VideoFrame

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, for the test harness
os.environ["WEIR_ICE_HOST_ADDRESSES"] = "127.0.0.1"

from tests.conftest import RunningServer, free_port  # noqa: E402
from tests.ingress.conftest import FFMPEG, wait_for_listener  # noqa: E402
from tests.sfu.signaling_peers import running_sfu  # noqa: E402
from weir.client import StreamVideo, StreamVideoOptions, User  # noqa: E402
from weir.ingress.flv import AvcFrame, parse_video  # noqa: E402
from weir.ingress.rtmp import MediaMessage, PublishRequested, RtmpConnection  # noqa: E402

WARMUP_S = 2.0
COUNTER = "geq=lum='if(lt(X,W/2),mod(N,32)*8,mod(floor(N/32),32)*8)':cb=128:cr=128"


class SendClock:
    """A TCP proxy in front of the RTMP listener that notes when each video frame passes (ffmpeg's send)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sent: list[float] = []  # by frame number

    async def start(self) -> int:
        server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(server.sockets[0].getsockname()[1])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        watcher = RtmpConnection()  # parses what ffmpeg sends; its own replies are dropped

        async def upstream() -> None:
            config = None
            while data := await reader.read(65536):
                now = time.monotonic()
                for event in watcher.receive(data):
                    if isinstance(event, PublishRequested):
                        watcher.accept_publish()
                    elif isinstance(event, MediaMessage) and event.kind == "video":
                        parsed = parse_video(event.payload, config)
                        if isinstance(parsed, AvcFrame):
                            self.sent.append(now)
                        elif parsed is not None:
                            config = parsed
                watcher.data_to_send()
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()

        await asyncio.gather(upstream(), downstream(), return_exceptions=True)


def frame_number(frame: VideoFrame) -> int:
    """The count painted into the picture: the mean brightness of the middle of each half, in steps of 8."""
    plane = frame.planes[0]
    luma, stride = bytes(plane), plane.line_size
    rows = range(frame.height // 4, 3 * frame.height // 4, 4)

    def mean(first: int, last: int) -> float:
        samples = [luma[y * stride + x] for y in rows for x in range(first, last, 4)]
        return sum(samples) / len(samples)

    left, right = mean(frame.width // 8, 3 * frame.width // 8), mean(5 * frame.width // 8, 7 * frame.width // 8)
    return round(left / 8) % 32 + 32 * (round(right / 8) % 32)


async def measure(server: RunningServer, rtmp_port: int, seconds: float) -> list[float]:
    assert FFMPEG is not None, "ffmpeg: scripts/egress-tools.sh installs it"
    viewer = StreamVideo.create(server.api_key, user=User.regular("bench-viewer"),
                                user_token=server.token("bench-viewer"),
                                options=StreamVideoOptions(coordinator_rpc_url=server.base_url))
    clock = SendClock(rtmp_port)
    proxy_port = await clock.start()
    latencies: list[float] = []
    try:
        call = viewer.make_call("default", f"ingress-{uuid.uuid4().hex[:8]}")
        await call.get_or_create()
        await call.join()
        path = (call.state.value.rtmp_ingress or "").split("/", 3)[3]
        ffmpeg = await asyncio.create_subprocess_exec(
            FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
            "-i", f"color=c=black:size=320x240:rate=30,{COUNTER}", "-t", str(seconds),
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0", "-g", "30",
            "-pix_fmt", "yuv420p", "-f", "flv", f"rtmp://127.0.0.1:{proxy_port}/{path}/{server.token('bench-host')}")
        while not call.state.value.other_participants:
            await asyncio.sleep(0.05)
        frames = call.frames(call.state.value.other_participants[0], "video", maxsize=300)
        start = time.monotonic()
        with contextlib.suppress(TimeoutError):
            while True:
                frame = await frames.next(timeout=5)
                decoded = time.monotonic()
                number = frame_number(frame.reformat(format="yuv420p"))  # type: ignore[union-attr]
                if decoded - start > WARMUP_S and number < len(clock.sent):
                    latencies.append(decoded - clock.sent[number])
        await ffmpeg.wait()
    finally:
        await viewer.disconnect()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    port = free_port()
    with running_sfu("sqlite", Path(tempfile.mkdtemp(prefix="weir-bench-ingress-")), ingress_rtmp_port=port,
                     rate_limits_enabled=False) as server:
        wait_for_listener(port)
        latencies = asyncio.run(measure(server, port, args.seconds))
    if not latencies:
        raise SystemExit("no frame was decoded")
    ms = sorted(1000 * s for s in latencies)
    print(f"bench ingress protocol=rtmp added_latency_ms={statistics.median(ms):.0f} "
          f"p95_ms={ms[int(0.95 * (len(ms) - 1))]:.0f} frames={len(ms)}")


if __name__ == "__main__":
    main()
