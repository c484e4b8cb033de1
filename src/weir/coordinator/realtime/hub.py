"""Routes bus events to WebSocket connections: by addressed user and by watched call.

Each connection has a bounded outbox drained by its own writer task, so one slow socket never holds up the
others: when its outbox is full it is closed instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

from weir.bus import Envelope, EventBus

log = logging.getLogger(__name__)

OUTBOX_SIZE = 1000


def encode(event: dict[str, Any]) -> str:
    """The event as a JSON text frame, once for all its recipients; orjson, falling back to the standard
    library for what orjson refuses (integers beyond 64 bits in custom data)."""
    try:
        return orjson.dumps(event).decode()
    except TypeError:
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False)



@dataclass(eq=False)
class Connection:
    user_id: str
    id: str = field(default_factory=lambda: secrets.token_hex(12))
    # JSON text frames, serialised once per event however many connections receive it.
    outbox: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(OUTBOX_SIZE))
    watched: set[str] = field(default_factory=set)
    overflowed: bool = False
    close_reason: str = ""

    def push(self, frame: str) -> bool:
        """Queue a JSON frame; False (and the connection is to be dropped) when the client can't keep up."""
        if self.overflowed:
            return False
        try:
            self.outbox.put_nowait(frame)
            return True
        except asyncio.QueueFull:
            self.overflowed = True
            return False

    def close(self, reason: str) -> None:
        """End the connection after what is queued (or, when the queue is full, instead of it)."""
        self.close_reason = reason
        while self.outbox.full():
            self.outbox.get_nowait()
        self.outbox.put_nowait(None)


class Hub:
    def __init__(self) -> None:
        self.connections: dict[str, Connection] = {}
        self.by_user: dict[str, set[Connection]] = defaultdict(set)
        self.watchers: dict[str, set[Connection]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None

    def add(self, user_id: str) -> Connection:
        connection = Connection(user_id)
        self.connections[connection.id] = connection
        self.by_user[user_id].add(connection)
        return connection

    def remove(self, connection: Connection) -> None:
        """Forget a connection."""
        self.connections.pop(connection.id, None)
        for cid in connection.watched:
            self._discard(self.watchers, cid, connection)
        self._discard(self.by_user, connection.user_id, connection)

    @staticmethod
    def _discard(index: dict[str, set[Connection]], key: str, connection: Connection) -> None:
        members = index.get(key)
        if members is not None:
            members.discard(connection)
            if not members:
                del index[key]

    def get(self, connection_id: str, user_id: str | None) -> Connection | None:
        """The caller's own connection with that id (another user's connection is not found)."""
        connection = self.connections.get(connection_id)
        return connection if connection is not None and connection.user_id == user_id else None

    def watch(self, connection: Connection, cid: str) -> None:
        connection.watched.add(cid)
        self.watchers[cid].add(connection)

    def unwatch(self, connection: Connection, cid: str) -> None:
        connection.watched.discard(cid)
        self._discard(self.watchers, cid, connection)

    def drop_user(self, user_id: str) -> None:
        """Close every connection of a user (deactivated or deleted); queued events are sent first."""
        for connection in tuple(self.by_user.get(user_id, ())):
            connection.close("user deactivated or deleted")

    def deliver(self, envelope: Envelope) -> int:
        """Queue the event on every connection it is for; returns how many."""
        targets: set[Connection] = set()
        for user_id in envelope.user_ids:
            targets.update(self.by_user.get(user_id, ()))
        if envelope.call_cid is not None and envelope.watchers:
            targets.update(self.watchers.get(envelope.call_cid, ()))
        frame = encode(envelope.event) if targets else ""
        for connection in targets:
            if not connection.push(frame):
                log.info("dropping connection %s of %s: outbox full", connection.id, connection.user_id)
                connection.close("too slow: event queue overflowed")
        if envelope.close_sockets:
            for user_id in envelope.user_ids:
                self.drop_user(user_id)
        return len(targets)

    async def start(self, bus: EventBus) -> None:
        """Deliver the bus's events from now on (subscribed once this returns)."""
        subscription = bus.subscribe()
        await subscription.ready()

        async def run() -> None:
            try:
                async for envelope in subscription:
                    self.deliver(envelope)
            finally:
                await subscription.close()

        self._task = asyncio.create_task(run(), name="weir-ws-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for connection in list(self.connections.values()):
            connection.close("server shutting down")
