"""Which workers are live, and which worker owns each call.

A call is placed on the live worker owning the fewest calls (ties: the lowest index) and stays there while
that worker lives: every participant of a call meets on one worker. The worker reports the calls it hosts;
a placement it does not host after ``GRACE_SECONDS`` (everyone left, or nobody came) is forgotten, so the
count stays the calls a worker really carries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

__all__ = ["GRACE_SECONDS", "LiveWorker", "NoWorker", "WorkerRegistry"]

GRACE_SECONDS = 30.0


class NoWorker(RuntimeError):
    """No worker is live (they are starting or restarting)."""


@dataclass(eq=False)
class LiveWorker:
    index: int
    host: str
    port: int
    pid: int
    send: Callable[[dict[str, Any]], Awaitable[None]]  # a message over the worker's event socket

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


class WorkerRegistry:
    def __init__(self) -> None:
        self.live: dict[int, LiveWorker] = {}
        self._owner: dict[str, tuple[int, float]] = {}  # call cid -> (worker index, placed at)
        self.sessions: dict[int, set[tuple[str, str]]] = {}  # worker index -> (call cid, session id) admitted there
        self._changed = asyncio.Event()

    def attach(self, worker: LiveWorker) -> None:
        self.live[worker.index] = worker
        self._changed.set()

    def detach(self, worker: LiveWorker) -> None:
        """The worker's channel closed: its calls are free to be placed again."""
        if self.live.get(worker.index) is worker:
            del self.live[worker.index]
            self._owner = {cid: owned for cid, owned in self._owner.items() if owned[0] != worker.index}

    def admitted(self, worker: LiveWorker, call_cid: str, session_id: str) -> None:
        self.sessions.setdefault(worker.index, set()).add((call_cid, session_id))

    def left(self, worker: LiveWorker, call_cid: str, session_id: str) -> None:
        self.sessions.get(worker.index, set()).discard((call_cid, session_id))

    def lost(self, index: int) -> set[tuple[str, str]]:
        """The worker's process died: the sessions it held, which nobody holds any more."""
        return self.sessions.pop(index, set())

    def owner(self, call_cid: str) -> LiveWorker | None:
        owned = self._owner.get(call_cid)
        return None if owned is None else self.live.get(owned[0])

    def calls_of(self, index: int) -> list[str]:
        return [cid for cid, (owner, _) in self._owner.items() if owner == index]

    async def place(self, call_cid: str, wait_seconds: float) -> LiveWorker:
        """The call's worker, placing it on the least-loaded live worker if it has none (waiting for one)."""
        deadline = time.monotonic() + wait_seconds
        while not self.live:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoWorker("no SFU worker is running")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass
        owner = self.owner(call_cid)
        if owner is None:
            load = {index: 0 for index in self.live}
            for index, _ in self._owner.values():
                if index in load:
                    load[index] += 1
            owner = self.live[min(load, key=lambda index: (load[index], index))]
        self._owner[call_cid] = (owner.index, time.monotonic())  # a fresh placement gets the grace anew
        return owner

    def claim(self, call_cid: str, worker: LiveWorker) -> bool:
        """May ``worker`` host this call? Yes if it owns it, or if nobody does (it then does)."""
        owner = self.owner(call_cid)
        if owner is None:
            self._owner[call_cid] = (worker.index, time.monotonic())
            return True
        return owner is worker

    def hosted(self, worker: LiveWorker, call_cids: Collection[str]) -> None:
        """The worker's report of its calls: forget its placements it no longer hosts (after the grace)."""
        stale = time.monotonic() - GRACE_SECONDS
        hosting = set(call_cids)
        for cid in self.calls_of(worker.index):
            if cid not in hosting and self._owner[cid][1] < stale:
                del self._owner[cid]
