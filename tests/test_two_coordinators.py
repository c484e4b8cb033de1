"""Two coordinator processes (two `weir serve` on their own ports) sharing one PostgreSQL database and one Redis:
events caused on one reach sockets on the other, rate limits count once, presence is right on both, and a killed
process's webhooks and timers are taken over."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import connect

from tests.cluster import Cluster
from tests.conftest import free_port, fresh_postgres_database, from_setup_script
from tests.realtime import EventClient

RECEIVER_DELAY_S = 0.2  # each webhook takes this long to answer: the killed process dies with some in flight


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, str, str]]:
    database_url, drop = fresh_postgres_database()
    env = {"WEIR_WS_MAX_CONNECTIONS_PER_USER": "2", "WEIR_ALLOW_PRIVATE_DESTINATIONS": "true",
           "WEIR_WEBHOOK_REQUEST_TIMEOUT_SECONDS": "2", "WEIR_WEBHOOK_TOTAL_TIMEOUT_SECONDS": "5"}
    nodes = Cluster(database_url, from_setup_script("WEIR_TEST_REDIS_URL", "redis.sh"),
                    tmp_path_factory.mktemp("cluster"), env)
    try:
        a = nodes.start(free_port())  # first alone: it migrates the new database
        b = nodes.start(free_port())
        yield nodes, a, b
    finally:
        nodes.stop()
        drop()


def http(nodes: Cluster, base_url: str, user_id: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=base_url + "/api/v1", params={"api_key": nodes.api_key}, timeout=30,
                        headers={"Authorization": f"Bearer {nodes.token(user_id)}"})


async def socket(nodes: Cluster, base_url: str, user_id: str) -> EventClient:
    ws = await connect(base_url.replace("http://", "ws://") + f"/api/v1/connect?api_key={nodes.api_key}")
    await ws.send(json.dumps({"token": nodes.token(user_id), "user_details": {"id": user_id}}))
    hello = json.loads(await ws.recv())
    assert hello["type"] == "connection.ok", hello
    return EventClient(ws, hello)


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_events_caused_on_one_process_reach_sockets_on_the_other(cluster: tuple[Cluster, str, str]) -> None:
    nodes, a, b = cluster
    caller, callee = uid("caller"), uid("callee")
    on_a = await socket(nodes, a, callee)
    path = f"/video/call/default/{uid('c')}"
    with http(nodes, b, caller) as caller_on_b:
        caller_on_b.post(path, json={"ring": True, "data": {"members": [{"user_id": caller},
                                                                        {"user_id": callee}]}}).raise_for_status()
        ring = await on_a.wait_for("call.ring")
        assert ring["user"]["id"] == caller
        caller_on_b.post(f"{path}/event", json={"custom": {"n": 1}}).raise_for_status()
        assert (await on_a.wait_for("custom"))["custom"] == {"n": 1}
        caller_on_b.patch(path, json={"custom": {"topic": "scale"}}).raise_for_status()
        assert (await on_a.wait_for("call.updated"))["call"]["custom"] == {"topic": "scale"}
    await on_a.close()


def test_rate_limits_are_counted_once_for_both(cluster: tuple[Cluster, str, str]) -> None:
    nodes, a, b = cluster
    user_id = uid("limited")
    path = f"/video/call/default/{uid('r')}"
    for _ in range(3):  # a window may end between two requests: then try again in the next one
        with http(nodes, a, user_id) as on_a, http(nodes, b, user_id) as on_b:
            answers = [client.post(path) for client in (on_a, on_b, on_a, on_b)]
        assert all(answer.status_code == 201 or answer.status_code == 200 for answer in answers), answers[0].text
        resets = {answer.headers["X-RateLimit-Reset"] for answer in answers}
        if len(resets) == 1:
            break
    remaining = [int(answer.headers["X-RateLimit-Remaining"]) for answer in answers]
    assert remaining == [remaining[0] - i for i in range(4)], remaining


async def test_presence_is_right_on_both(cluster: tuple[Cluster, str, str]) -> None:
    nodes, a, b = cluster
    user_id = uid("present")

    def online(base_url: str) -> bool:
        with http(nodes, base_url) as api:
            response = api.post(f"/video/call/default/{uid('p')}", json={"data": {"created_by_id": user_id}})
            return bool(response.json()["call"]["created_by"]["online"])

    first, second = await socket(nodes, a, user_id), await socket(nodes, b, user_id)
    assert online(a) and online(b)
    with pytest.raises(AssertionError, match="connection.error"):  # 2 sockets a user, counted on both processes
        await socket(nodes, a, user_id)
    await first.close()
    await second.ws.send(json.dumps({"type": "health.check"}))
    await second.wait_for("health.check")
    assert online(a) and online(b), "still online with the socket on B"
    await second.close()
    for _ in range(100):
        if not online(a) and not online(b):
            break
        await asyncio.sleep(0.05)
    assert not online(a) and not online(b)


class SlowReceiver:
    """A webhook endpoint that answers 200 after ``RECEIVER_DELAY_S``; counts deliveries per webhook id."""

    def __init__(self) -> None:
        self.answered: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(RECEIVER_DELAY_S)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                hook_id = self.headers["x-webhook-id"]
                receiver.answered[hook_id] = receiver.answered.get(hook_id, 0) + 1

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


async def deliveries(database_url: str, call_cid: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT id, status FROM webhook_deliveries WHERE body LIKE $1",
                                f'%"call_cid":"{call_cid}"%')
    finally:
        await conn.close()
    return [(row["id"], row["status"]) for row in rows]


async def test_killing_a_process_loses_no_webhook_or_timer(cluster: tuple[Cluster, str, str]) -> None:
    nodes, _a, b = cluster
    receiver = SlowReceiver()
    call_type = uid("ring5s").replace("-", "_")
    with http(nodes, b) as api:
        api.post("/video/calltypes", json={"name": call_type, "settings": {"ring": {
            "auto_cancel_timeout_ms": 5000, "incoming_call_timeout_ms": 0, "missed_call_timeout_ms": 0}}}
                 ).raise_for_status()
        api.patch("/app", json={"event_hooks": [{"webhook_url": receiver.url}]}).raise_for_status()
    doomed_url = nodes.start(free_port())
    doomed = nodes.processes[-1]
    caller, callee = uid("caller"), uid("callee")
    caller_on_b = await socket(nodes, b, caller)
    call_id = uid("k")
    try:
        with http(nodes, doomed_url, caller) as on_doomed:
            on_doomed.post(f"/video/call/{call_type}/{call_id}", json={"ring": True, "data": {"members": [
                {"user_id": caller}, {"user_id": callee}]}}).raise_for_status()
            for n in range(5):
                on_doomed.post(f"/video/call/{call_type}/{call_id}/event", json={"custom": {"n": n}}
                               ).raise_for_status()
        nodes.kill(doomed)  # the ring's auto-cancel timer and the webhooks it had claimed die with it
        rejected = await caller_on_b.wait_for("call.rejected", timeout=30)
        assert rejected["reason"] == "timeout", "B ran the killed process's timer"
        call_cid = f"{call_type}:{call_id}"
        deadline = time.monotonic() + 60
        while True:
            rows = await deliveries(nodes.database_url, call_cid)
            if rows and all(status == "delivered" for _, status in rows) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert len(rows) >= 8 and all(status == "delivered" for _, status in rows), rows
        assert all(receiver.answered.get(hook_id, 0) >= 1 for hook_id, _ in rows)
    finally:
        await caller_on_b.close()
        with http(nodes, b) as api:
            api.patch("/app", json={"event_hooks": []})
        receiver.server.shutdown()


async def test_serve_workers_runs_processes_on_one_port(cluster: tuple[Cluster, str, str]) -> None:
    """`weir serve --workers 2`: sockets on the one port land on both processes, and an event reaches them all."""
    nodes, _a, _b = cluster
    prefix = f"weir-workers-{uuid.uuid4().hex[:8]}"
    base = nodes.start(free_port(), workers=2, WEIR_SFU_WORKERS="1", WEIR_REDIS_PREFIX=prefix)
    users: list[str] = []
    sockets: list[EventClient] = []
    redis = Redis.from_url(nodes.redis_url, decode_responses=True)
    try:
        deadline = time.monotonic() + 60  # the second process may come up later than the port answers
        while len(await redis.zrange(f"{prefix}:processes", 0, -1)) < 2:
            assert time.monotonic() < deadline, "the second coordinator process never registered"
            await asyncio.sleep(0.2)
        for _ in range(6):  # whichever process accepts first gets a socket: open them at once until both have some
            batch = [uid("w") for _ in range(6)]
            sockets += await asyncio.gather(*(socket(nodes, base, user_id) for user_id in batch))
            users += batch
            processes = await redis.zrange(f"{prefix}:processes", 0, -1)
            counts = [await redis.hlen(f"{prefix}:presence:{process!s}") for process in processes]
            assert len(processes) == 2 and sum(counts) == len(users), counts
            if all(counts):
                break
        assert all(counts), f"every socket on one process: {counts}"
        with http(nodes, base, users[0]) as api:
            path = f"/video/call/default/{uid('w')}"
            api.post(path, json={"data": {"members": [{"user_id": u} for u in users]}}).raise_for_status()
            api.post(f"{path}/event", json={"custom": {"to": "all"}}).raise_for_status()
        for client in sockets:
            assert (await client.wait_for("custom"))["custom"] == {"to": "all"}
        joined = []  # each on a new connection, so on either process: process 1 places on process 0's SFU worker
        for user_id in users[:6]:
            with http(nodes, base, user_id) as api:
                joined.append(api.post(f"/video/call/default/{prefix}/join", json={"create": True}))
        assert all(response.status_code in (200, 201) for response in joined), [r.text for r in joined]
        assert len({response.json()["credentials"]["server"]["url"] for response in joined}) == 1
    finally:
        await redis.aclose()
        for client in sockets:
            await client.close()
