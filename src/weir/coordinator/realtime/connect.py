"""The coordinator WebSocket endpoint: handshake, health checks and event delivery for one connection.

Protocol: connect to ``/api/v1/connect?api_key=…``; send ``{"token": JWT, "user_details": {"id", "name",
"image", "custom", "language"}}`` first; receive ``connection.ok`` (``connection_id``, ``me``) or
``connection.error`` and a close. Both sides send ``health.check``; a socket silent for
``ws_idle_timeout_seconds`` is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weir.coordinator.auth import admit_socket, authenticate, services
from weir.coordinator.realtime.hub import Connection, encode
from weir.coordinator.userview import user_response
from weir.domain.clock import now
from weir.protocol.errors import APIError, ErrorCode
from weir.protocol.events import CONNECTION_ERROR, CONNECTION_OK, HEALTH_CHECK
from weir.protocol.freeform import Custom
from weir.protocol.limits import USER_ID_PATTERN, json_text_problem
from weir.protocol.users import UserResponse
from weir.store.users import get_user

router = APIRouter(tags=["realtime"])

POLICY_VIOLATION = 1008
UNSUPPORTED_DATA = 1003
MESSAGE_TOO_BIG = 1009
MAX_MESSAGE_BYTES = 64 * 1024
# Before auth only the auth message is read: a token (8 KB at most) and user details (5 KB of custom data).
MAX_AUTH_MESSAGE_BYTES = 16 * 1024


class UserDetails(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=USER_ID_PATTERN)
    name: str | None = Field(default=None, max_length=255)
    image: str | None = Field(default=None, max_length=2048)
    language: str | None = Field(default=None, max_length=16)
    custom: Custom | None = None


class AuthMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=8192)
    user_details: UserDetails | None = None


def _stamp() -> str:
    return now().isoformat()


async def _handshake(ws: WebSocket, raw: str) -> tuple[str, dict[str, Any]]:
    """Authenticate the first message; upsert the user's details; return the user id and ``me``."""
    problem = json_text_problem(raw)
    if problem is not None:
        raise APIError(ErrorCode.INPUT_ERROR, "{}: {}".format(*problem), fields=dict([problem]))
    try:
        message = AuthMessage.model_validate_json(raw)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "message"
        raise APIError(ErrorCode.INPUT_ERROR, f"bad auth message: {where}: {first['msg']}",
                       fields={where: first["msg"]}) from error
    who = await authenticate(ws, message.token)
    if who.is_egress and who.user_id is not None:
        # a composite recording's layout page: it watches its call's events; hidden, it has no user of its own
        stamp = now()
        return who.user_id, UserResponse(id=who.user_id, name="Recorder", role=who.user_role or "user", invisible=True,
                                         created_at=stamp, updated_at=stamp).model_dump(mode="json")
    if who.is_server or who.is_anonymous or who.user_id is None:
        raise APIError(ErrorCode.NOT_ALLOWED, "only user tokens can open a WebSocket (anonymous users get none)")
    await admit_socket(ws, who, await services(ws).presence.connections(who.user_id))
    details = message.user_details
    if details is not None and details.id != who.user_id:
        raise APIError(ErrorCode.INPUT_ERROR, "user_details.id does not match the token's user_id",
                       fields={"user_details.id": "must match the token"})
    async with services(ws).db.transaction() as session:
        user = await get_user(session, who.user_id)
        assert user is not None  # authenticate() created it
        if details is not None:
            for key, value in details.model_dump(exclude={"id"}, exclude_unset=True).items():
                setattr(user, key, value)
        user.online = True
        user.last_active = now()
        me = user_response(user).model_dump(mode="json")
    return who.user_id, me


async def _set_offline(ws: WebSocket, user_id: str) -> None:
    async with services(ws).db.transaction() as session:
        user = await get_user(session, user_id)
        if user is not None:
            user.online = False
            user.last_active = now()


