"""Time to first frame through the client SDK: ``call.join()`` until the first remote video frame is decoded.

Starts a real ``weir serve`` (SQLite, rate limits off, SFU media workers as ``make run`` has them, ICE on
127.0.0.1). A publisher (an SDK client sending the synthetic 160x120 test pattern at 30 fps) joins a call;
then, ``--joins`` times, a fresh SDK client connects its coordinator socket (not timed), joins the call, waits
for the first decoded video frame of the publisher, leaves and disconnects, and the next one comes ``--pause``
seconds later (the SFU sends the publisher at most one keyframe request per 500 ms, which joins closer together
share: ``--pause 0`` measures that).

    .venv/bin/python bench/join.py                 # 20 joins, 1 s apart
    .venv/bin/python bench/join.py --joins 2 --pause 0

Prints ``bench join joins=<n> pause_s=<n> p50_ms=<n> p99_ms=<n> join_p50_ms=<n> join_p99_ms=<n> first_frame_p50_ms=<n>
first_frame_p99_ms=<n>``: the whole span, then its two parts: ``join()`` (the coordinator's join, the SFU's
WebSocket and join, the subscriptions) and from its return to the first decoded frame.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from events import free_port, percentile

from weir.client import (
    CallConnectOptions,
    SfuTrackType,
    StreamVideo,
    StreamVideoOptions,
    SyntheticSource,
    TrackOption,
    User,
)
from weir.domain.tokens import create_token

WEIR = os.path.join(os.path.dirname(sys.executable), "weir")
API_KEY, API_SECRET = "bench-key", "bench-secret-" + uuid.uuid4().hex
FRAME_TIMEOUT_S = 60.0
LOOPBACK = "127.0.0.1"


@contextmanager
def weir_serve(port: int, **more_env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A ``weir serve`` subprocess on a fresh data folder (``more_env``: further variables); yields its base URL
    and the process once healthy."""
    base = f"http://{LOOPBACK}:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "WEIR_API_KEY": API_KEY, "WEIR_API_SECRET": API_SECRET,
               "WEIR_RATE_LIMITS_ENABLED": "false", "WEIR_ICE_HOST_ADDRESSES": LOOPBACK, **more_env}
        server = subprocess.Popen([WEIR, "serve", "--host", LOOPBACK, "--port", str(port), "--data-dir", data_dir,
                                   "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("weir serve did not start")
                time.sleep(0.1)
            yield base, server
        finally:
            server.terminate()
            server.wait(timeout=30)


async def connected(base: str, user_id: str) -> StreamVideo:
    client = StreamVideo.create(API_KEY, user=User.regular(user_id), user_token=create_token(API_SECRET, user_id),
                                options=StreamVideoOptions(coordinator_rpc_url=base))
    await client.connect()
    return client


async def one_join(base: str, call_id: str, publisher_session: str, index: int) -> tuple[float, float]:
    """(join() seconds, then seconds to the first decoded video frame) for a fresh client."""
    client = await connected(base, f"joiner-{index}")
    try:
        call = client.make_call(id=call_id)
        async with call.frames(publisher_session, SfuTrackType.VIDEO) as frames:
            started = time.perf_counter()
            await call.join()
            joined = time.perf_counter()
            await frames.next(FRAME_TIMEOUT_S)
            first_frame = time.perf_counter()
        await call.leave()
    finally:
        await client.disconnect()
    return joined - started, first_frame - joined


def summary(name: str, seconds: list[float]) -> str:
    ms = [1000 * s for s in seconds]
    return f"{name}p50_ms={statistics.median(ms):.1f} {name}p99_ms={percentile(ms, 0.99):.1f}"


async def run(base: str, joins: int, pause: float) -> str:
    call_id = f"join-{uuid.uuid4().hex[:8]}"
    publisher = await connected(base, "publisher")
    try:
        call = publisher.make_call(id=call_id)
        camera = CallConnectOptions(camera=TrackOption.enabled(SyntheticSource()))
        await call.join(create=True, connect_options=camera)
        session = call.state.value.user_session_id
        await one_join(base, call_id, session, -1)  # warm-up: imports, codecs, the SFU worker's first call
        spans = []
        for index in range(joins):
            await asyncio.sleep(pause)
            spans.append(await one_join(base, call_id, session, index))
        await call.leave()
    finally:
        await publisher.disconnect()
    return " ".join([f"bench join joins={joins} pause_s={pause:g}", summary("", [j + f for j, f in spans]),
                     summary("join_", [j for j, _ in spans]), summary("first_frame_", [f for _, f in spans])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--joins", type=int, default=20, help="clients that join one after the other")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between one client's leave and the next join")
    args = parser.parse_args()
    os.environ["WEIR_ICE_HOST_ADDRESSES"] = LOOPBACK  # the SDK's ICE, as the server's
    with weir_serve(free_port()) as (base, _):
        print(asyncio.run(run(base, args.joins, args.pause)), flush=True)


if __name__ == "__main__":
    main()
