"""``EventQueue``: runs the signaling layer's async callbacks one at a time, in the order they were raised.

The media plane never awaits a callback where it raised it: a slow or failing signaling handler must not
stall forwarding, and events for one participant (track published, then a subscriber offer) must arrive in order.
A callback that raises is logged and the next one runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Callback", "EventQueue"]

logger = logging.getLogger(__name__)

Callback = Callable[..., Awaitable[None]]
DRAIN_TIMEOUT_S = 5.0


class EventQueue:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[Callback, tuple[Any, ...]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def put(self, callback: Callback | None, *args: Any) -> None:
        """Queue ``callback(*args)``; nothing when no callback is set."""
        if callback is None:
            return
        self._queue.put_nowait((callback, args))
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            callback, args = item
            try:
                await callback(*args)
            except Exception:
                logger.exception("signaling callback %r failed", callback)

    async def drain(self, timeout_s: float = DRAIN_TIMEOUT_S) -> None:
        """Run what is queued, then stop; a callback still running after ``timeout_s`` is cancelled."""
        task, self._task = self._task, None
        if task is not None:
            self._queue.put_nowait(None)
            if task is asyncio.current_task():  # a callback closing its own participant: stop after it returns
                return
            try:
                await asyncio.wait_for(task, timeout_s)
            except TimeoutError:
                logger.warning("signaling callbacks still running after %s s: cancelled", timeout_s)