async def _write(ws: WebSocket, connection: Connection, interval: float) -> None:
    """Send queued events; a health.check when idle; close the socket if the outbox overflowed."""
    while True:
        try:  # asyncio.timeout, not wait_for: no task per frame, which at 1,000 sockets an event adds up
            async with asyncio.timeout(interval):
                frame = await connection.outbox.get()
        except TimeoutError:
            frame = _health_check(connection)
        if frame is None:
            await ws.close(code=POLICY_VIOLATION, reason=connection.close_reason)
            return
        await ws.send_text(frame)


class Refused(Exception):
    """The first message can't be an auth message: answer ``error`` and close with ``code``."""

    def __init__(self, error: APIError, code: int) -> None:
        super().__init__(error.message)
        self.error = error
        self.code = code


async def _receive_text(ws: WebSocket) -> str | None:
    """The next text frame; None for a binary one (the protocol has none)."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    return text if isinstance(text, str) else None


async def _auth_text(ws: WebSocket) -> str:
    raw = await _receive_text(ws)
    if raw is None:
        raise Refused(APIError(ErrorCode.INPUT_ERROR, "the auth message must be a JSON text frame, not binary"),
                      UNSUPPORTED_DATA)
    if len(raw) > MAX_AUTH_MESSAGE_BYTES:
        too_big = f"the auth message is limited to {MAX_AUTH_MESSAGE_BYTES} bytes"
        raise Refused(APIError(ErrorCode.INPUT_ERROR, too_big), MESSAGE_TOO_BIG)
    return raw


async def _read(ws: WebSocket, connection: Connection, idle_timeout: float) -> None:
    while True:
        raw = await asyncio.wait_for(_receive_text(ws), idle_timeout)
        try:
            message = json.loads(raw) if raw is not None and len(raw) <= MAX_MESSAGE_BYTES else None
        except (ValueError, RecursionError):  # RecursionError: nesting too deep for the parser
            message = None
        if not isinstance(message, dict):
            error = APIError(ErrorCode.INPUT_ERROR, "messages must be JSON text objects up to 64 KB")
            connection.push(encode(_error(error)))
        elif message.get("type") == HEALTH_CHECK:
            connection.push(_health_check(connection))


def _health_check(connection: Connection) -> str:
    return encode({"type": HEALTH_CHECK, "connection_id": connection.id, "created_at": _stamp()})


def _error(error: APIError) -> dict[str, Any]:
    return {"type": CONNECTION_ERROR, "created_at": _stamp(), "error": error.body(0)}


@router.websocket("/connect")
async def connect(ws: WebSocket) -> None:
    weir = services(ws)
    settings = weir.settings
    await ws.accept()
    try:
        raw = await asyncio.wait_for(_auth_text(ws), settings.ws_auth_timeout_seconds)
        user_id, me = await _handshake(ws, raw)
    except (WebSocketDisconnect, RuntimeError):
        return
    except Refused as refusal:
        await _refuse(ws, refusal.error, refusal.code)
        return
    except TimeoutError:
        await _refuse(ws, APIError(ErrorCode.AUTH_FAILED, "no auth message in time"))
        return
    except APIError as error:
        await _refuse(ws, error)
        return
    connection = weir.hub.add(user_id)
    await weir.presence.opened(user_id)
    await ws.send_text(json.dumps({"type": CONNECTION_OK, "connection_id": connection.id,
                                   "created_at": _stamp(), "me": me}))
    writer = asyncio.create_task(_write(ws, connection, settings.ws_health_check_seconds))
    reader = asyncio.create_task(_read(ws, connection, settings.ws_idle_timeout_seconds))
    try:
        await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (writer, reader):
            task.cancel()
        await asyncio.gather(writer, reader, return_exceptions=True)
        weir.hub.remove(connection)
        await weir.presence.closed(user_id)
        if not await weir.presence.connections(user_id):  # the user's last socket on any coordinator process
            await _set_offline(ws, user_id)
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await ws.close()


async def _refuse(ws: WebSocket, error: APIError, code: int = POLICY_VIOLATION) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await ws.send_text(json.dumps(_error(error)))
        await ws.close(code=code, reason=error.message[:120])
