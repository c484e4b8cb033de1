"""A small WebSocket client for tests: connect, authenticate, and wait for events by type."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import RunningServer


class EventClient:
    def __init__(self, ws: ClientConnection, hello: dict[str, Any]) -> None:
        self.ws = ws
        self.hello = hello
        self.seen: list[dict[str, Any]] = []

    @property
    def connection_id(self) -> str:
        return str(self.hello["connection_id"])

    async def next_event(self, timeout: float = 5) -> dict[str, Any]:
        event = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.seen.append(event)
        return event

    async def wait_for(self, event_type: str, timeout: float = 5) -> dict[str, Any]:
        """The next event of ``event_type``, skipping others (health checks, unrelated events)."""
        async def scan() -> dict[str, Any]:
            while True:
                event = await self.next_event(timeout)
                if event["type"] == event_type:
                    return event

        return await asyncio.wait_for(scan(), timeout)

    async def assert_no(self, event_type: str, wait: float = 0.3) -> None:
        """Nothing of ``event_type`` arrives within ``wait`` seconds (used for non-recipients)."""
        try:
            while True:
                event = await self.next_event(wait)
                assert event["type"] != event_type, f"unexpected {event_type}: {event}"
        except TimeoutError:
            return

    async def close(self) -> None:
        await self.ws.close()


def ws_url(server: RunningServer) -> str:
    return server.base_url.replace("http://", "ws://") + f"/api/v1/connect?api_key={server.api_key}"


async def open_socket(server: RunningServer, token: str, details: dict[str, Any] | None = None) -> ClientConnection:
    ws = await connect(ws_url(server))
    await ws.send(json.dumps({"token": token, **({"user_details": details} if details else {})}))
    return ws


async def connect_user(server: RunningServer, user_id: str, **details: Any) -> EventClient:
    ws = await open_socket(server, server.token(user_id), {"id": user_id, **details})
    hello = json.loads(await ws.recv())
    assert hello["type"] == "connection.ok", hello
    return EventClient(ws, hello)
