"""``RedisRateLimiter``: the coordinator's rate limits with their counters in Redis, so that every coordinator
process counts against the same limits (and answers the same ``X-RateLimit-*`` headers)."""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis

from weir.coordinator.ratelimit import Counted, WindowKey, WindowRateLimiter


class RedisRateLimiter(WindowRateLimiter):
    """One Redis key per counter and window (``<prefix>:rl:<counter>:<window start>``): INCR, expiring once the
    window is over. Each ``_hit`` is one pipelined round trip."""

    def __init__(self, redis: Redis, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock

    def _key(self, key: WindowKey) -> tuple[str, int]:
        counter, window = key
        start = int(self._clock() // window) * window
        return f"{self._prefix}:rl:{'|'.join(counter)}:{window}:{start}", start + window

    async def _hit(self, keys: list[WindowKey]) -> list[Counted]:
        named = [self._key(key) for key in keys]
        async with self._redis.pipeline(transaction=False) as pipe:
            for (name, _), (_, window) in zip(named, keys, strict=True):
                pipe.incr(name)
                pipe.expire(name, window + 1)
            replies = await pipe.execute()
        return [(int(replies[2 * i]), reset) for i, (_, reset) in enumerate(named)]

    async def _count(self, key: WindowKey) -> Counted:
        name, reset = self._key(key)
        used = await self._redis.get(name)
        return int(used or 0), reset
