"""``RemoteCoordinator``: a worker's coordinator link, over the internal channel to the coordinator's process.

The coordinator counts the worker live while the event socket is open; ``closed`` is set when it closes, and
the worker then stops unless it is being stopped already (``process``). Keep-alives and stats batches, which
nothing answers, go on that socket too: as HTTP requests each went through the coordinator's whole middleware
stack, and the worker's HTTP client, every few seconds for as long as media flows. ``drain`` is set when the coordinator
says ``drain``: nothing more is placed here, so the worker may send its participants away.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Collection
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from weir.bus.base import Envelope
from weir.sfu.signaling.link import CallRecord, CoordinatorUnavailable, ParticipantRecord
from weir.sfu.workers.channel import (
    CHANNEL_PREFIX,
    EVENTS_PATH,
    ChannelAuth,
    call_from_json,
    channel_token,
    participant_from_json,
)
from weir.sfu.workers.load import Load
from weir.sfu.workers.spec import NodeSpec

__all__ = ["RemoteCoordinator"]

log = logging.getLogger(__name__)

CONNECT_RETRY_SECONDS = 0.1


class _QueueSubscription:
    def __init__(self, owner: RemoteCoordinator) -> None:
        self._owner = owner
        self.queue: asyncio.Queue[Envelope | None] = asyncio.Queue()

    async def __aiter__(self) -> AsyncIterator[Envelope]:
        while (envelope := await self.queue.get()) is not None:
            yield envelope

    async def ready(self) -> None:
        """At once: the coordinator pushes this worker's events into the queue from its creation on."""

    async def close(self) -> None:
        self._owner.subscriptions.discard(self)
        self.queue.put_nowait(None)


class RemoteCoordinator:
    def __init__(self, coordinator_url: str, secret: str, worker: int, node: NodeSpec | None = None) -> None:
        self.coordinator_url = coordinator_url.rstrip("/")
        self.node = node
        self.secret = secret
        self.worker = worker
        self.http = httpx.AsyncClient(base_url=self.coordinator_url + CHANNEL_PREFIX,
                                      auth=ChannelAuth(secret, worker), timeout=10)
        self.subscriptions: set[_QueueSubscription] = set()
        self.closed = asyncio.Event()
        self.drain = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self.hello: dict[str, Any] = {}  # more to say in hello (the relay address, for cascading)
        self.on_cascade: Callable[[dict[str, Any]], None] | None = None  # cascade_peers and relay messages

    # --- CoordinatorLink -----------------------------------------------------------------------------------
    async def admit(self, call_cid: str, session_id: str) -> tuple[CallRecord, ParticipantRecord] | None:
        try:
            response = await self.http.post("/admit", json={"call_cid": call_cid, "session_id": session_id})
        except httpx.TransportError as error:  # timeouts included: a busy or restarting coordinator
            raise CoordinatorUnavailable(f"the coordinator did not answer: {error!r}") from None
        if response.status_code >= 500:
            raise CoordinatorUnavailable(f"the coordinator answered {response.status_code}")
        response.raise_for_status()
        body = response.json()
        if body["call"] is None:
            return None
        return call_from_json(body["call"]), participant_from_json(body["participant"])

    async def participant_left(self, call_cid: str, session_id: str, reason: str) -> None:
        response = await self.http.post("/left", json={"call_cid": call_cid, "session_id": session_id,
                                                       "reason": reason})
        response.raise_for_status()

    async def keep_alive(self, session_ids: Collection[str]) -> None:
        if session_ids:
            await self._tell({"type": "keep_alive", "session_ids": list(session_ids)})

    async def record_stats(self, call_cid: str, samples: list[dict[str, Any]]) -> None:
        await self._tell({"type": "stats", "call_cid": call_cid, "samples": samples})

    async def _tell(self, message: dict[str, Any]) -> None:
        """A report on the event socket; CoordinatorUnavailable before it opened or once it closed."""
        if self._ws is None:
            raise CoordinatorUnavailable("the coordinator's channel is not open")
        try:
            await self._ws.send(json.dumps(message))
        except ConnectionClosed:
            raise CoordinatorUnavailable("the coordinator's channel closed") from None

    def subscribe(self) -> _QueueSubscription:
        subscription = _QueueSubscription(self)
        self.subscriptions.add(subscription)
        return subscription

    # --- the event socket ----------------------------------------------------------------------------------
    async def connect(self, port: int, wait_seconds: float) -> None:
        """Open the event socket (the coordinator may still be starting) and say hello: from now on the
        coordinator places calls here."""
        url = self.coordinator_url.replace("http", "ws", 1) + EVENTS_PATH
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while self._ws is None:
            try:
                self._ws = await connect(url, additional_headers={
                    "Authorization": f"Bearer {channel_token(self.secret, self.worker)}"})
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(CONNECT_RETRY_SECONDS)
        node = self.node.model_dump() if self.node else None
        await self._ws.send(json.dumps({**self.hello, "type": "hello", "port": port, "pid": os.getpid(),
                                        "node": node}))
        self._reader = asyncio.create_task(self._read(self._ws), name="weir-sfu-worker-events")

    async def report_hosted(self, call_cids: Collection[str], load: Load) -> None:
        if self._ws is not None:
            await self._ws.send(json.dumps({"type": "hosted", "calls": sorted(call_cids), "load": load.model_dump()}))

    async def draining(self) -> None:
        """Ask to be drained (the node is stopping): the coordinator answers ``drain``."""
        if self._ws is not None:
            await self._ws.send(json.dumps({"type": "draining"}))

    async def send(self, message: dict[str, Any]) -> None:
        """A message on the event socket (cascading's relay messages)."""
        if self._ws is not None:
            await self._ws.send(json.dumps(message))

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.http.aclose()

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "event":
                    envelope = Envelope(event=message["event"], call_cid=message["event"].get("call_cid"))
                    for subscription in tuple(self.subscriptions):
                        subscription.queue.put_nowait(envelope)
                elif message.get("type") == "drain":
                    self.drain.set()
                elif message.get("type") in ("cascade_peers", "relay") and self.on_cascade is not None:
                    self.on_cascade(message)
        except ConnectionClosed:
            pass
        finally:
            log.info("SFU worker %d: the coordinator's channel closed", self.worker)
            self.closed.set()
