"""Scale-out of the coordinator: joins per second with 1 and 2 coordinator processes on one PostgreSQL and Redis.

Each run starts ``k`` ``weir serve`` processes (tests/cluster.py: SFU in process, no media; rate limits off, so the
app's JoinCall limit of 1000 a minute does not cap the measurement), then wrk (bench/join_client.lua: C, with
tokens made beforehand, so the load generator takes little of the cores it shares) keeps ``--clients``
connections joining for ``--duration`` seconds, spread evenly over the processes: each join is
``POST .../join {"create": true}`` by a fresh user into one of ``--calls`` calls (the user's first request, so it
is created; get-or-create, a new call session or participant, the SFU credentials, and the events it emits over
Redis to every process).

Prints ``bench scale coordinators=<k> joins_per_s=<n> p99_ms=<n>`` for each k, then where the CPU went, in
milliseconds per join, from /proc: the coordinator processes (``server_cpu_ms_per_join``), wrk
(``client_cpu_ms_per_join``), PostgreSQL's processes and Redis, the rest of the machine (other work on it:
``other_cpu_ms_per_join``), and the cores left idle. On a machine whose cores everything here shares, joins/s
grow with processes only as far as the cores the others leave free.

    WEIR_TEST_POSTGRES_URL=$(scripts/postgres.sh) WEIR_TEST_REDIS_URL=$(scripts/redis.sh) \\
      WEIR_LOAD_TOOLS=$(scripts/load-tools.sh) .venv/bin/python bench/scale_coordinators.py --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import astuple, dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, for tests/cluster.py

from tests.cluster import Cluster  # noqa: E402
from tests.conftest import free_port, from_setup_script  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
CLIENT = Path(__file__).with_name("join_client.lua")
WRK_THREADS = 2  # thread i sends to process i % k


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its waited-for children (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / TICKS


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def tree_cpu_seconds(root: int) -> float:
    """A process's CPU time and its live children's: PostgreSQL's postmaster and its backends (an exited child's
    time is in the postmaster's waited-for figure, so the sum only grows)."""
    total = cpu_seconds(root)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if parent_of(int(entry.name)) == root:
                    total += cpu_seconds(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):  # exited meanwhile
                continue
    return total


def machine_seconds() -> tuple[float, float]:
    """The machine's busy and idle CPU seconds since boot, over all cores (/proc/stat)."""
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICKS, (idle + iowait) / TICKS


@dataclass(frozen=True)
class Engines:
    """The pids whose CPU the bench reads besides the coordinators'."""

    postmaster: int
    redis: int

    @classmethod
    async def find(cls, database_url: str, redis_url: str) -> Engines:
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            postmaster = parent_of(await conn.fetchval("SELECT pg_backend_pid()"))
        finally:
            await conn.close()
        with redis.Redis.from_url(redis_url) as client:
            redis_pid = int(client.info("server")["process_id"])
        return cls(postmaster, redis_pid)


@dataclass(frozen=True)
class Sample:
    server: float
    postgres: float
    redis: float
    machine_busy: float
    machine_idle: float

    @classmethod
    def take(cls, servers: list[int], engines: Engines) -> Sample:
        busy, idle = machine_seconds()
        return cls(sum(cpu_seconds(pid) for pid in servers), tree_cpu_seconds(engines.postmaster),
                   cpu_seconds(engines.redis), busy, idle)

    def __sub__(self, earlier: Sample) -> Sample:
        return Sample(*(now - then for now, then in zip(astuple(self), astuple(earlier), strict=True)))


def make_tokens(nodes: Cluster, folder: Path, name: str, per_thread: int) -> str:
    """``per_thread`` tokens of fresh users for each wrk thread, in files ``<prefix><thread>``; the prefix."""
    prefix = folder / f"{name}-"
    for thread in range(WRK_THREADS):
        lines = (nodes.token(f"{name}-{thread}-{n}") for n in range(per_thread))
        Path(f"{prefix}{thread}").write_text("\n".join(lines) + "\n")
    return str(prefix)


