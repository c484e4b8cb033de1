"""The Redis engines against a real redis-server: two instances stand for two coordinator processes sharing one
Redis (the bus carries envelopes in order between them, the rate limits count once, presence adds up); and
`weir serve --workers N` refusing what N processes can't share."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from typer.testing import CliRunner

from tests.conftest import free_port, from_setup_script
from weir.bus import Envelope
from weir.bus.redis import RedisBus
from weir.cli.main import app
from weir.cli.serve_cluster import cluster_problem
from weir.config import Settings
from weir.coordinator.ratelimit import InMemoryRateLimiter, RateLimitState
from weir.coordinator.ratelimit_redis import RedisRateLimiter
from weir.coordinator.realtime.hub import Hub
from weir.coordinator.realtime.presence import RedisPresence

START = 1_700_000_040.0  # the first second of a minute window


def redis_url() -> str:
    return from_setup_script("WEIR_TEST_REDIS_URL", "redis.sh")


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url())
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"weir-test-{uuid.uuid4().hex[:10]}"  # one Redis, many test runs in parallel


async def test_events_reach_the_other_process_in_order(redis: Redis, prefix: str) -> None:
    here, there = RedisBus(redis, prefix), RedisBus(redis, prefix)
    subscription = there.subscribe()
    await subscription.ready()
    sent = [Envelope({"type": "custom", "n": i, "big": 2**70 if i == 3 else i}, "default:c1",
                     frozenset({"alice", "bob"}), watchers=i % 2 == 0, close_sockets=i == 7) for i in range(300)]
    for envelope in sent:
        await here.publish(envelope)
    received = []
    async with asyncio.timeout(10):
        async for envelope in subscription:
            received.append(envelope)
            if len(received) == len(sent):
                break
    await subscription.close()
    await here.close()
    assert received == sent


async def test_rate_limits_count_once_across_processes(redis: Redis, prefix: str) -> None:
    """Two limiters on one Redis answer what one in-memory limiter answers for the same requests, 429s included."""
    now = START

    def clock() -> float:
        return now

    shared = [RedisRateLimiter(redis, prefix, clock), RedisRateLimiter(redis, prefix, clock)]
    alone = InMemoryRateLimiter(clock)
    got: list[RateLimitState] = []
    expected: list[RateLimitState] = []
    for i in range(70):  # DeleteCall: 60 a minute for the app, 30 and 1 a second for a user
        now = START + i * 0.5
        client = "alice" if i % 3 else None
        got.append(await shared[i % 2].hit("DeleteCall", "server", client))
        expected.append(await alone.hit("DeleteCall", "server", client))
    assert got == expected
    assert any(state.exceeded for state in got)
    assert await shared[0].peek("DeleteCall", "server") == await alone.peek("DeleteCall", "server")


async def test_presence_adds_up_and_forgets_a_dead_process(redis: Redis, prefix: str) -> None:
    hub_a, hub_b = Hub(), Hub()
    a, b = RedisPresence(redis, prefix, hub_a, ttl=1.0), RedisPresence(redis, prefix, hub_b, ttl=1.0)
    await a.start()
    await b.start()
    opened = []
    for hub, presence in ((hub_a, a), (hub_a, a), (hub_b, b)):
        opened.append(hub.add("alice"))
        await presence.opened("alice")
    assert await a.connections("alice") == await b.connections("alice") == 3
    await redis.delete(f"{prefix}:presence:{a.process}")  # Redis lost it (restarted without persistence)
    await a._renew()  # the next renewal writes it again from the hub
    assert await b.connections("alice") == 3
    hub_a.remove(opened[0])
    await a.closed("alice")
    assert await b.connections("alice") == 2
    hub_b.remove(opened[2])
    await b.closed("alice")
    assert await a.connections("alice") == 1
    await b.stop()
    assert a._task is not None
    a._task.cancel()  # a killed process: nobody renews its hash
    await asyncio.sleep(1.5)
    assert await b.connections("alice") == 0
    assert await b.connections("nobody") == 0


def test_serve_refuses_several_processes_without_shared_engines(tmp_path: Path) -> None:
    env = {"WEIR_SFU_WORKERS": "0", "WEIR_REDIS_URL": "", "WEIR_DATABASE_URL": ""}
    result = CliRunner().invoke(app, ["serve", "--data-dir", str(tmp_path), "--port", str(free_port()),
                                      "--workers", "2"], env=env)
    assert result.exit_code == 1, result.output
    for needed in ("WEIR_REDIS_URL", "PostgreSQL", "WEIR_SFU_WORKERS > 0"):
        assert needed in result.stderr
    settings = Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0", sfu_workers=1,
                        database_url="postgresql+asyncpg://weir@127.0.0.1/weir")
    assert cluster_problem(settings, 2) is None
    assert cluster_problem(Settings(data_dir=tmp_path), 1) is None, "one process needs neither"


async def test_the_bus_comes_back_after_redis_restarts(tmp_path: Path) -> None:
    """A private redis-server, stopped and started again on its port: the subscription and the writer reconnect."""
    port = free_port()
    args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
            "--dir", str(tmp_path)]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    client = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        await wait_for_redis(client)
        bus = RedisBus(client, "weir")
        subscription = bus.subscribe()
        await subscription.ready()
        received: asyncio.Queue[Envelope] = asyncio.Queue()

        async def read() -> None:
            async for envelope in subscription:
                received.put_nowait(envelope)

        reader = asyncio.create_task(read())
        await bus.publish(Envelope({"type": "custom", "n": 1}))
        assert (await asyncio.wait_for(received.get(), 10)).event["n"] == 1
        server.terminate()
        server.wait(10)
        server = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        await wait_for_redis(client)
        async with asyncio.timeout(30):  # published until the subscription is back (earlier ones are lost)
            while received.empty():
                await bus.publish(Envelope({"type": "custom", "n": 2}))
                await asyncio.sleep(0.2)
        assert received.get_nowait().event["n"] == 2
        await subscription.close()
        reader.cancel()
        await bus.close()
    finally:
        await client.aclose()
        server.terminate()
        server.wait(10)


async def wait_for_redis(client: Redis) -> None:
    async with asyncio.timeout(20):
        while True:
            try:
                await client.ping()
                return
            except (RedisError, OSError):
                await asyncio.sleep(0.05)
