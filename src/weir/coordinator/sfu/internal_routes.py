"""The coordinator's end of the internal channel: the workers' coordinator link, served over HTTP and one WebSocket.

- ``POST /internal/sfu/admit``, ``/left``, ``/keep_alive``: ``CoordinatorLink``'s calls, answered by
  ``LocalCoordinator``. Admitting also checks the worker owns the call, so a call never splits over workers.
  They are carried out by the process holding the worker's event socket: another process passes them on
  (``ClusterControl.on_holder``).
- ``POST /internal/sfu/stats``: a batch of call stats samples (``CoordinatorLink.record_stats``).
- ``WS /internal/sfu/events``: the worker says ``hello`` (its port and pid; a node's worker its ``NodeSpec`` too)
  and is live until the socket closes; it gets the coordinator's events of the calls it owns and reports the calls
  it hosts and its load. Its keep-alives and stats batches come this way too (``keep_alive`` and ``stats``, the
  bodies of the routes above; nothing answers them), sparing the coordinator an HTTP request each. A worker that
  says ``draining`` is drained (``WorkerRegistry.drain``) and then told
  ``drain``: it sends its participants ``go_away`` only once nothing more is placed on it.
- ``POST /internal/sfu/nodes/{name}/drain`` (the coordinator's token: ``weir sfu drain``): drain a node's workers,
  whichever coordinator process holds their channels (``ClusterControl``).

``end_lost_sessions`` is for the supervisor: a worker process died, so the coordinator lets its participants go
(the others are told) and their clients rejoin, landing on a live worker. A node's worker is lost when its socket
closes or stays silent for ``SILENT_SECONDS`` (it reports every second): the same happens at once.

None of it is in the public OpenAPI; every request needs a worker's channel token (``channel``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field

from weir.bus.base import Subscription
from weir.coordinator.sfu.cascade import CallHosts
from weir.coordinator.sfu.cluster_control import ClusterControl, end_session
from weir.coordinator.sfu.local_link import LocalCoordinator
from weir.coordinator.sfu.registry import LiveWorker, WorkerRegistry
from weir.protocol.errors import APIError, ErrorCode, input_error, not_found
from weir.sfu.workers.channel import (
    CHANNEL_PREFIX,
    EVENTS_PATH,
    NODES_PATH,
    ChannelTokenError,
    call_to_json,
    participant_to_json,
    verify_channel_token,
)
from weir.sfu.workers.load import Load
from weir.sfu.workers.spec import NodeSpec

__all__ = ["end_lost_sessions", "internal_router"]

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
MAX_STATS_SAMPLES = 1000  # one batch: a sample per session of one call
SILENT_SECONDS = 6.0  # a node's worker silent this long is taken for dead (it reports every second)


class SessionRef(BaseModel):
    call_cid: str
    session_id: str


class Left(SessionRef):
    reason: str


class KeepAlive(BaseModel):
    session_ids: list[str]


class StatsBatch(BaseModel):
    call_cid: str
    samples: list[dict[str, Any]] = Field(max_length=MAX_STATS_SAMPLES)


REPORTS: dict[str, type[BaseModel]] = {"keep_alive": KeepAlive, "stats": StatsBatch}  # also on the event socket


def internal_router(link: LocalCoordinator, registry: WorkerRegistry, worker_host: str,
                    hosts: CallHosts | None = None, control: ClusterControl | None = None) -> APIRouter:
    hosts = hosts or CallHosts(registry, 0)
    control = control or ClusterControl(registry, link)
    control.drained = hosts.draining
    router = APIRouter(prefix=CHANNEL_PREFIX, include_in_schema=False)

    async def admit(sender: LiveWorker, raw: dict[str, Any]) -> dict[str, Any]:
        body = SessionRef.model_validate(raw)
        if not await hosts.claim(body.call_cid, sender):
            return {"call": None, "participant": None}
        admitted = await link.admit(body.call_cid, body.session_id)
        if admitted is None:
            return {"call": None, "participant": None}
        await registry.admitted(sender, body.call_cid, body.session_id)
        await hosts.admitted(sender, body.call_cid, body.session_id)
        call, participant = admitted
        return {"call": call_to_json(call), "participant": participant_to_json(participant)}

    async def left(sender: LiveWorker, raw: dict[str, Any]) -> dict[str, Any]:
        body = Left.model_validate(raw)
        await registry.left(sender, body.call_cid, body.session_id)
        await hosts.left(sender, body.call_cid, body.session_id)
        await link.participant_left(body.call_cid, body.session_id, body.reason)
        return {}

    async def keep_alive(_sender: LiveWorker, raw: dict[str, Any]) -> dict[str, Any]:
        await link.keep_alive(KeepAlive.model_validate(raw).session_ids)
        return {}

    async def stats(_sender: LiveWorker, raw: dict[str, Any]) -> dict[str, Any]:
        body = StatsBatch.model_validate(raw)
        await link.record_stats(body.call_cid, body.samples)
        return {}

    control.channel_calls = {"admit": admit, "left": left, "keep_alive": keep_alive, "stats": stats}
    bodies: dict[str, type[BaseModel]] = {"admit": SessionRef, "left": Left, **REPORTS}

    async def reported(live: LiveWorker, message: dict[str, Any]) -> None:
        """A keep-alive or stats batch on the event socket: a bad one or a failing write is logged and dropped,
        and the socket goes on."""
        call = str(message["type"])
        try:
            await control.channel_calls[call](live, REPORTS[call].model_validate(message).model_dump())
        except Exception:
            log.exception("SFU worker %d: its %s could not be applied", live.index, call)

    def sender_of(request: Request) -> int | None:
        """The worker index the channel token names (None: the operator's token); 401 for a bad token."""
        try:
            return verify_channel_token(link.weir.api_secret, request.headers.get("authorization"))
        except ChannelTokenError as error:
            raise APIError(ErrorCode.AUTH_FAILED, str(error)) from None

    @router.post("/{call}")
    async def channel_call(call: str, request: Request) -> dict[str, Any]:
        """The worker's request, here if this process holds its channel, else where it is held."""
        index = sender_of(request)
        if call not in bodies:
            raise not_found(f"channel call {call!r}")
        try:
            body = bodies[call].model_validate(await request.json()).model_dump()
        except ValueError as error:  # not JSON, or not the call's body
            raise input_error("body", str(error)) from None
        live = None if index is None else registry.live.get(index)
        if live is not None:
            return await control.channel_calls[call](live, body)
        answer = None if index is None else await control.on_holder(index, call, body)
        if answer is None:
            raise APIError(ErrorCode.AUTH_FAILED, "only a live SFU worker may use this channel")
        return answer

    @router.post(NODES_PATH.removeprefix(CHANNEL_PREFIX) + "/{name}/drain")
    async def drain_node(name: str, request: Request) -> dict[str, object]:
        index = sender_of(request)
        if index is not None:
            raise APIError(ErrorCode.AUTH_FAILED, "only the operator's token may drain a node")
        workers = await control.drain_node(name)
        if not workers:
            raise APIError(ErrorCode.NOT_FOUND, f"no live SFU node is named {name!r}")
        return {"node": name, "workers": workers}

    @router.websocket(EVENTS_PATH.removeprefix(CHANNEL_PREFIX))
    async def events(ws: WebSocket) -> None:
        try:
            index = verify_channel_token(link.weir.api_secret, ws.headers.get("authorization"))
        except ChannelTokenError:
            index = None
        if index is None:
            await ws.close(code=POLICY_VIOLATION)  # before accepting: the handshake is refused with a 403
            return
        await ws.accept()
        hello = await ws.receive_json()
        node = NodeSpec.model_validate(hello["node"]) if hello.get("node") else None
        host = ws.client.host if node is not None and ws.client is not None else worker_host
        live = LiveWorker(index=index, host=host, port=int(hello["port"]), pid=int(hello["pid"]),
                          send=ws.send_json, node=node)
        hosts.hello(live, hello)
        registry.attach(live)
        subscription = link.subscribe()
        forwarding = asyncio.create_task(_forward(subscription, hosts, live))
        try:
            while True:
                message = await asyncio.wait_for(ws.receive_json(), SILENT_SECONDS if node else None)
                if message.get("type") == "hosted":
                    await registry.hosted(live, [str(cid) for cid in message.get("calls", [])])
                    live.load = Load.model_validate(message.get("load") or {})
                elif message.get("type") == "draining":
                    await control.drain(live)
                elif message.get("type") == "relay":
                    await hosts.relay(live, message)
                elif message.get("type") in REPORTS:
                    await reported(live, message)
        except (WebSocketDisconnect, RuntimeError):
            pass
        except TimeoutError:
            log.warning("SFU node %s (worker %d) went silent: taken for dead", node and node.name, index)
        finally:
            forwarding.cancel()
            await asyncio.gather(forwarding, return_exceptions=True)
            await subscription.close()
            registry.detach(live)
            await hosts.gone(index)
            if node is not None:  # no supervisor of ours sees it go
                await end_lost_sessions(link, registry, index)

    return router


async def _forward(subscription: Subscription, hosts: CallHosts, live: LiveWorker) -> None:
    """The coordinator's events of the calls this worker hosts, in order (each checked in constant time without
    cascading; with it, ``CallHosts`` answers)."""
    receives = hosts.receives if hosts.call_size > 0 else hosts.registry.receives
    async for envelope in subscription:
        call_cid = envelope.event.get("call_cid")
        if call_cid is not None and receives(str(call_cid), live):
            try:
                await live.send({"type": "event", "event": envelope.event})
            except Exception:  # the socket is closing: the receive loop sees it too
                return


async def end_lost_sessions(link: LocalCoordinator, registry: WorkerRegistry, index: int) -> None:
    sessions = await registry.lost(index)
    if sessions:  # a drained node's workers leave none
        log.warning("SFU worker %d was lost with %d participants", index, len(sessions))
    for call_cid, session_id in sorted(sessions):
        await end_session(link, call_cid, session_id)