def wrk(tool: str, nodes: Cluster, ports: list[int], tokens: str, args: argparse.Namespace,
        seconds: float) -> tuple[dict[str, float], float]:
    """wrk's counts (requests, errors, exhausted, p50_ms, p99_ms) and its CPU seconds."""
    env = {**os.environ, "WEIR_JOIN_PORTS": ",".join(map(str, ports)), "WEIR_JOIN_TOKENS": tokens,
           "WEIR_JOIN_API_KEY": nodes.api_key, "WEIR_JOIN_CALLS": str(args.calls)}
    argv = [tool, "-t", str(WRK_THREADS), "-c", str(args.clients), "-d", f"{seconds:.0f}s", "--timeout", "30s",
            "-s", str(CLIENT), f"http://127.0.0.1:{ports[0]}/"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True, timeout=seconds + 90).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = next(line for line in out.splitlines() if line.startswith("WRK "))
    counts = {key: float(value) for key, value in re.findall(r"(\w+)=([\d.]+)", summary)}
    if counts["errors"] or counts["exhausted"]:
        raise SystemExit(f"wrk: {summary} (errors, or more joins than --max-rate made tokens for)")
    return counts, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


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


async def run(k: int, tool: str, args: argparse.Namespace) -> None:
    admin = from_setup_script("WEIR_TEST_POSTGRES_URL", "postgres.sh")
    redis_url = from_setup_script("WEIR_TEST_REDIS_URL", "redis.sh")
    database_url, name = await fresh_database(admin)
    engines = await Engines.find(database_url, redis_url)
    with tempfile.TemporaryDirectory() as root:
        nodes = Cluster(database_url, redis_url, Path(root), {"WEIR_RATE_LIMITS_ENABLED": "false"})
        try:
            ports = [free_port() for _ in range(k)]
            for port in ports:
                await asyncio.to_thread(nodes.start, port)
            servers = [process.pid for process in nodes.processes]
            per_second = int(args.max_rate / WRK_THREADS) + 1
            warm = make_tokens(nodes, Path(root), "warm", per_second * int(args.warmup + 1))
            measured = make_tokens(nodes, Path(root), "join", per_second * int(args.duration + 1))
            wrk(tool, nodes, ports, warm, args, args.warmup)  # imports, caches, connection pools
            before = Sample.take(servers, engines)
            counts, client = wrk(tool, nodes, ports, measured, args, args.duration)
            spent = Sample.take(servers, engines) - before
        finally:
            nodes.stop()
    await drop_database(admin, name)
    joins = counts["requests"]
    wall = (spent.machine_busy + spent.machine_idle) / (os.cpu_count() or 1)
    other = spent.machine_busy - spent.server - client - spent.postgres - spent.redis

    def per_join(seconds: float) -> str:
        return f"{seconds * 1000 / joins:.2f}"

    print(f"bench scale coordinators={k} joins_per_s={joins / args.duration:.0f} p99_ms={counts['p99_ms']:.0f} "
          f"server_cpu_ms_per_join={per_join(spent.server)} client_cpu_ms_per_join={per_join(client)} "
          f"postgres_cpu_ms_per_join={per_join(spent.postgres)} redis_cpu_ms_per_join={per_join(spent.redis)} "
          f"other_cpu_ms_per_join={per_join(other)} "
          f"idle_cores={spent.machine_idle / wall:.2f} load1={os.getloadavg()[0]:.1f}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coordinators", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=32, help="concurrent joining connections")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of unmeasured joins first")
    parser.add_argument("--calls", type=int, default=200, help="calls the joins spread over")
    parser.add_argument("--max-rate", type=float, default=600.0,
                        help="joins/s the fresh users' tokens are made for (a faster run is refused)")
    args = parser.parse_args()
    tool = shutil.which("wrk", path=os.environ.get("WEIR_LOAD_TOOLS", "/usr/bin"))
    if tool is None:
        raise SystemExit("wrk: scripts/load-tools.sh installs it")
    for k in args.coordinators:
        asyncio.run(run(k, tool, args))


if __name__ == "__main__":
    main()
