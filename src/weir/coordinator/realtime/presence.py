"""Presence: how many coordinator WebSockets a user has open, across every coordinator process.

``LocalPresence`` counts this process's hub (one process). ``RedisPresence`` keeps each process's counts in a
Redis hash of its own, which expires unless the process renews it: a killed process's sockets stop counting
within ``TTL_SECONDS`` instead of keeping its users online for ever. Each renewal writes the hash afresh from the
process's hub, so it heals after Redis lost it (a restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.typing import EncodableT

from weir.coordinator.realtime.hub import Hub

log = logging.getLogger(__name__)

TTL_SECONDS = 15
RENEW_SECONDS = 5


class Presence(Protocol):
    async def opened(self, user_id: str) -> None:
        """A socket of the user opened on this process (after ``Hub.add``)."""
        ...

    async def closed(self, user_id: str) -> None:
        """A socket of the user closed on this process (after ``Hub.remove``)."""
        ...

    async def connections(self, user_id: str) -> int:
        """The user's open sockets on every process."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LocalPresence:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def opened(self, user_id: str) -> None:
        """The hub holds the count."""

    async def closed(self, user_id: str) -> None:
        """The hub holds the count."""

    async def connections(self, user_id: str) -> int:
        return len(self.hub.by_user.get(user_id, ()))

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""


class RedisPresence:
    """``<prefix>:presence:<process>``: user id → open sockets on that process; ``<prefix>:processes``: the live
    processes, scored by when their hash runs out."""

    def __init__(self, redis: Redis, prefix: str, hub: Hub, ttl: float = TTL_SECONDS) -> None:
        self._redis = redis
        self._hub = hub
        self._ttl = ttl
        self._processes = f"{prefix}:processes"
        self._hashes = f"{prefix}:presence:"
        self.process = secrets.token_hex(8)
        self._hash = self._hashes + self.process
        self._task: asyncio.Task[None] | None = None

    async def opened(self, user_id: str) -> None:
        await self._write(user_id)

    async def closed(self, user_id: str) -> None:
        await self._write(user_id)

    async def _write(self, user_id: str) -> None:
        """The user's count as the hub has it now (not an increment: a renewal in between can't count twice)."""
        count = len(self._hub.by_user.get(user_id, ()))
        if count:
            await self._redis.hset(self._hash, user_id, str(count))
        else:
            await self._redis.hdel(self._hash, user_id)

    async def connections(self, user_id: str) -> int:
        live = await self._redis.zrangebyscore(self._processes, time.time(), "+inf")
        if not live:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for process in live:
                pipe.hget(self._hashes + (process.decode() if isinstance(process, bytes) else str(process)), user_id)
            counts = await pipe.execute()
        return sum(max(int(count or 0), 0) for count in counts)

    async def _renew(self) -> None:
        counts: dict[EncodableT, EncodableT] = {user_id: len(sockets) for user_id, sockets in self._hub.by_user.items()}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._processes, {self.process: time.time() + self._ttl})
            pipe.delete(self._hash)
            if counts:
                pipe.hset(self._hash, mapping=counts)
            pipe.pexpire(self._hash, int(self._ttl * 1000))
            pipe.zremrangebyscore(self._processes, "-inf", time.time() - self._ttl)
            await pipe.execute()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(min(RENEW_SECONDS, self._ttl / 3))
            try:
                await self._renew()
            except (RedisError, OSError) as error:
                log.warning("renewing presence in Redis failed: %s", error)

    async def start(self) -> None:
        await self._renew()
        self._task = asyncio.create_task(self._loop(), name="weir-presence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.delete(self._hash)
                pipe.zrem(self._processes, self.process)
                await pipe.execute()
