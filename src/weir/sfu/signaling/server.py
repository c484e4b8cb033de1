"""``SfuServer``: the signaling endpoint, the rooms, and the work that follows the coordinator."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Response, WebSocket

from weir.bus.base import Subscription
from weir.config import Settings
from weir.sfu.signaling.coordinator_events import on_coordinator_event
from weir.sfu.signaling.endpoint import SignalingSocket
from weir.sfu.signaling.join_limit import JoinLimit
from weir.sfu.signaling.link import CoordinatorLink
from weir.sfu.signaling.media import MediaRoomFactory
from weir.sfu.signaling.paths import LATENCY_PATH, SIGNALING_PATH
from weir.sfu.signaling.rooms import Rooms

log = logging.getLogger(__name__)


def add_latency_route(router: APIRouter) -> None:
    @router.get(LATENCY_PATH, summary="Answer at once: clients time it to pick the nearest edge")
    async def latency() -> Response:
        return Response(headers={"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"})


class SfuServer:
    def __init__(self, settings: Settings, link: CoordinatorLink, media_rooms: MediaRoomFactory) -> None:
        self.settings = settings
        self.link = link
        self.rooms = Rooms(link, media_rooms, settings.sfu_fast_reconnect_deadline_seconds)
        self.join_limit = JoinLimit(settings.sfu_joins_per_minute, settings.rate_limits_enabled)
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def secret(self) -> str:
        assert self.settings.api_secret is not None
        return self.settings.api_secret

    def router(self) -> APIRouter:
        router = APIRouter(tags=["sfu"])

        @router.websocket(SIGNALING_PATH)
        async def signaling(ws: WebSocket) -> None:
            await SignalingSocket(ws, self).run()

        add_latency_route(router)
        return router

    async def start(self) -> None:
        self._subscription = self.link.subscribe()
        self._tasks = [asyncio.create_task(self._follow_coordinator(self._subscription), name="weir-sfu-events"),
                       asyncio.create_task(self._keep_alive(), name="weir-sfu-keepalive")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._subscription is not None:
            await self._subscription.close()
        await self.rooms.go_away()

    async def _follow_coordinator(self, subscription: Subscription) -> None:
        async for envelope in subscription:
            try:
                await on_coordinator_event(self.rooms, envelope.event)
            except Exception:
                log.exception("SFU could not apply coordinator event %s", envelope.type)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sfu_keepalive_seconds)
            try:
                await self.link.keep_alive([s.id for s in self.rooms.all_sessions()])
            except Exception:
                log.exception("SFU could not mark its participants present")


__all__ = ["SfuServer", "add_latency_route"]
