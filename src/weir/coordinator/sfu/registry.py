"""Which workers are live, and which worker owns each call.

Workers are ``weir serve``'s own processes or those of SFU nodes on other hosts (``weir sfu``), which say their
node's name, region, public URL and capacity, and report their load. A call is placed by ``choose``: on the
worker it already has, else on the least-loaded eligible worker (in the client's region first); it stays there
while that worker lives and does not drain: every participant of a call meets on one worker. The worker reports
the calls it hosts; a placement it does not host after ``GRACE_SECONDS`` (everyone left, or nobody came) is
forgotten, so the count stays the calls a worker really carries.

With ``shared`` (Redis, ``SharedWorkers``) the live workers and the placements are the cluster's: ``place`` chooses
among every process's workers and sets the placement atomically, ``claim`` checks it, and this process publishes
the workers whose channel it holds (``run_shared``); ``live`` stays those workers alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from weir.coordinator.sfu.shared_registry import Published, SharedWorkers
from weir.domain.geofence import region_allowed
from weir.sfu.workers.load import Load
from weir.sfu.workers.spec import NodeSpec

__all__ = [
    "ANYWHERE", "GRACE_SECONDS", "LiveWorker", "NoAllowedWorker", "NoWorker", "Wish", "WorkerRegistry", "choose",
    "eligible",
]

GRACE_SECONDS = 30.0
PUBLISH_SECONDS = 1.0
CLAIM_ATTEMPTS = 3

log = logging.getLogger(__name__)


class NoWorker(RuntimeError):
    """No worker is live (they are starting or restarting)."""


class NoAllowedWorker(RuntimeError):
    """Workers are live, but none may serve this call (its geofences)."""


@dataclass(frozen=True)
class Wish:
    """What a placement must respect (the call's geofence names) and would like (the client's region)."""

    fences: tuple[str, ...] = ()
    region: str | None = None


ANYWHERE = Wish()


@dataclass(eq=False)
class LiveWorker:
    index: int
    host: str
    port: int
    pid: int
    send: Callable[[dict[str, Any]], Awaitable[None]]  # a message over the worker's event socket
    node: NodeSpec | None = None  # None: a worker of this server
    load: Load = field(default_factory=Load)  # as last reported
    draining: bool = False

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def region(self) -> str:
        return self.node.region if self.node else ""

    @property
    def url(self) -> str:
        """The worker's name across the cluster."""
        return self.base_url

    def share(self, participants: int) -> float:
        """How full it is: participants per capacity or CPU use, whichever is higher (no capacity: participants)."""
        if self.node is None or not self.node.capacity:
            return float(participants)
        return max(participants / self.node.capacity, self.load.cpu_percent / 100)


def eligible(candidates: Iterable[LiveWorker], wish: Wish) -> list[LiveWorker]:
    """The workers that may take a participant: not draining, and inside the call's geofences."""
    return [w for w in candidates if not w.draining and region_allowed(w.region, wish.fences)]


def choose(candidates: Iterable[LiveWorker], current: Collection[LiveWorker], wish: Wish,
           busy: Callable[[LiveWorker], tuple[int, int]]) -> LiveWorker | None:
    """The worker for a participant: one the call is already on (``current``) if it may serve it, else the
    eligible worker in the wished region, then the least loaded (``busy``: its participants and calls), then
    the lowest index; None if none is eligible (draining, or outside the call's geofences)."""
    allowed = eligible(candidates, wish)
    here = [w for w in allowed if w in current]
    if here:
        return here[0]
    if not allowed:
        return None
    return min(allowed, key=lambda w: (wish.region is not None and w.region != wish.region,
                                        w.share(busy(w)[0]), busy(w)[1], w.index))


async def _elsewhere(message: dict[str, Any]) -> None:
    raise RuntimeError("another coordinator process holds this worker's channel")


def _remote(worker: Published) -> LiveWorker:
    return LiveWorker(index=worker.index, host=worker.host, port=worker.port, pid=worker.pid, send=_elsewhere,
                      node=worker.node, load=worker.load, draining=worker.draining)


def _by_node(workers: Iterable[LiveWorker]) -> dict[str, list[LiveWorker]]:
    found: dict[str, list[LiveWorker]] = {}
    for worker in sorted(workers, key=lambda w: w.port):
        if worker.node is not None:
            found.setdefault(worker.node.name, []).append(worker)
    return found


