"""``SfuServer``: the signaling endpoint, the rooms, and the work that follows the coordinator."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from weir.bus.base import Subscription
from weir.config import Settings
from weir.sfu.signaling.coordinator_events import on_coordinator_event
from weir.sfu.signaling.endpoint import SignalingSocket
from weir.sfu.signaling.join_limit import JoinLimit
from weir.sfu.signaling.link import CoordinatorLink
from weir.sfu.signaling.media import MediaRoomFactory
from weir.sfu.signaling.paths import LATENCY_PATH, SIGNALING_PATH
from weir.sfu.signaling.rooms import SignalingRooms

log = logging.getLogger(__name__)


async def latency(_request: Request) -> Response:
    """Answer at once: clients time it to pick the nearest edge."""
    return Response(headers={"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"})


LATENCY_ROUTE = Route(LATENCY_PATH, latency, methods=["GET"])


class SfuServer:
    def __init__(self, settings: Settings, link: CoordinatorLink, media_rooms: MediaRoomFactory) -> None:
        self.settings = settings
        self.link = link
        self.rooms = SignalingRooms(link, media_rooms, settings.sfu_fast_reconnect_deadline_seconds)
        self.join_limit = JoinLimit(settings.sfu_joins_per_minute, settings.rate_limits_enabled)
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def secret(self) -> str:
        assert self.settings.api_secret is not None
        return self.settings.api_secret

    def signaling_route(self) -> WebSocketRoute:
        async def signaling(ws: WebSocket) -> None:
            await SignalingSocket(ws, self).run()

        return WebSocketRoute(SIGNALING_PATH, signaling)

    async def start(self) -> None:
        self._subscription = self.link.subscribe()
        self._tasks = [asyncio.create_task(self._follow_coordinator(self._subscription), name="weir-sfu-events"),
                       asyncio.create_task(self._keep_alive(), name="weir-sfu-keepalive"),
                       asyncio.create_task(self._report_stats(), name="weir-sfu-stats")]

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

    async def _report_stats(self) -> None:
        """Every ``sfu_stats_seconds``: one batch of samples per room to the coordinator."""
        while True:
            await asyncio.sleep(self.settings.sfu_stats_seconds)
            for room in list(self.rooms.rooms.values()):
                samples = []
                for session in list(room.sessions.values()):
                    if session.hidden or session.media_or_none is None:
                        continue
                    sample = session.stats.sample(session.media_or_none.track_stats())
                    samples.append({"user_session_id": session.id, "user_id": session.user_id, **sample})
                if not samples:
                    continue
                try:
                    await self.link.record_stats(room.cid, samples)
                except Exception:
                    log.exception("SFU could not report the stats of %s", room.cid)


__all__ = ["LATENCY_ROUTE", "SfuServer", "latency"]
