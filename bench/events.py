"""Event fan-out benchmark: one call watched by N coordinator WebSockets, and how many idle sockets one process holds.

Starts a real ``weir serve`` (SQLite, rate limits off), makes N users members of one call, connects each, then
updates the call K times and times each ``call.updated`` from the API request to its receipt on every socket.
The sockets live in ``--client-processes`` processes of their own, so that reading 1,000 frames is not one
Python process's queue in front of the figure; the server's CPU per event is read from /proc.
Then it opens M idle sockets more and reads the server's resident memory before and after.

    .venv/bin/python bench/events.py                       # N=1000, K=30, M=5000
    .venv/bin/python bench/events.py --fanout 200 --idle 1000

Prints ``bench events <name> ...`` lines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

from weir.domain.tokens import create_token

WEIR = Path(sys.executable).parent / "weir"
API_KEY, API_SECRET = "bench-key", "bench-secret-" + uuid.uuid4().hex


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Watcher:
    """One socket; records when each ``call.updated`` (by its ``seq``) arrived."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.arrivals: dict[int, float] = {}
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            event = json.loads(raw)
            if event["type"] == "call.updated":
                self.arrivals[event["call"]["custom"]["seq"]] = time.perf_counter()


async def open_socket(base: str, user_id: str) -> ClientConnection:
    ws = await connect(f"{base.replace('http', 'ws', 1)}/api/v1/connect?api_key={API_KEY}", max_queue=None)
    await ws.send(json.dumps({"token": create_token(API_SECRET, user_id), "user_details": {"id": user_id}}))
    hello = json.loads(await ws.recv())
    if hello["type"] != "connection.ok":
        raise RuntimeError(hello)
    return ws


async def open_many(base: str, user_ids: list[str], parallel: int = 100) -> list[ClientConnection]:
    gate = asyncio.Semaphore(parallel)

    async def one(user_id: str) -> ClientConnection:
        async with gate:
            return await open_socket(base, user_id)

    return list(await asyncio.gather(*(one(u) for u in user_ids)))


def watch_in_process(base: str, secret: str, users: list[str], rounds: int, pipe: Connection) -> None:
    """A client process: connect ``users``, say so, report each round once all of its sockets have it, and at
    the end send back every arrival time (``perf_counter`` is the system's monotonic clock, shared by processes)."""

    global API_SECRET
    API_SECRET = secret  # a spawned process imported this module afresh, with a new random secret

    async def run() -> None:
        watchers = [Watcher(ws) for ws in await open_many(base, users)]
        pipe.send("ready")
        for seq in range(rounds):
            while any(seq not in w.arrivals for w in watchers):
                await asyncio.sleep(0.001)
            pipe.send(seq)
        pipe.send([w.arrivals[seq] for w in watchers for seq in range(rounds)])
        for w in watchers:
            await w.ws.close()

    asyncio.run(run())


async def fanout(base: str, http: httpx.AsyncClient, server_pid: int, n: int, rounds: int, processes: int
                 ) -> list[str]:
    call = f"/video/call/default/fanout-{uuid.uuid4().hex[:8]}"
    users = [f"w{i}" for i in range(n)]
    (await http.post(call, json={"data": {"created_by_id": "bench-owner"}})).raise_for_status()
    for start in range(0, n, 100):
        batch = [{"user_id": u} for u in users[start:start + 100]]
        (await http.post(f"{call}/members", json={"update_members": batch})).raise_for_status()
    spawn = multiprocessing.get_context("spawn")
    pipes, workers = [], []
    for k in range(processes):
        ours, theirs = spawn.Pipe()
        worker = spawn.Process(target=watch_in_process, args=(base, API_SECRET, users[k::processes], rounds, theirs))
        worker.start()
        pipes.append(ours)
        workers.append(worker)
    loop = asyncio.get_running_loop()

    async def from_all() -> list[object]:
        return list(await asyncio.gather(*(loop.run_in_executor(None, pipe.recv) for pipe in pipes)))

    await asyncio.wait_for(from_all(), 120)  # every socket is connected
    sent: list[float] = []
    cpu_before = cpu_seconds(server_pid)
    for seq in range(rounds):
        sent.append(time.perf_counter())
        (await http.patch(call, json={"custom": {"seq": seq}})).raise_for_status()
        try:
            await asyncio.wait_for(from_all(), 30)
        except TimeoutError:
            raise RuntimeError(f"round {seq}: not every socket got the event") from None
    server_cpu = cpu_seconds(server_pid) - cpu_before
    arrivals = await from_all()
    for worker in workers:
        worker.join(timeout=30)
    ms: list[float] = []
    last = [0.0] * rounds
    for times in arrivals:
        assert isinstance(times, list)
        for i, arrived in enumerate(times):
            seq = i % rounds  # each socket's arrivals, round by round
            delay = 1000 * (arrived - sent[seq])
            ms.append(delay)
            last[seq] = max(last[seq], delay)
    return [f"bench events fanout={n} rounds={rounds} client_processes={processes} p50_ms={statistics.median(ms):.1f} "
            f"p99_ms={percentile(ms, 0.99):.1f} all_delivered_p50_ms={statistics.median(last):.1f} "
            f"server_cpu_ms_per_event={1000 * server_cpu / rounds:.1f}"]


async def idle(base: str, pid: int, m: int) -> list[str]:
    await asyncio.sleep(1)
    before = rss_kb(pid)
    sockets = await open_many(base, [f"idle{i}" for i in range(m)])
    await asyncio.sleep(2)
    after = rss_kb(pid)
    held = sum(1 for ws in sockets if ws.state.name == "OPEN")
    for ws in sockets:
        await ws.close()
    return [f"bench events idle_connections={held} rss_before_mb={before / 1024:.0f} rss_after_mb={after / 1024:.0f} "
            f"rss_per_connection_kb={(after - before) / max(held, 1):.1f}"]


async def run(args: argparse.Namespace) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "WEIR_API_KEY": API_KEY, "WEIR_API_SECRET": API_SECRET,
               "WEIR_RATE_LIMITS_ENABLED": "false"}
        server = subprocess.Popen([str(WEIR), "serve", "--host", "127.0.0.1", "--port", str(port),
                                   "--data-dir", data_dir], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            async with httpx.AsyncClient(base_url=f"{base}/api/v1", params={"api_key": API_KEY},
                                         headers={"Authorization": create_token(API_SECRET)}, timeout=60) as http:
                for _ in range(300):
                    try:
                        if (await http.get("/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                lines = await fanout(base, http, server.pid, args.fanout, args.rounds, args.client_processes)
                lines += await idle(base, server.pid, args.idle)
        finally:
            server.terminate()
            server.wait(timeout=30)
    for line in lines:
        print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fanout", type=int, default=1000, help="sockets receiving each event")
    parser.add_argument("--rounds", type=int, default=30, help="events sent")
    parser.add_argument("--idle", type=int, default=5000, help="idle sockets opened afterwards")
    parser.add_argument("--client-processes", type=int, default=4, help="processes the fan-out's sockets live in")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
