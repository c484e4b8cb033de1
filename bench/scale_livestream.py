"""A 1→N livestream through a 2-level cascade tree of SFU workers on one machine: one WHIP publisher, N lean WHEP
subscribers, ``weir serve`` with k SFU worker processes (``WEIR_SFU_CASCADE_FANOUT=2``, the call size set so the
subscribers fill every worker: the publisher's worker is the origin, its two children relays, the rest edges).

The publisher and the subscribers are bench/sfu_e2e.py's (real ICE, DTLS-SRTP, 1 Mbps VP8-shaped video and
Opus-shaped audio; the subscribers decrypt every packet and decode nothing). After every subscriber has received
video for ``--warmup`` seconds, a window of ``--seconds`` is measured:

- CPU: utime + stime from /proc of every SFU worker process, summed, per subscriber per second of stream;
- per node (from each worker's ``/internal/sfu/metrics`` and ``/internal/sfu/relay``): its role, local
  subscribers, relay tracks in and out, CPU, packets sent to subscribers and to other SFUs per second;
- loss: 1 - received / (sent in the window x N).

    .venv/bin/python bench/scale_livestream.py                       # k = 4, N = 20 and k = 5, N = 40
    .venv/bin/python bench/scale_livestream.py --size 5:60 --seconds 20

Prints ``bench scale livestream sfus=<k> subscribers=<n> cpu_per_subscriber_ms=<n>`` per size (CPU ms per
subscriber per second of stream), after ``#`` lines with the nodes. Loopback only.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from events import free_port
from join import API_SECRET, weir_serve
from sfu_e2e import CLOCK_TICK, Plan, cpu_ticks, start_stream
from soak import process_tree

from weir.sfu.workers.channel import channel_token
from weir.sfu.workers.metrics_route import METRICS_PATH, RELAY_PATH

FANOUT = 2


def worker_pids(server_pid: int) -> list[int]:
    return [pid for pid in process_tree(server_pid)
            if b"weir.sfu.workers.process" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def scrape(ports: list[int]) -> dict[int, dict[str, Any]]:
    """Each worker's snapshot and relay counters, by port."""
    headers = {"Authorization": f"Bearer {channel_token(API_SECRET)}"}
    found = {}
    for port in ports:
        base = f"http://127.0.0.1:{port}"
        found[port] = {"metrics": httpx.get(base + METRICS_PATH, headers=headers).json(),
                       "relay": httpx.get(base + RELAY_PATH, headers=headers).json()}
    return found


def node_lines(before: dict[int, dict[str, Any]], after: dict[int, dict[str, Any]], seconds: float) -> list[str]:
    lines = []
    for port, now in sorted(after.items()):
        peers_now = {tuple(p["address"]): p for p in now["relay"]["peers"]}
        peers_then = {tuple(p["address"]): p for p in before[port]["relay"]["peers"]}
        tracks_in = sum(p["tracks_in"] for p in peers_now.values())
        tracks_out = sum(p["tracks_out"] for p in peers_now.values())
        role = "origin" if not tracks_in else "relay" if tracks_out else "edge"
        relay_pps = sum(p["packets_out"] - peers_then.get(a, {"packets_out": 0})["packets_out"]
                        for a, p in peers_now.items()) / seconds
        cpu = (now["metrics"]["cpu_seconds"] - before[port]["metrics"]["cpu_seconds"]) / seconds
        sub_pps = (now["metrics"]["media"]["packets_out"] - before[port]["metrics"]["media"]["packets_out"]) / seconds
        lines.append(f"# worker :{port} {role}: participants={now['metrics']['participants']} "
                     f"relay_tracks_in={tracks_in} relay_tracks_out={tracks_out} cpu_ms_per_s={cpu * 1000:.0f} "
                     f"to_subscribers_pps={sub_pps:.0f} to_sfus_pps={relay_pps:.0f}")
    return lines


def run(sfus: int, subscribers: int, per_process: int, warmup_s: float, seconds: float, video_kbps: int) -> None:
    base_port = free_port()
    call_size = math.ceil((subscribers + 1) / sfus)  # the publisher counts: every worker fills up
    with weir_serve(free_port(), WEIR_SFU_WORKERS=str(sfus), WEIR_SFU_WORKER_BASE_PORT=str(base_port),
                    WEIR_SFU_CASCADE_CALL_SIZE=str(call_size), WEIR_SFU_CASCADE_FANOUT=str(FANOUT)) as (base, server):
        ports = [base_port + i for i in range(sfus)]
        cid = f"default:livestream-{random.getrandbits(32):x}"  # no backstage to go live from
        stream = start_stream(Plan(base, cid, warmup_s, seconds, video_kbps, API_SECRET), subscribers, per_process)
        time.sleep(warmup_s)
        workers = worker_pids(server.pid)
        uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        before, ticks = scrape(ports), cpu_ticks(workers)
        lo = time.monotonic_ns()
        time.sleep(seconds)
        hi, ticks, after = time.monotonic_ns(), cpu_ticks(workers) - ticks, scrape(ports)
        sent, received, _ = stream.end(lo, hi)
    cpu_ms_per_subscriber = ticks / CLOCK_TICK / seconds / subscribers * 1000
    loss = 100 * (1 - received / (sent * subscribers)) if sent else math.nan
    print(f"# {uptime}", flush=True)
    for line in node_lines(before, after, seconds):
        print(line, flush=True)
    print(f"# sfus={sfus} subscribers={subscribers} call_size={call_size} fanout={FANOUT}: workers' CPU "
          f"{ticks / CLOCK_TICK:.2f} s in {seconds:.0f} s; {sent} packets sent, loss {loss:.2f} %", flush=True)
    print(f"bench scale livestream sfus={sfus} subscribers={subscribers} "
          f"cpu_per_subscriber_ms={cpu_ms_per_subscriber:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", action="append", help="SFU workers:subscribers (repeatable; default 4:20, 5:40)")
    parser.add_argument("--per-process", type=int, default=5, help="subscribers per subscriber process")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of media before measuring")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--video-kbps", type=int, default=1000)
    args = parser.parse_args()
    for size in args.size or ["4:20", "5:40"]:
        sfus, subscribers = (int(part) for part in size.split(":"))
        if sfus < FANOUT + 2:
            raise SystemExit(f"a 2-level tree with fan-out {FANOUT} needs at least {FANOUT + 2} SFU workers")
        run(sfus, subscribers, args.per_process, args.warmup, args.seconds, args.video_kbps)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    os.environ.setdefault("WEIR_LOG_LEVEL", "warning")
    main()
