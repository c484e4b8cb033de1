"""The SFU signaling WebSocket (docs/protocol.md): typed requests out, typed events in, health checks.

Events are handed, in order, to one async handler (an offer is applied before the candidates that follow it).
Requests get a ``request_id``; ``request(...)`` waits for the event that answers it, and raises ``SfuError``
when the SFU answers with an ``error`` carrying that id. A socket that closes without ``close()``, or stays
silent for three health-check intervals, is reported once through ``on_lost``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from weir.protocol.sfu.events import AnyEvent, ErrorEvent, SfuEvent
from weir.protocol.sfu.requests import HealthCheckRequest, Request

log = logging.getLogger(__name__)
E = TypeVar("E")

CONNECT_TIMEOUT = 10.0
ANSWER_TIMEOUT = 15.0
SILENT_INTERVALS = 3


class SfuError(Exception):
    """An ``error`` event from the SFU: its code, whether to retry and how to reconnect."""

    def __init__(self, event: ErrorEvent) -> None:
        super().__init__(f"{event.error.code}: {event.error.message}")
        self.code = event.error.code
        self.should_retry = event.error.should_retry
        self.reconnect_strategy = event.reconnect_strategy


class SfuSocket:
    def __init__(self, url: str, on_event: Callable[[AnyEvent], Awaitable[None]],
                 on_lost: Callable[[], None], health_interval: float = 5.0,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.url = url
        self._ssl = ssl_context
        self._on_event, self._on_lost, self._interval = on_event, on_lost, health_interval
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._waiters: list[tuple[Callable[[AnyEvent], bool], str | None, asyncio.Future[AnyEvent]]] = []
        self._ids = itertools.count(1)
        self._closing = False
        self._last_received = time.monotonic()

    async def open(self) -> None:
        ssl_context = self._ssl if self.url.startswith("wss:") else None
        self._ws = await asyncio.wait_for(connect(self.url, max_size=1 << 20, ssl=ssl_context), CONNECT_TIMEOUT)
        self._tasks = [asyncio.create_task(self._read()), asyncio.create_task(self._health())]

    @property
    def is_open(self) -> bool:
        return self._ws is not None and not self._closing

    async def send(self, request: Request) -> str:
        """Send ``request`` (with a fresh ``request_id``); returns the id."""
        request_id = request.request_id or f"r{next(self._ids)}"
        request.request_id = request_id
        if self._ws is None:
            raise ConnectionError("the SFU socket is not open")
        try:
            await self._ws.send(request.model_dump_json())
        except (ConnectionClosed, WebSocketException) as error:
            raise ConnectionError(f"the SFU socket closed: {error}") from error
        return request_id

    async def request(self, request: Request, answer: type[E], timeout: float = ANSWER_TIMEOUT) -> E:
        """Send ``request`` and wait for the first event of type ``answer`` (or the error it causes)."""
        future: asyncio.Future[AnyEvent] = asyncio.get_running_loop().create_future()
        request.request_id = request.request_id or f"r{next(self._ids)}"
        waiter = (lambda e: isinstance(e, answer), request.request_id, future)
        self._waiters.append(waiter)
        try:
            await self.send(request)
            return cast(E, await asyncio.wait_for(future, timeout))  # the waiter matched an ``answer``
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for raw in self._ws:
                self._last_received = time.monotonic()
                try:
                    event = SfuEvent.model_validate_json(raw).root
                except ValidationError as error:
                    log.warning("unreadable SFU event: %s", error.errors()[:1])
                    continue
                self._resolve(event)
                try:
                    await self._on_event(event)
                except Exception:  # one bad event must not stop the reader
                    log.exception("handling SFU event %s failed", event.type)
        except (ConnectionClosed, WebSocketException, OSError):
            pass
        finally:
            self._lost()

    def _resolve(self, event: AnyEvent) -> None:
        for matches, request_id, future in list(self._waiters):
            if future.done():
                continue
            if isinstance(event, ErrorEvent) and event.request_id is not None and event.request_id == request_id:
                future.set_exception(SfuError(event))
            elif matches(event):
                future.set_result(event)

    async def _health(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if time.monotonic() - self._last_received > SILENT_INTERVALS * self._interval:
                log.info("the SFU socket is silent: closing it")
                if self._ws is not None:
                    await self._ws.close()
                return
            with contextlib.suppress(ConnectionError):
                await self.send(HealthCheckRequest())

    def _lost(self) -> None:
        for _, _, future in self._waiters:
            if not future.done():
                future.set_exception(ConnectionError("the SFU socket closed"))
        if not self._closing:
            self._closing = True
            self._on_lost()

    def abort(self) -> None:
        """Drop the socket at once, as a network failure would (no close handshake)."""
        if self._ws is not None:
            self._ws.transport.abort()

    async def close(self) -> None:
        self._closing = True
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 2)
        await asyncio.gather(*(t for t in self._tasks if t is not current), return_exceptions=True)

    async def wait_closed(self) -> None:
        if self._ws is not None:
            await self._ws.wait_closed()


__all__ = ["SfuError", "SfuSocket"]
