"""Work on SFU workers whichever coordinator process holds their channels.

``drain_node`` drains a node's workers: those whose channel this process holds at once, the others through their
holder's control channel (``SharedWorkers.command``); a node that no process holds is unknown. ``on_holder`` does
the same for a node worker's own requests (admit, left, keep-alive, stats) that reached another process than the
one holding its event socket: with ``weir serve --workers N`` each connection to the shared port lands on any
process. ``run`` (with Redis) carries out the commands other processes send this one, and every ``REAP_SECONDS``
ends the sessions that a dead process's workers had admitted (``SharedWorkers.orphans``), as the holder ends a
lost worker's: the clients rejoin on a live worker, and the call's participants stay true.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from weir.coordinator.sfu.local_link import LocalCoordinator
from weir.coordinator.sfu.registry import LiveWorker, WorkerRegistry
from weir.coordinator.sfu.shared_registry import SharedWorkers
from weir.protocol.leave_reasons import SFU_WORKER_LOST

__all__ = ["LOST_REASON", "ChannelCall", "ClusterControl", "end_session"]

log = logging.getLogger(__name__)

LOST_REASON = SFU_WORKER_LOST
COMMAND_SECONDS = 10.0  # how long a forwarded command may take at its holder
REAP_SECONDS = 1.0
RETRY_SECONDS = 1.0

ChannelCall = Callable[[LiveWorker, dict[str, Any]], Awaitable[dict[str, Any]]]  # a worker's request, on its holder


async def end_session(link: LocalCoordinator, call_cid: str, session_id: str) -> None:
    """The session's worker is gone: it leaves the call (``LOST_REASON``: its client rejoins)."""
    try:
        await link.participant_left(call_cid, session_id, LOST_REASON)
    except Exception:
        log.exception("could not end %s in %s after its worker was lost", session_id, call_cid)


class ClusterControl:
    def __init__(self, registry: WorkerRegistry, link: LocalCoordinator) -> None:
        self.registry = registry
        self.link = link
        self.channel_calls: dict[str, ChannelCall] = {}  # by name: the internal routes' (``internal_router``)
        self.drained: Callable[[LiveWorker], Awaitable[None]] | None = None  # told of each drained worker (cascade)

    async def drain(self, live: LiveWorker) -> None:
        """Place nothing more on the worker, then let it send its participants away (they join again elsewhere)."""
        self.registry.drain(live)
        await live.send({"type": "drain"})
        if self.drained is not None:
            await self.drained(live)

    async def drain_node(self, name: str) -> int:
        """Drain the node's workers, wherever their channels are held; how many (0: no process holds one)."""
        drained = await self._drain_here(name)
        shared = self.registry.shared
        if shared is not None:
            holders = {worker.holder for worker in await shared.workers()
                       if worker.node is not None and worker.node.name == name and worker.holder != shared.process}
            for holder in sorted(holders):
                answer = await shared.command(holder, {"op": "drain", "node": name}, COMMAND_SECONDS)
                drained += int(answer.get("workers", 0)) if answer else 0  # None: it died meanwhile
        return drained

    async def on_holder(self, index: int, call: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """A request of node worker ``index`` (``channel_calls[call]``), carried out by the process holding its
        channel; None if none does."""
        shared = self.registry.shared
        if shared is None:
            return None
        holders = {worker.holder for worker in await shared.workers()  # a node's index is unique (random)
                   if worker.index == index and worker.node is not None and worker.holder != shared.process}
        for holder in sorted(holders):  # two for a few seconds after a restarted worker came back elsewhere
            answer = await shared.command(holder, {"op": "channel", "worker": index, "call": call, "body": body},
                                          COMMAND_SECONDS)
            if answer is not None and "error" in answer:
                raise RuntimeError(f"the worker's holder failed: {answer['error']}")
            if answer is not None and "result" in answer:
                return dict(answer["result"])
        return None

    async def _drain_here(self, name: str) -> int:
        workers = self.registry.nodes().get(name, [])
        for live in workers:
            await self.drain(live)
        return len(workers)

    async def run(self) -> None:
        """Obey other processes' commands and end dead processes' sessions, until cancelled (with Redis)."""
        assert self.registry.shared is not None
        await asyncio.gather(self._obey(self.registry.shared), self._reap(self.registry.shared))

    async def _obey(self, shared: SharedWorkers) -> None:
        while True:
            try:
                async for command in shared.commands():
                    await self._carry_out(shared, command)
            except (RedisError, OSError) as error:
                log.warning("the SFU control channel failed (%s); listening again", error)
            await asyncio.sleep(RETRY_SECONDS)

    async def _carry_out(self, shared: SharedWorkers, command: dict[str, Any]) -> None:
        try:
            answer = await self._answer(command)
        except Exception as error:
            log.exception("could not carry out the SFU control command %r", command.get("op"))
            answer = {"error": str(error) or type(error).__name__}
        await shared.answer(command, answer)

    async def _answer(self, command: dict[str, Any]) -> dict[str, Any]:
        if command.get("op") == "drain":
            return {"workers": await self._drain_here(str(command.get("node")))}
        if command.get("op") == "channel":
            live = self.registry.live.get(int(command["worker"]))
            call = self.channel_calls.get(str(command.get("call")))
            if live is None or call is None:
                return {}  # not held here (any more)
            return {"result": await call(live, dict(command["body"]))}
        return {"error": f"unknown command {command.get('op')!r}"}

    async def _reap(self, shared: SharedWorkers) -> None:
        while True:
            try:
                async for call_cid, session_id in shared.orphans():
                    log.warning("ending %s in %s: its coordinator process is gone", session_id, call_cid)
                    await end_session(self.link, call_cid, session_id)
            except (RedisError, OSError) as error:
                log.warning("could not read the dead coordinator processes' sessions from Redis: %s", error)
            await asyncio.sleep(REAP_SECONDS)
