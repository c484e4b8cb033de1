"""The SFU registry shared through Redis (the real redis-server): two coordinator processes' registries, each holding
one worker's channel, see both workers and place a call once, however their joins race."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.conftest import from_setup_script
from tests.sfu.test_worker_placement import live
from weir.coordinator.sfu.registry import GRACE_SECONDS, WorkerRegistry
from weir.coordinator.sfu.shared_registry import SharedWorkers


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(from_setup_script("WEIR_TEST_REDIS_URL", "redis.sh"))
    yield client
    await client.aclose()


def shared(redis: Redis, prefix: str) -> WorkerRegistry:
    return WorkerRegistry(SharedWorkers(redis, prefix, GRACE_SECONDS))


async def test_racing_joins_on_two_processes_place_a_call_on_one_worker(redis: Redis) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    a, b = shared(redis, prefix), shared(redis, prefix)
    on_a, on_b = live(a, 0), live(b, 1)
    for registry in (a, b):
        assert registry.shared is not None
        await registry.shared.publish([registry._record(worker) for worker in registry.live.values()])
    calls = [f"default:{n}" for n in range(20)]
    placed = await asyncio.gather(*(registry.place(cid, 1) for cid in calls for registry in (a, b, a, b)))
    by_call = {cid: {worker.url for worker in placed[4 * n:4 * n + 4]} for n, cid in enumerate(calls)}
    assert all(len(urls) == 1 for urls in by_call.values()), by_call  # one worker per call, whoever answered
    assert {urls.pop() for urls in by_call.values()} == {on_a.url, on_b.url}  # both workers are used
    owned_by_a = next(cid for cid, worker in zip(calls, placed[::4], strict=True) if worker.url == on_a.url)
    assert await a.claim(owned_by_a, on_a) and not await b.claim(owned_by_a, on_b)  # admit's check, across processes
    assert await b.claim("default:fresh", on_b) and (await a.place("default:fresh", 1)).url == on_b.url
    b.drain(on_b)  # seen by a: b's calls are placed anew, on a's worker
    await asyncio.gather(*b._tasks)
    assert (await a.place("default:fresh", 1)) is on_a and not await b.claim("default:other", on_b)
    a.detach(on_a)  # a's channel closed: the worker is withdrawn at once
    await asyncio.gather(*a._tasks)
    assert a.shared is not None and [worker.url for worker in await a.shared.workers()] == [on_b.url]
