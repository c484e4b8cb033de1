"""The bus across coordinator processes: Redis pub/sub on one channel.

Every process publishes its envelopes in order through one writer task (one connection, pipelined), and every
subscriber reads the channel in the order Redis received them: a call's events from one process arrive in the
order they were published, on every process. Each process's hub then delivers to its own sockets, so an event
reaches a user's sockets on any process. Pub/sub keeps nothing for a subscriber that is away: events are live
notifications (the durable ones go through the webhook and push outboxes in PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from weir.bus.base import Envelope

log = logging.getLogger(__name__)

QUEUE_SIZE = 100_000
BATCH = 256
RECONNECT_SECONDS = 0.5


def dump(envelope: Envelope) -> bytes:
    data = {"e": envelope.event, "c": envelope.call_cid, "u": sorted(envelope.user_ids), "w": envelope.watchers,
            "x": envelope.close_sockets}
    try:
        return orjson.dumps(data)
    except TypeError:  # integers beyond 64 bits in custom data
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def load(raw: bytes) -> Envelope:
    data: dict[str, Any] = json.loads(raw)
    return Envelope(data["e"], data["c"], frozenset(data["u"]), bool(data["w"]), bool(data["x"]))


class _RedisSubscription:
    def __init__(self, redis: Redis, channel: str) -> None:
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._channel = channel
        self._closed = False
        self._subscribed = asyncio.ensure_future(self._pubsub.subscribe(channel))

    async def ready(self) -> None:
        await asyncio.shield(self._subscribed)

    async def __aiter__(self) -> AsyncIterator[Envelope]:
        """Envelopes until ``close``; across a lost connection to Redis too (what was published meanwhile is
        lost: the pub/sub connection subscribes again when it reconnects)."""
        await self.ready()
        while not self._closed:
            try:
                async for message in self._pubsub.listen():
                    if self._closed:
                        return
                    if message.get("type") != "message":
                        continue
                    try:
                        envelope = load(message["data"])
                    except (ValueError, KeyError, TypeError):
                        log.warning("unreadable event on %s dropped", self._channel)
                        continue
                    yield envelope
            except (RedisError, OSError) as error:
                log.warning("reading events from Redis failed (%s); reconnecting", error)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def close(self) -> None:
        self._closed = True
        self._subscribed.cancel()
        await asyncio.gather(self._subscribed, return_exceptions=True)
        await self._pubsub.aclose()


class RedisBus:
    """``publish`` never waits for Redis: envelopes queue for the writer task (up to ``QUEUE_SIZE``)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self.channel = f"{prefix}:events"
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_SIZE)
        self._writer: asyncio.Task[None] | None = None
        self.dropped = 0

    async def publish(self, envelope: Envelope) -> None:
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="weir-redis-bus")
        try:
            self._queue.put_nowait(dump(envelope))
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("Redis bus is %d events behind; dropped %s", QUEUE_SIZE, envelope.type)

    async def _write(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            while True:
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for raw in batch:
                            pipe.publish(self.channel, raw)
                            await pipe.execute()
                    break
                except (RedisError, OSError) as error:
                    log.warning("publishing to Redis failed (%s); retrying", error)
                    await asyncio.sleep(RECONNECT_SECONDS)
            for _ in batch:
                self._queue.task_done()

    def subscribe(self) -> _RedisSubscription:
        return _RedisSubscription(self._redis, self.channel)

    async def flush(self) -> None:
        """Wait until every envelope published so far has been handed to Redis (on shutdown)."""
        await self._queue.join()

    async def close(self) -> None:
        if self._writer is not None:
            await asyncio.wait_for(self.flush(), 5)
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
