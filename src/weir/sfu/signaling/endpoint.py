"""One signaling WebSocket: wait for ``join``, then read requests in order and hand them to the handlers.

Requests of one socket are handled one at a time, in the order sent (an offer before its candidates). Replies
and events go through the socket's ``Outbox``. A bad message gets an ``error`` and the socket stays open, unless
the error's policy closes it (a bad token, an unknown session). When the socket ends without ``leave`` the
session is kept for the fast-reconnect deadline (rooms.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from starlette.websockets import WebSocket, WebSocketDisconnect

from weir.protocol.sfu.errors import SfuErrorCode, SignalError
from weir.protocol.sfu.parse import parse_request
from weir.sfu.signaling.handlers import handle
from weir.sfu.signaling.join import join
from weir.sfu.signaling.outbox import POLICY_VIOLATION, Outbox
from weir.sfu.signaling.session import ParticipantSession

if TYPE_CHECKING:
    from weir.sfu.signaling.server import SfuServer

log = logging.getLogger(__name__)

GOING_AWAY = 1001


class SignalingSocket:
    def __init__(self, ws: WebSocket, sfu: SfuServer) -> None:
        self.ws = ws
        self.sfu = sfu
        self.outbox = Outbox()
        self.session: ParticipantSession | None = None

    async def run(self) -> None:
        await self.ws.accept()
        writer = asyncio.create_task(self._write())
        try:
            await self._read()
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client went away
        finally:
            session = self.session
            if session is not None and session.outbox is self.outbox:
                self.sfu.rooms.socket_lost(session)
            self.outbox.close(GOING_AWAY, "closing")
            await asyncio.wait({writer}, timeout=self.sfu.settings.ws_idle_timeout_seconds)
            writer.cancel()

    async def _write(self) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            while (text := await self.outbox.queue.get()) is not None:
                await self.ws.send_text(text)
            await self.ws.close(self.outbox.close_code, self.outbox.close_reason[:120])

    def _timeout(self, join_by: float) -> float:
        if self.session is None:
            return max(0.0, join_by - time.monotonic())
        return self.sfu.settings.ws_idle_timeout_seconds

    async def _read(self) -> None:
        join_by = time.monotonic() + self.sfu.settings.ws_auth_timeout_seconds
        while not self.outbox.closed:
            try:
                message = await asyncio.wait_for(self.ws.receive(), self._timeout(join_by))
            except TimeoutError:
                reason = "no join in time" if self.session is None else "silent for too long"
                self.outbox.close(POLICY_VIOLATION if self.session is None else GOING_AWAY, reason)
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                self.outbox.fail(SignalError(SfuErrorCode.INVALID_MESSAGE, "messages must be JSON text frames"))
                continue
            await self._handle(text)

    async def _handle(self, raw: str) -> None:
        try:
            request = parse_request(raw)
            if self.session is not None:
                await handle(self.sfu.rooms, self.session, request)
            elif request.type == "join":
                self.session = await join(self.sfu.secret, self.sfu.rooms, self.outbox, request, self.sfu.join_limit)
            else:
                raise SignalError(SfuErrorCode.NOT_JOINED, "send join first", request.request_id)
        except SignalError as error:
            self.outbox.fail(error)
        except Exception:
            log.exception("signaling request failed")
            self.outbox.fail(SignalError(SfuErrorCode.INTERNAL_ERROR, "the SFU could not handle this request"))


__all__ = ["SignalingSocket"]