class WorkerRegistry:
    def __init__(self, shared: SharedWorkers | None = None) -> None:
        self.shared = shared
        self._published: dict[str, tuple[int, int]] = {}  # another process's worker url -> participants, calls
        self.live: dict[int, LiveWorker] = {}
        self._owner: dict[str, tuple[int, float]] = {}  # call cid -> (worker index, placed at)
        self._placed: dict[int, dict[str, None]] = {}  # worker index -> the calls placed there (``_owner`` inverted)
        self.sessions: dict[int, set[tuple[str, str]]] = {}  # worker index -> (call cid, session id) admitted there
        self._holding: dict[tuple[int, str], int] = {}  # (worker index, call cid) -> its sessions there
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Future[None]] = set()

    def attach(self, worker: LiveWorker) -> None:
        self.live[worker.index] = worker
        self._changed.set()

    def detach(self, worker: LiveWorker) -> None:
        """The worker's channel closed: its calls are free to be placed again."""
        if self.live.get(worker.index) is worker:
            del self.live[worker.index]
            if self.shared is not None:
                self._spawn(self._gone(worker, self.calls_of(worker.index)))
            self._unplace_all(worker.index)

    async def admitted(self, worker: LiveWorker, call_cid: str, session_id: str) -> None:
        held = self.sessions.setdefault(worker.index, set())
        if (call_cid, session_id) not in held:
            held.add((call_cid, session_id))
            key = (worker.index, call_cid)
            self._holding[key] = self._holding.get(key, 0) + 1
        if self.shared is not None:  # another process ends it if this one dies (``SharedWorkers.orphans``)
            await self.shared.held(call_cid, session_id)

    async def left(self, worker: LiveWorker, call_cid: str, session_id: str) -> None:
        self._release(worker.index, {(call_cid, session_id)})
        await self._let_go([(call_cid, session_id)])

    async def lost(self, index: int) -> set[tuple[str, str]]:
        """The worker's process died: the sessions it held, which nobody holds any more."""
        sessions = self._release(index, set(self.sessions.get(index, ())))
        self.sessions.pop(index, None)
        await self._let_go(sorted(sessions))
        return sessions

    async def _let_go(self, sessions: list[tuple[str, str]]) -> None:
        """Forget the sessions in Redis too; if it is away, they stay recorded, and are ended again (a no-op)
        only if this process dies."""
        if self.shared is not None and sessions:
            try:
                await self.shared.let_go(sessions)
            except Exception:
                log.exception("could not forget %d SFU sessions in Redis", len(sessions))

    def _release(self, index: int, sessions: set[tuple[str, str]]) -> set[tuple[str, str]]:
        held = self.sessions.get(index, set())
        gone = sessions & held
        for call_cid, session_id in gone:
            held.discard((call_cid, session_id))
            count = self._holding.pop((index, call_cid), 1) - 1
            if count:
                self._holding[index, call_cid] = count
        return gone

    def receives(self, call_cid: str, worker: LiveWorker) -> bool:
        """Is the call placed on ``worker``, or does it hold sessions of it (a draining worker's, until they
        migrate)? Constant time: it is asked for every event and every worker."""
        return self.owner(call_cid) is worker or (worker.index, call_cid) in self._holding

    def owner(self, call_cid: str) -> LiveWorker | None:
        owned = self._owner.get(call_cid)
        return None if owned is None else self.live.get(owned[0])

    def calls_of(self, index: int) -> list[str]:
        return list(self._placed.get(index, ()))

    def _place_on(self, call_cid: str, index: int) -> None:
        """The call is placed on worker ``index`` (anew: the grace starts over)."""
        previous = self._owner.get(call_cid)
        if previous is not None and previous[0] != index:
            self._unplace(call_cid)
        self._owner[call_cid] = (index, time.monotonic())
        self._placed.setdefault(index, {})[call_cid] = None

    def _unplace(self, call_cid: str) -> None:
        owned = self._owner.pop(call_cid, None)
        if owned is not None:
            self._placed.get(owned[0], {}).pop(call_cid, None)

    def _unplace_all(self, index: int) -> None:
        for call_cid in self._placed.pop(index, {}):
            self._owner.pop(call_cid, None)

    async def place(self, call_cid: str, wait_seconds: float, wish: Wish = ANYWHERE) -> LiveWorker:
        """The call's worker, placing it by ``choose`` if it has none (waiting for a live worker)."""
        deadline = time.monotonic() + wait_seconds
        if self.shared is not None:
            return await self._place_shared(self.shared, call_cid, deadline, wish)
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
        chosen = choose(self.live.values(), [] if owner is None else [owner], wish, self.busy)
        if chosen is None:
            raise NoAllowedWorker(f"no live SFU node is in this call's geofences ({', '.join(wish.fences)})"
                                  if wish.fences else "every live SFU node is draining: try again in a moment")
        self._place_on(call_cid, chosen.index)  # a fresh placement gets the grace anew
        return chosen

    async def _place_shared(self, shared: SharedWorkers, call_cid: str, deadline: float, wish: Wish) -> LiveWorker:
        for _ in range(CLAIM_ATTEMPTS):
            candidates = await self._candidates(shared)
            while not candidates:
                if time.monotonic() >= deadline:
                    raise NoWorker("no SFU worker is running")
                await asyncio.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
                candidates = await self._candidates(shared)
            seen = await shared.owner(call_cid)
            by_url = {worker.url: worker for worker in candidates}
            chosen = choose(candidates, [by_url[seen]] if seen in by_url else [], wish, self.busy)
            if chosen is None:
                raise NoAllowedWorker(f"no live SFU node is in this call's geofences ({', '.join(wish.fences)})"
                                      if wish.fences else "every live SFU node is draining: try again in a moment")
            if chosen.url == seen:
                return chosen
            if await shared.claim(call_cid, chosen.url, seen) == chosen.url:
                if self.live.get(chosen.index) is chosen:
                    self._place_on(call_cid, chosen.index)
                return chosen
        raise NoWorker("the call's placement keeps changing: try again in a moment")

    async def _candidates(self, shared: SharedWorkers) -> list[LiveWorker]:
        """This process's live workers, and those other processes publish."""
        mine = {worker.url: worker for worker in self.live.values()}
        others = [worker for worker in await shared.workers() if worker.url not in mine]
        self._published = {worker.url: (worker.participants, worker.calls) for worker in others}
        return [*mine.values(), *(_remote(worker) for worker in others)]

    def busy(self, worker: LiveWorker) -> tuple[int, int]:
        """The participants admitted on the worker, and the calls placed there."""
        if self.live.get(worker.index) is not worker:
            return self._published.get(worker.url, (0, 0))
        return len(self.sessions.get(worker.index, ())), len(self.calls_of(worker.index))

    def drain(self, worker: LiveWorker) -> None:
        """The worker is draining: nothing more is placed there, and its calls are placed anew (elsewhere)."""
        worker.draining = True
        if self.shared is not None:
            self._spawn(self._gone(worker, self.calls_of(worker.index)))
        self._unplace_all(worker.index)

    def nodes(self) -> dict[str, list[LiveWorker]]:
        """The live workers of SFU nodes on other hosts whose channel this process holds, by node name."""
        return _by_node(self.live.values())

    async def cluster_nodes(self) -> dict[str, list[LiveWorker]]:
        """The live workers of SFU nodes, by node name, whichever process holds their channel (with ``shared``)."""
        if self.shared is None:
            return self.nodes()
        mine = {worker.url for worker in self.live.values()}
        others = [_remote(worker) for worker in await self.shared.workers() if worker.url not in mine]
        return _by_node([*self.live.values(), *others])

    async def claim(self, call_cid: str, worker: LiveWorker) -> bool:
        """May ``worker`` host this call? Yes if it owns it, or if nobody does (it then does)."""
        if self.shared is not None:
            seen = await self.shared.owner(call_cid)
            if seen != worker.url and (worker.draining or seen is not None
                                       or await self.shared.claim(call_cid, worker.url, None) != worker.url):
                return False
            self._place_on(call_cid, worker.index)
            return True
        owner = self.owner(call_cid)
        if owner is None and not worker.draining:
            self._place_on(call_cid, worker.index)
            return True
        return owner is worker

    async def hosted(self, worker: LiveWorker, call_cids: Collection[str]) -> None:
        """The worker's report of its calls: forget its placements it no longer hosts (after the grace)."""
        if self.shared is not None and not worker.draining:
            await self.shared.renew(worker.url, sorted(call_cids))
        stale = time.monotonic() - GRACE_SECONDS
        hosting = set(call_cids)
        for cid in self.calls_of(worker.index):
            if cid not in hosting and self._owner[cid][1] < stale:
                self._unplace(cid)

    async def run_shared(self) -> None:
        """Publish this process's live workers every ``PUBLISH_SECONDS`` (with ``shared``), until cancelled."""
        assert self.shared is not None
        while True:
            try:
                await self.shared.publish([self._record(worker) for worker in list(self.live.values())])
            except Exception:  # Redis is away a moment: the records expire, and come back with it
                log.exception("could not publish the SFU workers to Redis")
            await asyncio.sleep(PUBLISH_SECONDS)

    def _record(self, worker: LiveWorker) -> Published:
        participants, calls = self.busy(worker)
        return Published(worker.url, worker.index, worker.host, worker.port, worker.pid, worker.node,
                         worker.load, worker.draining, participants, calls, self.shared.process if self.shared else "")

    async def _gone(self, worker: LiveWorker, call_cids: list[str]) -> None:
        """Tell the cluster at once: a drained worker is published so, a detached one withdrawn; its calls freed."""
        assert self.shared is not None
        try:
            if worker.draining and self.live.get(worker.index) is worker:
                await self.shared.publish([self._record(worker)])
            else:
                await self.shared.withdraw(worker.url)
            await self.shared.release(worker.url, call_cids)
        except Exception:
            log.exception("could not tell Redis that SFU worker %s left", worker.url)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
