"""Cascading on the coordinator's side: which workers host each call, and how they relay to each other.

With ``WEIR_SFU_CASCADE_CALL_SIZE`` = N > 0, a call's participants fill a worker up to N, then go to the
worker with the fewest of them (``CascadePlacement``), and any live worker may admit a session of any call.
Each worker says in its hello where its relay socket is. The call's hosts (kept per call as sessions are admitted
and leave, and when a worker's channel closes) are arranged by a ``CascadeTree``: a mesh while each would relay
to at most ``WEIR_SFU_CASCADE_FANOUT`` others, else a tree rooted at the origin. Whenever a host's place changes,
it is sent ``cascade_peers``: its neighbours' relay addresses and the SRTP key of each direction (made here, once
per pair of workers, and sent only over the authenticated channel), every host's parent, and whether the call is
a mesh; a host that no longer hosts the call is told it has no peers. The workers' ``relay`` messages
(participants and tracks, ``weir.sfu.cascade.calls``) are passed on to the call's other hosts (or those they
name), and the coordinator's events of a call go to all of them.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from weir.coordinator.sfu.cascade_tree import CascadeTree
from weir.coordinator.sfu.placement import SfuAddress, public_url
from weir.coordinator.sfu.registry import (
    ANYWHERE,
    LiveWorker,
    NoAllowedWorker,
    NoWorker,
    Wish,
    WorkerRegistry,
    eligible,
)
from weir.coordinator.sfu.remote_entry import PLACE_WAIT_SECONDS, no_worker_error
from weir.sfu.cascade.wire import new_key

__all__ = ["DEFAULT_FANOUT", "PENDING_SECONDS", "CallHosts", "CascadePlacement"]

PENDING_SECONDS = 10.0  # a placement not yet admitted counts this long
DEFAULT_FANOUT = 4
_UNSPECIFIED = ("", "0.0.0.0", "::")


class CallHosts:
    def __init__(self, registry: WorkerRegistry, call_size: int, fanout: int = DEFAULT_FANOUT) -> None:
        self.registry = registry
        self.call_size = call_size  # 0: cascading is off
        self.fanout = fanout
        self.relays: dict[int, tuple[str, int]] = {}  # worker index → its relay socket
        self._keys: dict[tuple[int, int], bytes] = {}  # (from, to) → SRTP key and salt of that direction
        self._pending: dict[str, list[tuple[int, float]]] = {}  # call → placements not yet admitted
        self._sessions: dict[str, dict[int, set[str]]] = {}  # call → worker → its sessions admitted there
        self._calls_of: dict[int, set[str]] = {}  # worker → the calls it has sessions of
        self._trees: dict[str, CascadeTree] = {}  # call → how its hosts relay to each other
        self._told: dict[tuple[str, int], dict[str, Any]] = {}  # (call, worker) → the arrangement it was last sent

    def hello(self, live: LiveWorker, hello: dict[str, Any]) -> None:
        relay = hello.get("relay")
        if isinstance(relay, list) and len(relay) == 2:
            host = str(relay[0])
            self.relays[live.index] = (live.host if host in _UNSPECIFIED else host, int(relay[1]))
            self._keys = {pair: key for pair, key in self._keys.items() if live.index not in pair}  # a new process
            self._told = {told: sent for told, sent in self._told.items() if told[1] != live.index}

    def hosts(self, call_cid: str) -> set[int]:
        """The live workers holding sessions of the call."""
        return {index for index in self._sessions.get(call_cid, ()) if index in self.registry.live}

    def placed(self, call_cid: str) -> LiveWorker | None:
        """The worker ``place`` chose last for the call, if it is still to be admitted there (a WHIP/WHEP join
        goes where its placement went)."""
        pending = self._pending.get(call_cid)
        worker = self.registry.live.get(pending[-1][0]) if pending else None
        return None if worker is None or worker.draining else worker

    def holder(self, call_cid: str, session_id: str) -> LiveWorker | None:
        """The live worker holding the session."""
        for index, sessions in self._sessions.get(call_cid, {}).items():
            if session_id in sessions:
                return self.registry.live.get(index)
        return None

    def tree(self, call_cid: str) -> CascadeTree | None:
        return self._trees.get(call_cid)

    def receives(self, call_cid: str, live: LiveWorker) -> bool:
        """Do the coordinator's events of this call go to ``live``?"""
        return self.registry.owner(call_cid) is live or live.index in self._sessions.get(call_cid, ())

    async def claim(self, call_cid: str, live: LiveWorker) -> bool:
        """May ``live`` admit a session of the call? With cascading, any live worker may."""
        owns = await self.registry.claim(call_cid, live)
        return owns or self.call_size > 0

    async def admitted(self, live: LiveWorker, call_cid: str, session_id: str) -> None:
        """``live`` admitted a session of the call; if it is new among the call's hosts, it joins their tree."""
        pending = self._pending.get(call_cid, [])
        for n, (index, _) in enumerate(pending):
            if index == live.index:
                del pending[n]
                break
        sessions = self._sessions.setdefault(call_cid, {})
        new = live.index not in sessions
        sessions.setdefault(live.index, set()).add(session_id)
        self._calls_of.setdefault(live.index, set()).add(call_cid)
        if self.call_size <= 0 or not new:
            return
        tree = self._trees.setdefault(call_cid, CascadeTree(self.fanout))
        tree.add(live.index)
        if live.draining:
            tree.drain(live.index)
        await self._arrange(call_cid, first=live.index)

    async def left(self, live: LiveWorker, call_cid: str, session_id: str) -> None:
        """A session left ``live``; the worker's last one takes it out of the call's tree."""
        sessions = self._sessions.get(call_cid, {})
        held = sessions.get(live.index)
        if held is None:
            return
        held.discard(session_id)
        if not held:
            await self._without(call_cid, live.index, tell_it=True)

    async def gone(self, index: int) -> None:
        """Worker ``index``'s channel closed (its process is gone or going): out of every call it hosted."""
        if index in self.registry.live:  # a newer connection of the same worker took over
            return
        for call_cid in sorted(self._calls_of.get(index, ())):
            await self._without(call_cid, index, tell_it=False)

    async def draining(self, live: LiveWorker) -> None:
        """``live`` drains: in each call it hosts it relays to nobody new, and its children hang elsewhere."""
        for call_cid in sorted(self._calls_of.get(live.index, ())):
            tree = self._trees.get(call_cid)
            if tree is not None:
                tree.drain(live.index)
                await self._arrange(call_cid)

    async def _without(self, call_cid: str, index: int, *, tell_it: bool) -> None:
        sessions = self._sessions.get(call_cid, {})
        sessions.pop(index, None)
        if not sessions:
            self._sessions.pop(call_cid, None)
        calls = self._calls_of.get(index, set())
        calls.discard(call_cid)
        if not calls:
            self._calls_of.pop(index, None)
        told = self._told.pop((call_cid, index), None)
        if tell_it and told is not None and told["peers"]:  # it stops relaying the call
            await self._send(index, {"type": "cascade_peers", "call_cid": call_cid, "worker": index, "peers": [],
                                     "parents": {}, "mesh": True})
        tree = self._trees.get(call_cid)
        if tree is not None:
            tree.remove(index)
            if not tree.parent:
                del self._trees[call_cid]
            else:
                await self._arrange(call_cid)

    async def _arrange(self, call_cid: str, first: int | None = None) -> None:
        """Send each host of the call whose arrangement changed ``cascade_peers``: its neighbours' relay addresses
        and the SRTP key of each direction, the tree (each host's parent) and whether it is a mesh. A new host
        (``first``) hears first, so it knows the call before the others' announcements reach it."""
        tree = self._trees.get(call_cid)
        if tree is None:
            return
        hosts = [index for index in tree.hosts if index in self.relays]
        if len(hosts) < 2 and all((call_cid, index) not in self._told for index in hosts):
            return  # alone, and never told otherwise
        parents = {str(host): parent for host, parent in tree.parent.items() if host in self.relays}
        for index in sorted(hosts, key=lambda index: index != first):
            message = {"type": "cascade_peers", "call_cid": call_cid, "worker": index, "mesh": tree.mesh,
                       "parents": parents, "peers": [
                           {"worker": other, "relay": list(self.relays[other]), "tx_key": self._key(index, other),
                            "rx_key": self._key(other, index)}
                           for other in tree.neighbours(index) if other in self.relays]}
            if self._told.get((call_cid, index)) != message:
                self._told[call_cid, index] = message
                await self._send(index, message)

    def _key(self, sender: int, receiver: int) -> str:
        key = self._keys.get((sender, receiver))
        if key is None:
            key = self._keys[sender, receiver] = new_key()
        return base64.b64encode(key).decode()

    async def relay(self, live: LiveWorker, message: dict[str, Any]) -> None:
        """A worker's relay message, passed on to the call's other hosts (to those it names, if it does)."""
        call_cid = str(message.get("call_cid"))
        out = {"type": "relay", "call_cid": call_cid, "from": live.index, "body": message.get("body")}
        targets = self.hosts(call_cid) - {live.index}
        to = message.get("to")
        if isinstance(to, list):
            targets &= {index for index in to if isinstance(index, int)}
        for index in sorted(targets):
            await self._send(index, out)

    async def _send(self, index: int, message: dict[str, Any]) -> None:
        worker = self.registry.live.get(index)
        if worker is not None:
            try:
                await worker.send(message)
            except Exception:  # its socket is closing: its receive loop sees it too
                pass

    def place(self, call_cid: str, wish: Wish = ANYWHERE) -> LiveWorker:
        """The worker for the call's next participant, among those that may serve it (not draining, inside its
        geofences): the fullest host with room (fewer than ``call_size`` of the call's participants), else the
        one with the fewest of them, then the least loaded."""
        now = time.monotonic()
        pending = self._pending.setdefault(call_cid, [])
        pending[:] = [(index, at) for index, at in pending if now - at < PENDING_SECONDS]
        count = {worker.index: 0 for worker in eligible(self.registry.live.values(), wish)}
        for index, sessions in self._sessions.get(call_cid, {}).items():
            if index in count:
                count[index] += len(sessions)
        for index, _ in pending:
            if index in count:
                count[index] += 1
        with_room = [index for index in count if 0 < count[index] < self.call_size]
        if with_room:
            chosen = min(with_room, key=lambda index: (-count[index], index))
        else:
            load = {index: len(self.registry.sessions.get(index, ())) for index in count}
            chosen = min(count, key=lambda index: (count[index], load[index], index))
        pending.append((chosen, now))
        return self.registry.live[chosen]


class CascadePlacement:
    """``SfuPlacement`` spreading a call's participants over the workers (``CallHosts.place``)."""

    def __init__(self, hosts: CallHosts, edge_name: str) -> None:
        self.hosts = hosts
        self.registry = hosts.registry
        self.edge_name = edge_name

    async def place(self, call_cid: str, public_base: str, wish: Wish = ANYWHERE) -> SfuAddress:
        try:  # waits for a live worker, and refuses a call no worker may serve (geofences)
            await self.registry.place(call_cid, PLACE_WAIT_SECONDS, wish)
        except NoWorker:
            raise no_worker_error() from None
        except NoAllowedWorker as error:
            raise no_worker_error(str(error)) from None
        worker = self.hosts.place(call_cid, wish)
        return SfuAddress(public_url(worker, public_base), worker.node.name if worker.node else self.edge_name)
