"""The embedded bus: one bounded queue per subscriber inside this process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from weir.bus.base import Envelope

log = logging.getLogger(__name__)

QUEUE_SIZE = 100_000


class _MemorySubscription:
    def __init__(self, bus: InMemoryBus) -> None:
        self._bus = bus
        self.queue: asyncio.Queue[Envelope | None] = asyncio.Queue(QUEUE_SIZE)
        self.dropped = 0

    async def ready(self) -> None:
        """In-process: subscribed from the start."""

    async def __aiter__(self) -> AsyncIterator[Envelope]:
        while (envelope := await self.queue.get()) is not None:
            yield envelope

    async def close(self) -> None:
        self._bus._subscribers.discard(self)
        while self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class InMemoryBus:
    """Publishing never waits: a subscriber that falls ``QUEUE_SIZE`` events behind loses events, not the bus."""

    def __init__(self) -> None:
        self._subscribers: set[_MemorySubscription] = set()

    async def publish(self, envelope: Envelope) -> None:
        for subscriber in tuple(self._subscribers):
            try:
                subscriber.queue.put_nowait(envelope)
            except asyncio.QueueFull:
                subscriber.dropped += 1
                log.warning("event subscriber is %d events behind; dropped %s", QUEUE_SIZE, envelope.type)

    def subscribe(self) -> _MemorySubscription:
        subscription = _MemorySubscription(self)
        self._subscribers.add(subscription)
        return subscription
