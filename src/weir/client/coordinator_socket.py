"""The coordinator WebSocket: handshake, health checks, events in, and reconnection with backoff.

Handshake: send ``{"token", "user_details"}``, receive ``connection.ok`` (``connection_id``, ``me``) or
``connection.error``. An expired token is reloaded through the token manager and the handshake retried once.
Health: the client sends ``health.check`` when it has sent nothing for ``health_interval`` seconds, answers the
server's checks (at most one answer per half interval, so the server's echo of an answer is not answered
again), and treats three intervals of silence as a dead socket. A socket that closes without ``close()`` is
reopened with the retry policy's backoff; every reopening gets a new ``connection_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from weir.client.errors import WeirAPIError
from weir.client.options import RetryPolicy
from weir.client.status import ConnectionState, ConnectionStatus
from weir.client.tokens import TokenManager
from weir.protocol.errors import ErrorCode
from weir.protocol.events import CONNECTION_ERROR, CONNECTION_OK, HEALTH_CHECK

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 10.0
CLOSE_TIMEOUT = 2.0
SILENT_INTERVALS = 3


@dataclass(frozen=True)
class SocketHandlers:
    on_event: Callable[[dict[str, Any]], None]
    on_state: Callable[[ConnectionState], None]
    on_reconnected: Callable[[dict[str, Any]], Awaitable[None]]


class CoordinatorSocket:
    def __init__(self, url: str, tokens: TokenManager, details: Callable[[], dict[str, Any] | None],
                 handlers: SocketHandlers, retry: RetryPolicy, health_interval: float,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._url, self._tokens, self._details, self._handlers = url, tokens, details, handlers
        self._retry, self._interval = retry, health_interval
        self._ssl = ssl_context
        self._ws: ClientConnection | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closing = False
        self._send_lock = asyncio.Lock()
        self._last_sent = self._last_received = time.monotonic()
        self.connection_id: str | None = None

    async def connect(self) -> dict[str, Any]:
        """Open the socket; returns ``connection.ok``. Raises ``WeirAPIError`` if the server refuses."""
        self._closing = False
        self._set_state(ConnectionState(ConnectionStatus.CONNECTING))
        try:
            hello = await self._open()
        except BaseException:
            self._set_state(ConnectionState(ConnectionStatus.DISCONNECTED))
            raise
        self._runner = asyncio.create_task(self._run(), name="weir-client-socket")
        return hello

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        self.connection_id = None
        self._set_state(ConnectionState(ConnectionStatus.DISCONNECTED))

    def _set_state(self, state: ConnectionState) -> None:
        self._handlers.on_state(state)

    async def _open(self) -> dict[str, Any]:
        for attempt in (1, 2):
            ws = await connect(self._url, open_timeout=HANDSHAKE_TIMEOUT, close_timeout=CLOSE_TIMEOUT,
                               ssl=self._ssl if self._url.startswith("wss:") else None)
            try:
                token = await self._tokens.get()
                hello = await self._handshake(ws, token)
            except BaseException:
                await ws.close()
                raise
            if hello.get("type") == CONNECTION_OK:
                self._ws, self.connection_id = ws, str(hello["connection_id"])
                self._last_sent = self._last_received = time.monotonic()
                self._set_state(ConnectionState(ConnectionStatus.CONNECTED, self.connection_id))
                return hello
            await ws.close()
            error = hello.get("error") or {"message": f"unexpected handshake answer {hello.get('type')!r}"}
            if error.get("code") == ErrorCode.TOKEN_EXPIRED and attempt == 1 and self._tokens.can_refresh:
                await self._tokens.refresh(token)
                continue
            raise WeirAPIError(int(error.get("status_code") or 401), httpx.Headers(), error)
        raise AssertionError("unreachable")

    async def _handshake(self, ws: ClientConnection, token: str) -> dict[str, Any]:
        details = self._details()
        await ws.send(json.dumps({"token": token, **({"user_details": details} if details else {})}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), HANDSHAKE_TIMEOUT))
        return answer if isinstance(answer, dict) else {}

    async def _run(self) -> None:
        while not self._closing:
            assert self._ws is not None
            await self._pump(self._ws)
            if self._closing or not await self._reconnect():
                return

    async def _pump(self, ws: ClientConnection) -> None:
        """Read events until the socket closes, keeping it healthy meanwhile."""
        health = asyncio.create_task(self._health(ws))
        try:
            async for raw in ws:
                self._last_received = time.monotonic()
                await self._receive(ws, raw)
        except ConnectionClosed:
            pass
        finally:
            health.cancel()
            await asyncio.gather(health, return_exceptions=True)

    async def _receive(self, ws: ClientConnection, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("coordinator sent a message that is not JSON")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == HEALTH_CHECK:
            if time.monotonic() - self._last_sent >= self._interval / 2:
                await self._send_health(ws)
        elif kind == CONNECTION_ERROR:
            log.warning("coordinator socket error: %s", message.get("error"))
        elif kind is not None and kind != CONNECTION_OK:
            self._handlers.on_event(message)

    async def _health(self, ws: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self._interval / 2)
            now = time.monotonic()
            if now - self._last_received > SILENT_INTERVALS * self._interval:
                log.info("coordinator socket silent for %.1f s: reconnecting", now - self._last_received)
                await ws.close()
                return
            if now - self._last_sent >= self._interval:
                await self._send_health(ws)

    async def _send_health(self, ws: ClientConnection) -> None:
        async with self._send_lock:
            self._last_sent = time.monotonic()
            with contextlib.suppress(ConnectionClosed):
                await ws.send(json.dumps({"type": HEALTH_CHECK, "connection_id": self.connection_id}))

    async def _reconnect(self) -> bool:
        """Reopen with backoff; False when the policy gives up or the server refuses for good."""
        attempt = 0
        while not self._closing:
            attempt += 1
            if self._retry.max_retries is not None and attempt > self._retry.max_retries:
                break
            self._set_state(ConnectionState(ConnectionStatus.RECONNECTING, attempt=attempt))
            await asyncio.sleep(self._retry.backoff(attempt))
            try:
                hello = await self._open()
            except WeirAPIError as error:
                log.warning("coordinator refused the reconnection: %s", error)
                break
            except (OSError, WebSocketException, TimeoutError, ValueError) as error:
                log.info("reconnection attempt %d failed: %s", attempt, error)
                continue
            try:
                await self._handlers.on_reconnected(hello)
            except Exception:  # re-watching is best effort; the socket itself is back
                log.exception("re-watching calls after reconnecting failed")
            return True
        self.connection_id = None
        self._set_state(ConnectionState(ConnectionStatus.DISCONNECTED))
        return False
