"""Shared fixtures: a real ``weir`` coordinator on loopback, once on SQLite and once on PostgreSQL.

Every API test that takes ``server`` (or ``api``/``user_api``) runs against both databases.
"""

from __future__ import annotations

import ast
import logging
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.tracebacks import COLLECTOR, expect_tracebacks  # noqa: F401 (a fixture)
from weir.config import Settings
from weir.coordinator.app import create_app
from weir.domain.tokens import create_token
from weir.serving import uvicorn_config

ROOT = Path(__file__).resolve().parent.parent
# Servers built here run the SFU in their own process (WEIR_SFU_WORKERS=0); tests/sfu/test_workers.py asks for
# worker processes explicitly. Set before any Settings is made, and inherited by `weir serve` subprocesses.
os.environ["WEIR_SFU_WORKERS"] = "0"
os.environ["WEIR_EGRESS_WORKERS"] = "0"  # recording tests start their own server with a worker
os.environ["WEIR_INGRESS_RTMP_PORT"] = "0"  # ingress tests start their own server with the RTMP listener
os.environ["WEIR_INGRESS_SRT_PORT"] = "0"  # and the SRT one
os.environ["WEIR_AI_WORKERS"] = "0"  # so do the transcription tests

_parse = ast.parse


def _parse_again_on_a_spurious_error(*args: Any, **kwargs: Any) -> Any:
    """CPython 3.11's AST constructor keeps its recursion depth in shared state, so a parse racing another
    thread's (a traceback's carets, formatted in a server thread) can fail with "AST constructor recursion depth
    mismatch" (cpython#106905). pytest parses to show a failing test's source, and the SystemError then takes
    the whole xdist worker down: parse again, as the state is good once the other thread is done."""
    for _ in range(3):
        try:
            return _parse(*args, **kwargs)
        except SystemError:
            time.sleep(0.01)
    return _parse(*args, **kwargs)


ast.parse = _parse_again_on_a_spurious_error


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def from_setup_script(variable: str, script: str) -> str:
    """``$variable`` (the Makefile's test target exports it), else the last line ``scripts/<script>`` prints (it
    installs what is missing), kept in the environment for the rest of the run."""
    value = os.environ.get(variable)
    if not value:
        out = subprocess.run([str(ROOT / "scripts" / script)], check=True, capture_output=True, text=True)
        value = os.environ[variable] = out.stdout.strip().splitlines()[-1]
    return value


def postgres_admin_url() -> str:
    return from_setup_script("WEIR_TEST_POSTGRES_URL", "postgres.sh")


def fresh_postgres_database() -> tuple[str, Callable[[], None]]:
    """A database of its own for this test session, dropped afterwards."""
    import asyncio

    import asyncpg

    admin = postgres_admin_url()
    name = f"weir_t_{uuid.uuid4().hex[:10]}"
    dsn = admin.replace("postgresql+asyncpg://", "postgresql://")

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    return url, lambda: asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class RunningServer:
    base_url: str
    api_key: str
    api_secret: str
    data_dir: Path
    backend: str
    database_url: str = ""
    app: Any = None  # the server's ASGI app, for tests that look inside it (the SFU workers' registry)

    def token(self, user_id: str | None = None, **kwargs: object) -> str:
        return create_token(self.api_secret, user_id, **kwargs)  # type: ignore[arg-type]


def start_server(settings: Settings) -> tuple[uvicorn.Server, threading.Thread]:
    app = create_app(settings)
    config = uvicorn_config(app, host=settings.host, port=settings.port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("weir server did not start")
        time.sleep(0.02)
    return server, thread


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp(f"weir-{request.param}")
    def drop() -> None:
        pass

    database_url = None
    if request.param == "postgres":
        database_url, drop = fresh_postgres_database()
    settings = Settings(
        host="127.0.0.1", port=free_port(), data_dir=data_dir, database_url=database_url,
        api_key="test-key", api_secret="test-secret-" + uuid.uuid4().hex, rate_limits_enabled=False,
        allow_private_destinations=True,  # webhook and push tests deliver to receivers on loopback
    )
    uv, thread = start_server(settings)
    try:
        yield RunningServer(f"http://127.0.0.1:{settings.port}", "test-key", settings.api_secret or "",
                            data_dir, request.param, settings.resolved_database_url)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        drop()


def _client(server: RunningServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url + "/api/v1",
        params={"api_key": server.api_key},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx.Client]:
    """An HTTP client with a server token."""
    with _client(server, server.token()) as client:
        yield client


@pytest.fixture
def user_api(server: RunningServer) -> Iterator[Callable[..., httpx.Client]]:
    """``user_api("alice", role=..., call_cids=...)``: an HTTP client with that user's token."""
    clients: list[httpx.Client] = []

    def make(user_id: str, **claims: object) -> httpx.Client:
        client = _client(server, server.token(user_id, **claims))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def uid() -> Callable[[str], str]:
    """Unique ids, so tests sharing one server never collide."""
    return lambda prefix="id": f"{prefix}-{uuid.uuid4().hex[:8]}"


def assert_error(response: httpx.Response, status: int, code: int | None = None) -> dict:
    """The documented error shape, with the expected status (and code)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"code", "message", "status_code", "duration", "more_info"}, body
    assert body["status_code"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger().addHandler(COLLECTOR)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[object]:
    """Names the test the collector's tracebacks come from, and puts the root logger back as it was: a test that
    runs `weir serve` in process (CliRunner) configures logging onto a captured stream that is closed afterwards,
    which dropped the collector and made every later INFO line of the worker a logging error."""
    COLLECTOR.test = item.nodeid
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        return (yield)
    finally:
        COLLECTOR.test = "(between tests)"
        root.handlers[:] = handlers
        root.setLevel(level)


# Under `--dist loadfile` (make test) a test file runs on one worker, as its module-scoped servers and calls need;
# these files share only the session's servers, and are long enough to be the run's tail on one worker.
SPREAD_FILES = {"tests/test_fuzz_api.py"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``loadfile``, except that SPREAD_FILES' tests are handed out one by one."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SpreadingFileScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = super()._split_scope(nodeid)
            return nodeid if file in SPREAD_FILES else file

    return SpreadingFileScheduling(config, log)


REPORTED_LINES = 40  # of the first unexpected traceback, printed with the summary (CI shows the output, no files)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """Under pytest-xdist each worker collects its own tracebacks: the controller gathers them for the report."""
    COLLECTOR.unexpected.extend(node.workeroutput.get("unexpected_tracebacks", []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand them to the controller
        workeroutput["unexpected_tracebacks"] = COLLECTOR.unexpected
        return
    if COLLECTOR.unexpected:
        report = Path(".pytest_cache") / "unexpected-tracebacks.log"
        report.parent.mkdir(exist_ok=True)
        report.write_text("\n".join(COLLECTOR.unexpected))
        print(f"\n{len(COLLECTOR.unexpected)} unexpected traceback(s) in server logs; all in {report}; the first:")
        first, *trace = COLLECTOR.unexpected[0].splitlines()
        print("\n".join([first, *trace[-REPORTED_LINES:]]))
