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


async def test_a_dead_processs_sessions_are_handed_out_once_and_commands_reach_their_holder(redis: Redis) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    holder, b, c = (shared(redis, prefix) for _ in range(3))
    worker = live(holder, 0)
    assert holder.shared is not None and b.shared is not None and c.shared is not None
    await holder.shared.publish([holder._record(worker)])
    for n in range(6):
        await holder.admitted(worker, f"default:{n % 2}", f"s{n}")
    await holder.left(worker, "default:1", "s5")
    assert holder.receives("default:1", worker) and not holder.receives("default:9", worker)  # held, not placed
    assert [s async for s in b.shared.orphans()] == []  # the holder lives

    async def take(registry: WorkerRegistry) -> list[tuple[str, str]]:
        assert registry.shared is not None
        return [s async for s in registry.shared.orphans()]

    await redis.delete(f"{prefix}:sfu:holder:{holder.shared.process}")  # as when its record expires
    taken = await asyncio.gather(take(b), take(c), take(b))
    assert sorted(s for each in taken for s in each) == [("default:0", "s0"), ("default:0", "s2"),
                                                          ("default:0", "s4"), ("default:1", "s1"),
                                                          ("default:1", "s3")]  # each once, by one process
    assert [len(each) > 0 for each in taken].count(True) == 1 and await take(c) == []

    async def obey() -> None:
        assert b.shared is not None
        async for command in b.shared.commands():
            await b.shared.answer(command, {"echo": command["n"]})

    obeying = asyncio.create_task(obey())
    try:
        for _ in range(100):  # until b listens
            answer = await c.shared.command(b.shared.process, {"n": 7}, 5)
            if answer is not None:
                break
            await asyncio.sleep(0.02)
        assert answer == {"echo": 7}
        assert await c.shared.command("nobody", {"n": 1}, 5) is None
    finally:
        obeying.cancel()
        await asyncio.gather(obeying, return_exceptions=True)
