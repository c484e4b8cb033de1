"""Crash recovery through the client SDK (issue 11): how soon two clients in a call see each other's video again
after the SFU media worker carrying the call is SIGKILLed, and after ``weir serve`` itself is.

Starts a real ``weir serve`` (SQLite, two SFU media workers, rate limits off, ICE on 127.0.0.1) and two SDK
clients in one call, each publishing the synthetic camera and tone. Then:

- ``kind=sfu-worker``, ``--runs`` times: once media flows and both workers serve, SIGKILL the worker carrying
  the call; the time from the kill until both clients have decoded a video frame of the other's new session
  (they rejoin, on the other worker);
- ``kind=coordinator``, ``--runs`` times: SIGKILL ``weir serve`` (its workers stop with it) and start it again at
  once; the time from the server answering ``/api/v1/health`` again (and, ``from_kill_``, from the kill) until
  both clients have decoded a video frame of the other's new session.

    .venv/bin/python bench/recovery.py            # 5 runs of each
    .venv/bin/python bench/recovery.py --runs 3

Prints ``bench recovery kind=sfu-worker runs=<n> p50_ms=<n> max_ms=<n>`` and ``bench recovery kind=coordinator
runs=<n> p50_ms=<n> max_ms=<n> from_kill_p50_ms=<n> from_kill_max_ms=<n>``. The scenarios are tests/crash.py's,
which the crash-recovery tests run too; a client that reaches Disconnected fails the bench.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, for tests/crash.py

from tests.crash import LOOPBACK, SdkCall, WeirServe, coordinator_recovery, sfu_worker_recoveries  # noqa: E402


def figures(name: str, seconds: list[float]) -> str:
    ms = [1000 * s for s in seconds]
    return f"{name}p50_ms={statistics.median(ms):.0f} {name}max_ms={max(ms):.0f}"


async def run(data_dir: Path, runs: int) -> list[str]:
    serve = WeirServe(data_dir)
    serve.start()
    room = None
    try:
        room = await SdkCall.join(serve, f"recovery-{uuid.uuid4().hex[:8]}")
        worker = await sfu_worker_recoveries(serve, room, runs)
        coordinator = [await coordinator_recovery(serve, room) for _ in range(runs)]
        if room.disconnected():
            raise RuntimeError(f"a client disconnected: {room.statuses}")
    finally:
        if room is not None:
            await room.close()
        serve.stop()
    return [f"bench recovery kind=sfu-worker runs={runs} {figures('', worker)}",
            f"bench recovery kind=coordinator runs={runs} {figures('', [ready for _, ready in coordinator])} "
            f"{figures('from_kill_', [killed for killed, _ in coordinator])}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="kills of each kind")
    args = parser.parse_args()
    os.environ["WEIR_ICE_HOST_ADDRESSES"] = LOOPBACK  # the SDK's ICE, as the server's
    with tempfile.TemporaryDirectory() as data_dir:
        for line in asyncio.run(run(Path(data_dir), args.runs)):
            print(line, flush=True)


if __name__ == "__main__":
    main()
