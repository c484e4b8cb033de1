"""API benchmark: a real ``weir serve`` on SQLite and on PostgreSQL, seeded with calls, under concurrent clients.

Prints one line per operation and backend:
``bench api <backend>.<op> rps=<n> p50_ms=<n> p99_ms=<n> server_cpu_ms_per_req=<n> rps_per_server_cpu_s=<n>``.
The last two read the server process's CPU time from /proc, so they hold on a loaded machine where ``rps``
(which the load generator shares the cores for) does not: ``rps_per_server_cpu_s`` is what one process serves
with a core to itself.

    WEIR_TEST_POSTGRES_URL=$(scripts/postgres.sh) .venv/bin/python bench/api.py
    .venv/bin/python bench/api.py --backends sqlite --duration 5 --profile /tmp/weir-prof

Half of the clients use a server token, half a user token each (the auth path then loads the user). Rate limits
are off. ``--profile DIR`` runs the server under cProfile and prints its hottest functions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from weir.config import Settings
from weir.domain.clock import now
from weir.domain.tokens import create_token
from weir.store.db import Database
from weir.store.tables import CallRow
from weir.store.users import ensure_user

ROOT = Path(__file__).resolve().parent.parent
WEIR = Path(sys.executable).parent / "weir"
CALL_TYPE = "default"
GROUPS = 100  # calls carry custom.group in 0..99, so a QueryCalls filter matches ~1% of them
USERS = 50


@dataclass(frozen=True)
class Server:
    base_url: str
    api_key: str
    api_secret: str
    database_url: str
    pid: int = 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Client:
    """One simulated client: its connection (carrying its token) and its user (None for the server token)."""

    index: int
    user_id: str | None
    connection: Connection


Request = tuple[str, str, dict[str, Any] | None]  # method, path, JSON body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_admin_url() -> str:
    url = os.environ.get("WEIR_TEST_POSTGRES_URL")
    if url:
        return url
    out = subprocess.run([str(ROOT / "scripts" / "postgres.sh")], check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


@contextmanager
def postgres_database() -> Iterator[str]:
    """A database of its own on the cluster scripts/postgres.sh runs, dropped afterwards."""
    admin = postgres_admin_url()
    dsn = admin.replace("postgresql+asyncpg://", "postgresql://")
    name = f"weir_bench_{uuid.uuid4().hex[:10]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def running_server(backend: str, profile_dir: Path | None) -> Iterator[Server]:
    """``weir serve`` in a subprocess on a fresh data folder (and a fresh PostgreSQL database)."""
    with tempfile.TemporaryDirectory(prefix="weir-bench-") as tmp, _database(backend) as database_url:
        port = free_port()
        resolved = Settings(data_dir=Path(tmp), database_url=database_url).resolved_database_url
        server = Server(f"http://127.0.0.1:{port}", "bench-key", "bench-secret-" + uuid.uuid4().hex, resolved)
        env = {**os.environ, "WEIR_API_KEY": server.api_key, "WEIR_API_SECRET": server.api_secret,
               "WEIR_RATE_LIMITS_ENABLED": "false"}
        env.pop("WEIR_DATABASE_URL", None)
        if database_url:
            env["WEIR_DATABASE_URL"] = database_url
        command = [str(WEIR), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", tmp,
                   "--log-level", "warning"]
        profile = profile_dir / f"{backend}.prof" if profile_dir else None
        if profile:
            command = [sys.executable, "-m", "cProfile", "-o", str(profile), *command]
        log = Path(tmp) / "server.log"
        with log.open("w") as log_file:
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
        try:
            _wait_until_healthy(server, process, log)
            yield Server(server.base_url, server.api_key, server.api_secret, server.database_url, process.pid)
        finally:
            process.send_signal(signal.SIGINT)  # a graceful stop, so cProfile writes its file
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if profile:
            _print_profile(profile)


@contextmanager
def _database(backend: str) -> Iterator[str | None]:
    if backend == "postgres":
        with postgres_database() as url:
            yield url
    else:
        yield None


def _wait_until_healthy(server: Server, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weir serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{server.base_url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"weir serve did not become healthy:\n{log.read_text()}")


def _print_profile(path: Path) -> None:
    print(f"--- server profile {path} (top 25 by cumulative time)", file=sys.stderr)
    pstats.Stats(str(path), stream=sys.stderr).sort_stats("cumulative").print_stats(25)


async def seed_calls(server: Server, count: int) -> None:
    """Bulk-insert the calls (and their creators) through weir.store, next to the running server.

    Under a second, where creating them through the API takes tens of seconds; the get_or_create figure
    measures the API's create path anyway.
    """
    db = Database(server.database_url)
    try:
        async with db.transaction() as session:
            for u in range(USERS):
                await ensure_user(session, f"bench-user-{u}")
            stamp = now()
            session.add_all(
                CallRow(cid=f"{CALL_TYPE}:{seed_id(i)}", type=CALL_TYPE, id=seed_id(i),
                        created_by_id=f"bench-user-{i % USERS}", custom={"group": i % GROUPS}, settings_override={},
                        blocked_user_ids=[], created_at=stamp, updated_at=stamp)
                for i in range(count)
            )
    finally:
        await db.close()


class Connection:
    """One keep-alive HTTP/1.1 connection, just enough for uvicorn's JSON responses.

    httpx's shared AsyncClient pool costs several ms of client CPU per request at 50 concurrent requests: on two
    cores the client, not the server, was the bottleneck (218 vs 5500 requests/s for /health).
    """

    def __init__(self, server: Server, headers: dict[str, str]) -> None:
        self.host, port = server.base_url.removeprefix("http://").split(":")
        self.port = int(port)
        self.query = f"api_key={server.api_key}"
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in {"Host": self.host, **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} /api/v1{path}?{self.query} HTTP/1.1\r\n{self.headers}Content-Length: {len(payload)}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        self.writer.write(head.encode() + b"\r\n" + payload)
        response = await self.reader.readuntil(b"\r\n\r\n")
        status = int(response[9:12])
        length = next(int(line.split(b":", 1)[1]) for line in response.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def clients(server: Server, concurrency: int) -> list[Client]:
    """Even clients hold the server token; odd ones a user token each."""
    result = []
    for i in range(concurrency):
        user_id = None if i % 2 == 0 else f"bench-user-{i % USERS}"
        token = create_token(server.api_secret, user_id)
        result.append(Client(i, user_id, Connection(server, {"Authorization": f"Bearer {token}"})))
    return result


def call_body(client: Client, group: int) -> dict[str, Any]:
    data: dict[str, Any] = {"custom": {"group": group}}
    if client.user_id is None:  # server-side creation names the creator
        data["created_by_id"] = f"bench-user-{group % USERS}"
    return {"data": data}


def seed_id(i: int) -> str:
    return f"seed-{i}"


def get_or_create(seeded: int) -> Callable[[Client, random.Random, int], Request]:
    """Half existing calls, half new ones."""

    def make(client: Client, rng: random.Random, n: int) -> Request:
        call_id = seed_id(rng.randrange(seeded)) if n % 2 == 0 else f"new-{client.index}-{n}-{uuid.uuid4().hex[:6]}"
        return "POST", f"/video/call/{CALL_TYPE}/{call_id}", call_body(client, rng.randrange(GROUPS))

    return make


def get_call(seeded: int) -> Callable[[Client, random.Random, int], Request]:
    def make(client: Client, rng: random.Random, n: int) -> Request:
        return "GET", f"/video/call/{CALL_TYPE}/{seed_id(rng.randrange(seeded))}", None

    return make


def query_calls(_seeded: int) -> Callable[[Client, random.Random, int], Request]:
    def make(client: Client, rng: random.Random, n: int) -> Request:
        body = {"filter_conditions": {"custom.group": rng.randrange(GROUPS)},
                "sort": [{"field": "created_at", "direction": -1}], "limit": 25}
        return "POST", "/video/calls", body

    return make


OPERATIONS = {"get_or_create": get_or_create, "get": get_call, "query_calls": query_calls}


@dataclass
class Outcome:
    latencies: list[float]
    errors: dict[str, int]
    elapsed: float
    server_cpu: float

    def line(self, name: str) -> str:
        ordered = sorted(self.latencies)
        rps = len(ordered) / self.elapsed

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")

        cpu_ms = 1000 * self.server_cpu / max(len(ordered), 1)
        return (f"bench api {name} rps={rps:.0f} p50_ms={pct(0.50):.1f} p99_ms={pct(0.99):.1f} "
                f"server_cpu_ms_per_req={cpu_ms:.2f} rps_per_server_cpu_s={1000 / cpu_ms if cpu_ms else 0:.0f}")


async def run_load(
    server: Server, who: list[Client], make: Callable[[Client, random.Random, int], Request], duration: float
) -> Outcome:
    """Every client sends requests back to back until the duration passes."""
    cpu_before = cpu_seconds(server.pid)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    started = time.perf_counter()
    deadline = started + duration

    async def worker(client: Client) -> None:
        rng = random.Random(client.index)
        n = 0
        while time.perf_counter() < deadline:
            method, path, body = make(client, rng, n)
            n += 1
            sent = time.perf_counter()
            status, content = await client.connection.request(method, path, body)
            if status == 200:
                latencies.append(time.perf_counter() - sent)
            else:
                key = f"{method} {path.split('/')[2]} {status} {content[:120].decode(errors='replace')}"
                errors[key] = errors.get(key, 0) + 1

    await asyncio.gather(*(worker(c) for c in who))
    elapsed = time.perf_counter() - started
    return Outcome(latencies, errors, elapsed, cpu_seconds(server.pid) - cpu_before)


async def bench_backend(server: Server, backend: str, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    await seed_calls(server, args.calls)
    print(f"{backend}: seeded {args.calls} calls in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    who = clients(server, args.concurrency)
    try:
        for name in args.ops:
            make = OPERATIONS[name](args.calls)
            await run_load(server, who, make, args.warmup)
            outcome = await run_load(server, who, make, args.duration)
            _report_errors(name, outcome)
            print(outcome.line(f"{backend}.{name}"), flush=True)
    finally:
        for client in who:
            client.connection.close()


def _report_errors(name: str, outcome: Outcome) -> None:
    for key, count in sorted(outcome.errors.items()):
        print(f"  {name}: {count} x {key}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres", type=lambda s: s.split(","))
    parser.add_argument("--ops", default=",".join(OPERATIONS), type=lambda s: s.split(","))
    parser.add_argument("--calls", type=int, default=10_000, help="calls seeded before measuring")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds measured per operation")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load before each")
    parser.add_argument("--profile", type=Path, help="run the server under cProfile, writing DIR/<backend>.prof")
    args = parser.parse_args()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    for backend in args.backends:
        with running_server(backend, args.profile) as server:
            asyncio.run(bench_backend(server, backend, args))


if __name__ == "__main__":
    main()
