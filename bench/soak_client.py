"""One client process of bench/soak.py: ``--users`` SDK participants in one call, measured once a second.

Each participant joins with the synthetic camera (160x120, 30 fps) and, unless ``--no-audio``, the synthetic
microphone, or publishes nothing with ``--subscribe-only``; the SDK subscribes to everyone by itself. The test
pattern is flat, so its three simulcast layers take about the same 12-17 kbps; ``--noise-pct N`` fills the top N %
of each frame with noise, so that the layers' bitrates grow with their size as a camera's do (with 10: about 46,
130 and 470 kbps). The
process prints JSON lines on stdout: ``{"ready": true}`` once every participant has joined, then one line per
wall-clock second boundary::

    {"t": <epoch second>, "rss_mb": <this process>, "rx": {<receiver>: {<sender>: [frames, max_gap_ms, w, h]}}}

``frames`` is the receiver's count of decoded video frames from that sender at the boundary (interpolated
between the 100-ms polls; all the sender's sessions summed, so a rejoin does not reset it), ``max_gap_ms`` the
longest time without a new frame that ended in the last second (or is still going on), ``w``/``h`` the latest
frame's size (0 before any). It leaves and exits when its stdin closes.

Environment: ``WEIR_API_KEY``, ``WEIR_API_SECRET``, ``WEIR_ICE_HOST_ADDRESSES`` (set by bench/soak.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field

from av import VideoFrame

from weir.client import (
    Call,
    CallConnectOptions,
    SfuTrackType,
    StreamVideo,
    StreamVideoOptions,
    SyntheticSource,
    TrackOption,
    User,
    WeirAPIError,
)
from weir.client.media.synthetic import TestPatternTrack
from weir.domain.tokens import create_token

POLL_S = 0.1
WORKER_WAIT_S = 60.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process in MB (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE / 1e6
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class PairWatch:
    """What one receiver saw of one sender: frames at the last poll, when they last advanced, the longest gap."""

    frames: int = 0
    polled_at: float = field(default_factory=time.time)
    advanced_at: float = field(default_factory=time.time)
    max_gap_s: float = 0.0
    size: tuple[int, int] = (0, 0)
    sessions: set[str] = field(default_factory=set)

    def poll(self, call: Call, sender: str, now: float) -> tuple[int, float]:
        """The count now and the count at the previous poll."""
        for participant in call.state.value.other_participants:
            if participant.user_id == sender:
                self.sessions.add(participant.session_id)
        frames = sum(call.received_frames(s, SfuTrackType.VIDEO) for s in self.sessions)
        before = self.frames
        if frames > before:
            self.max_gap_s = max(self.max_gap_s, now - self.advanced_at)
            self.advanced_at = now
            self.frames = frames
            sizes = [call.received_video_size(s) for s in self.sessions]
            self.size = next((s for s in sizes if s), self.size)
        self.polled_at = now
        return frames, before

    def gap_and_reset(self, now: float) -> float:
        gap = max(self.max_gap_s, now - self.advanced_at)
        self.max_gap_s = 0.0
        return gap


class NoisyPattern(TestPatternTrack):
    """The test pattern with its top ``percent`` % of luma bytes random."""

    def __init__(self, percent: float) -> None:
        super().__init__()
        self.percent = percent

    async def recv(self) -> VideoFrame:
        frame = await super().recv()
        luma = frame.planes[0]
        noisy = int(luma.buffer_size * self.percent / 100)
        luma.update(os.urandom(noisy) + bytes(luma)[noisy:])
        return frame


async def joined(base: str, user_id: str, call_id: str, options: CallConnectOptions) -> tuple[StreamVideo, Call]:
    token = create_token(os.environ["WEIR_API_SECRET"], user_id)
    client = StreamVideo.create(os.environ["WEIR_API_KEY"], user=User.regular(user_id), user_token=token,
                                options=StreamVideoOptions(coordinator_rpc_url=base))
    await client.connect()
    call = client.make_call(id=call_id)
    deadline = time.monotonic() + WORKER_WAIT_S
    while True:
        try:
            await call.join(connect_options=options)
            return client, call
        except WeirAPIError as error:  # 503 until weir serve's SFU workers are up
            if error.status_code != 503 or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def emit(line: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def measure(calls: dict[str, Call], senders: list[str], stop: asyncio.Event) -> None:
    """Poll every pair each ``POLL_S``; at each wall-clock second boundary, emit the line described above."""
    watches = {(rx, tx): PairWatch() for rx in calls for tx in senders if tx != rx}
    last_poll = time.time()
    boundary = math.floor(last_poll) + 1
    while not stop.is_set():
        await asyncio.sleep(POLL_S)
        now = time.time()
        counts = {pair: watch.poll(calls[pair[0]], pair[1], now) for pair, watch in watches.items()}
        while boundary <= now:
            share = (boundary - last_poll) / (now - last_poll)
            rx: dict[str, dict[str, list[float]]] = {}
            for (receiver, sender), (frames, before) in counts.items():
                watch = watches[(receiver, sender)]
                at_boundary = before + (frames - before) * share
                rx.setdefault(receiver, {})[sender] = [round(at_boundary, 2), round(1000 * watch.gap_and_reset(now)),
                                                       *watch.size]
            emit({"t": boundary, "rss_mb": round(rss_mb(), 2), "rx": rx})
            boundary += 1
        last_poll = now


async def run(args: argparse.Namespace) -> None:
    if args.subscribe_only:
        options = CallConnectOptions()
    else:
        microphone = TrackOption.disabled() if args.no_audio else TrackOption.enabled(SyntheticSource())
        camera = NoisyPattern(args.noise_pct) if args.noise_pct else SyntheticSource()
        options = CallConnectOptions(camera=TrackOption.enabled(camera), microphone=microphone)
    users = args.users.split(",")
    pairs = await asyncio.gather(*(joined(args.base, user, args.call_id, options) for user in users))
    stop = asyncio.Event()
    emit({"ready": True})
    measuring = asyncio.ensure_future(measure({u: call for u, (_, call) in zip(users, pairs, strict=False)},
                                              args.senders.split(","), stop))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the harness closes stdin
    stop.set()
    await measuring
    for client, call in pairs:
        await call.leave()
        await client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the server's base URL")
    parser.add_argument("--call-id", required=True)
    parser.add_argument("--users", required=True, help="comma-separated user ids of this process's participants")
    parser.add_argument("--senders", required=True, help="comma-separated user ids of every publisher in the call")
    parser.add_argument("--no-audio", action="store_true", help="publish the camera only")
    parser.add_argument("--subscribe-only", action="store_true", help="publish nothing")
    parser.add_argument("--noise-pct", type=float, default=0, help="%% of each camera frame that is noise")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
