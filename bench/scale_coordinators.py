"""Scale-out of the coordinator: joins per second with 1 and 2 coordinator processes on one PostgreSQL and Redis.

Each run starts ``k`` ``weir serve`` processes (tests/cluster.py: SFU in process, no media; rate limits off, so the
app's JoinCall limit of 1000 a minute does not cap the measurement), then ``--clients`` concurrent clients join
calls for ``--duration`` seconds, spread evenly over the processes: each join is ``POST .../join {"create": true}``
by a fresh user into one of ``--calls`` calls (get-or-create, a new call session or participant, the SFU
credentials, and the events it emits over Redis to every process).

Prints ``bench scale coordinators=<k> joins_per_s=<n> p99_ms=<n> server_cpu_ms_per_join=<n>`` for each k. The
last figure reads the processes' CPU time from /proc: on a machine whose cores are shared (the load generator runs
here too), joins/s cannot grow with processes past the free cores, while CPU per join shows the cost of each.

    WEIR_TEST_POSTGRES_URL=$(scripts/postgres.sh) WEIR_TEST_REDIS_URL=$(scripts/redis.sh) \\
      .venv/bin/python bench/scale_coordinators.py --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, for tests/cluster.py

from tests.cluster import Cluster  # noqa: E402
from tests.conftest import free_port, from_setup_script  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its waited-for children (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / TICKS


async def fresh_database(admin_url: str) -> tuple[str, str]:
    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"weir_scale_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}", name


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def load(nodes: Cluster, bases: list[str], clients: int, duration: float, calls: int) -> list[float]:
    """Join latencies (ms) of ``clients`` concurrent loops over ``duration`` seconds, client i on process i % k."""
    latencies: list[float] = []
    end = time.monotonic() + duration

    async def client(index: int) -> None:
        base = bases[index % len(bases)]
        async with httpx.AsyncClient(base_url=base + "/api/v1", params={"api_key": nodes.api_key},
                                     timeout=60) as http:
            n = 0
            while time.monotonic() < end:
                user_id = f"u{index}-{n}"
                call_id = f"scale-{(index * 7919 + n) % calls}"
                started = time.perf_counter()
                response = await http.post(f"/video/call/default/{call_id}/join", json={"create": True},
                                           headers={"Authorization": f"Bearer {nodes.token(user_id)}"})
                response.raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
                n += 1

    await asyncio.gather(*(client(i) for i in range(clients)))
    return latencies


async def run(k: int, args: argparse.Namespace) -> None:
    admin = from_setup_script("WEIR_TEST_POSTGRES_URL", "postgres.sh")
    database_url, name = await fresh_database(admin)
    with tempfile.TemporaryDirectory() as root:
        nodes = Cluster(database_url, from_setup_script("WEIR_TEST_REDIS_URL", "redis.sh"), Path(root),
                        {"WEIR_RATE_LIMITS_ENABLED": "false"})
        try:
            bases = [await asyncio.to_thread(nodes.start, free_port()) for _ in range(k)]
            await load(nodes, bases, args.clients, args.warmup, args.calls)  # imports, caches, connection pools
            before = sum(cpu_seconds(process.pid) for process in nodes.processes)
            latencies = await load(nodes, bases, args.clients, args.duration, args.calls)
            used = sum(cpu_seconds(process.pid) for process in nodes.processes) - before
        finally:
            nodes.stop()
    await drop_database(admin, name)
    joins = len(latencies)
    print(f"bench scale coordinators={k} joins_per_s={joins / args.duration:.0f} "
          f"p99_ms={percentile(latencies, 0.99):.0f} server_cpu_ms_per_join={used * 1000 / joins:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coordinators", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=32, help="concurrent joining clients")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of unmeasured joins first")
    parser.add_argument("--calls", type=int, default=200, help="calls the joins spread over")
    args = parser.parse_args()
    for k in args.coordinators:
        asyncio.run(run(k, args))


if __name__ == "__main__":
    main()
