"""How the coordinator runs the SFU: in its own process and event loop (``WEIR_SFU_WORKERS=0``), or as media
worker processes that each own whole calls (``sfu.workers``): its own, and SFU nodes' on other hosts that register
over the internal channel (``WEIR_SFU_NODES``)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response
from redis.asyncio import Redis

from weir.config import Settings, reachable_host
from weir.coordinator.sfu.cascade import CallHosts, CascadePlacement
from weir.coordinator.sfu.cluster_control import ClusterControl
from weir.coordinator.sfu.internal_routes import end_lost_sessions, internal_router
from weir.coordinator.sfu.local_link import LocalCoordinator
from weir.coordinator.sfu.placement import SameServer, SfuPlacement, WorkerPlacement
from weir.coordinator.sfu.registry import GRACE_SECONDS, WorkerRegistry
from weir.coordinator.sfu.remote_entry import RemoteEntry
from weir.coordinator.sfu.shared_registry import SharedWorkers
from weir.coordinator.sfu.supervisor import WorkerSupervisor
from weir.sfu.entry import MediaEntry
from weir.sfu.local_entry import LocalEntry
from weir.sfu.rtc import IceConfig, RtcRoom
from weir.sfu.rtc.totals import MediaTotals
from weir.sfu.rtc.udpmux import shared_sockets
from weir.sfu.signaling.paths import LATENCY_PATH
from weir.sfu.signaling.server import SfuServer, latency
from weir.sfu.workers.spec import worker_specs

__all__ = ["InProcessSfu", "SfuWorkers", "sfu_setup"]


def latency_router() -> APIRouter:
    """The edge's latency test, on the public port whichever process holds the calls (and in the API docs)."""
    router = APIRouter(tags=["sfu"])
    router.add_api_route(LATENCY_PATH, latency, methods=["GET"], response_class=Response,
                         summary="Answer at once: clients time it to pick the nearest edge")
    return router


class InProcessSfu:
    def __init__(self, settings: Settings, link: LocalCoordinator, ice: IceConfig) -> None:
        sockets = shared_sockets(ice)
        self.totals = MediaTotals(None if sockets is None else sockets.dropped)  # /metrics reads it in-process
        self.server = SfuServer(settings, link, self.totals.rooms(lambda call_cid: RtcRoom(call_cid, ice, sockets)))
        self.entry: MediaEntry = LocalEntry(self.server.rooms)
        self.placement: SfuPlacement = SameServer(settings.sfu_edge_name)

    def routers(self) -> list[APIRouter]:
        return [APIRouter(routes=[self.server.signaling_route()]), latency_router()]

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()


class SfuWorkers:
    def __init__(self, settings: Settings, link: LocalCoordinator, ice: IceConfig, redis: Redis | None) -> None:
        assert settings.api_secret is not None
        self.settings = settings
        self.link = link
        # with Redis, every coordinator process sees every worker and places a call on one
        shared = SharedWorkers(redis, settings.redis_prefix, GRACE_SECONDS) if redis is not None else None
        self.registry = WorkerRegistry(shared)
        self.control = ClusterControl(self.registry, link)
        self._shared_tasks: list[asyncio.Task[None]] = []
        self.remote_entry = RemoteEntry(self.registry, settings.api_secret)
        self.entry: MediaEntry = self.remote_entry
        self.hosts = CallHosts(self.registry, settings.sfu_cascade_call_size, settings.sfu_cascade_fanout)
        self.placement: SfuPlacement = (CascadePlacement(self.hosts, settings.sfu_edge_name)
                                        if settings.sfu_cascade_call_size
                                        else WorkerPlacement(self.registry, settings.sfu_edge_name))
        if settings.sfu_cascade_call_size:  # WHIP/WHEP sessions go where the join placed them
            self.remote_entry.placed, self.remote_entry.holder = self.hosts.placed, self.hosts.holder
        count = settings.sfu_workers if settings.supervises_workers else 0  # `--workers N`: process 0's alone
        self.supervisor = WorkerSupervisor(worker_specs(settings, ice, count), self._lost)

    async def _lost(self, index: int) -> None:
        await end_lost_sessions(self.link, self.registry, index)

    def routers(self) -> list[APIRouter]:
        return [latency_router(), internal_router(self.link, self.registry, reachable_host(self.settings.host),
                                                self.hosts, self.control)]

    async def start(self) -> None:
        await self.supervisor.start()
        if self.registry.shared is not None:
            self._shared_tasks = [asyncio.create_task(self.registry.run_shared()),
                                  asyncio.create_task(self.control.run())]

    async def stop(self) -> None:
        for task in self._shared_tasks:
            task.cancel()
        await asyncio.gather(*self._shared_tasks, return_exceptions=True)
        await self.supervisor.stop()
        await self.remote_entry.aclose()


def sfu_setup(settings: Settings, link: LocalCoordinator, redis: Redis | None = None) -> InProcessSfu | SfuWorkers:
    ice = IceConfig.from_env()
    if settings.sfu_workers or settings.sfu_nodes:
        return SfuWorkers(settings, link, ice, redis)
    return InProcessSfu(settings, link, ice)
