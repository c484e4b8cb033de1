"""Cascading on the coordinator's side: which workers host each call, and putting them in touch.

With ``WEIR_SFU_CASCADE_CALL_SIZE`` = N > 0, a call's participants fill a worker up to N, then go to the
worker with the fewest of them (``CascadePlacement``), and any live worker may admit a session of any call.
Each worker says in its hello where its relay socket is. When a worker admits the first session of a call that
others host already, every host of the call is sent ``cascade_peers``: the others' relay addresses and the SRTP
key of each direction (made here, once per pair of workers, and sent only over the authenticated channel).
The workers' ``relay`` messages (participants and tracks, ``weir.sfu.cascade.calls``) are passed on to the
call's other hosts, and the coordinator's events of a call go to all of them.
"""

from __future__ import annotations

import base64
import time
from typing import Any

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

__all__ = ["PENDING_SECONDS", "CallHosts", "CascadePlacement"]

PENDING_SECONDS = 10.0  # a placement not yet admitted counts this long
_UNSPECIFIED = ("", "0.0.0.0", "::")


class CallHosts:
    def __init__(self, registry: WorkerRegistry, call_size: int) -> None:
        self.registry = registry
        self.call_size = call_size  # 0: cascading is off
        self.relays: dict[int, tuple[str, int]] = {}  # worker index → its relay socket
        self._keys: dict[tuple[int, int], bytes] = {}  # (from, to) → SRTP key and salt of that direction
        self._pending: dict[str, list[tuple[int, float]]] = {}  # call → placements not yet admitted

    def hello(self, live: LiveWorker, hello: dict[str, Any]) -> None:
        relay = hello.get("relay")
        if isinstance(relay, list) and len(relay) == 2:
            host = str(relay[0])
            self.relays[live.index] = (live.host if host in _UNSPECIFIED else host, int(relay[1]))
            self._keys = {pair: key for pair, key in self._keys.items() if live.index not in pair}  # a new process

    def hosts(self, call_cid: str) -> set[int]:
        """The live workers holding sessions of the call."""
        return {index for index, sessions in self.registry.sessions.items()
                if index in self.registry.live and any(cid == call_cid for cid, _ in sessions)}

    def receives(self, call_cid: str, live: LiveWorker) -> bool:
        """Do the coordinator's events of this call go to ``live``?"""
        return self.registry.owner(call_cid) is live or live.index in self.hosts(call_cid)

    async def claim(self, call_cid: str, live: LiveWorker) -> bool:
        """May ``live`` admit a session of the call? With cascading, any live worker may."""
        owns = await self.registry.claim(call_cid, live)
        return owns or self.call_size > 0

    async def admitted(self, live: LiveWorker, call_cid: str, hosts_before: set[int]) -> None:
        """``live`` admitted a session of the call; if it is new among the call's hosts, they meet."""
        pending = self._pending.get(call_cid, [])
        for n, (index, _) in enumerate(pending):
            if index == live.index:
                del pending[n]
                break
        if self.call_size <= 0 or live.index in hosts_before or not hosts_before:
            return
        hosts = sorted(index for index in hosts_before | {live.index} if index in self.relays)
        for index in hosts:
            peers = [{"worker": other, "relay": list(self.relays[other]), "tx_key": self._key(index, other),
                      "rx_key": self._key(other, index)} for other in hosts if other != index]
            await self._send(index, {"type": "cascade_peers", "call_cid": call_cid, "peers": peers})

    def _key(self, sender: int, receiver: int) -> str:
        key = self._keys.get((sender, receiver))
        if key is None:
            key = self._keys[sender, receiver] = new_key()
        return base64.b64encode(key).decode()

    async def relay(self, live: LiveWorker, message: dict[str, Any]) -> None:
        """A worker's relay message, passed on to the call's other hosts."""
        call_cid = str(message.get("call_cid"))
        out = {"type": "relay", "call_cid": call_cid, "from": live.index, "body": message.get("body")}
        for index in sorted(self.hosts(call_cid) - {live.index}):
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
        for index, sessions in self.registry.sessions.items():
            if index in count:
                count[index] += sum(1 for cid, _ in sessions if cid == call_cid)
        for index, _ in pending:
            if index in count:
                count[index] += 1
        load = {index: len(self.registry.sessions.get(index, ())) for index in count}
        with_room = [index for index in count if 0 < count[index] < self.call_size]
        if with_room:
            chosen = min(with_room, key=lambda index: (-count[index], index))
        else:
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
