"""The coordinator's ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, ProcessCollector

from weir import __version__
from weir.config import Settings, private_files
from weir.coordinator import call_stats, lifecycle, ringing, tasks_delete, tasks_export
from weir.coordinator.engines import engines
from weir.coordinator.errors import RequestGuard, install_error_handlers
from weir.coordinator.events import EventEmitter
from weir.coordinator.hls_serving import HlsServing
from weir.coordinator.http_metrics import HttpMetrics
from weir.coordinator.ingress import INGRESS_INFO, ingress_bases
from weir.coordinator.metrics import metrics_router
from weir.coordinator.realtime.hub import Hub
from weir.coordinator.recorder import Reaper, uploaded
from weir.coordinator.routes import include_api, ingress_internal, internal_router
from weir.coordinator.scheduler import Scheduler
from weir.coordinator.services import Services
from weir.coordinator.sfu.hosting import sfu_setup
from weir.coordinator.sfu.local_link import LocalCoordinator
from weir.coordinator.sfu.whep import whep_router
from weir.coordinator.sfu.whip import whip_router
from weir.coordinator.tasks import TaskRunner
from weir.coordinator.webapp import web_app
from weir.egress.delivery import local_store
from weir.egress.supervisor import EgressWorkers
from weir.ingress.supervisor import IngressWorker
from weir.logging_setup import RequestIds
from weir.push.dispatcher import PushDispatcher
from weir.push.worker import PushWorker
from weir.sealing import load_sealer
from weir.sfu.rtc import IceConfig
from weir.storage.registry import StoreRegistry
from weir.storage.uploads import UploadWorker
from weir.store.calltypes import seed_builtin_call_types
from weir.store.db import Database
from weir.turn.coturn import Coturn
from weir.webhooks.delivery import webhook_worker


def create_app(settings: Settings) -> FastAPI:
    settings.ensure_credentials()
    with private_files():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    hub = Hub()
    shared = engines(settings, hub)  # memory, or Redis with WEIR_REDIS_URL
    bus = shared.bus
    scheduler = Scheduler(db)
    sealer = load_sealer(settings.secret_key, settings.data_dir)
    weir = Services(
        settings=settings, db=db, limiter=shared.limiter, bus=bus, events=EventEmitter(bus), hub=hub,
        presence=shared.presence,
        scheduler=scheduler, sealer=sealer, stores=StoreRegistry(db, sealer, lambda: local_store(settings)),
        tasks=TaskRunner(db),
    )
    uploads = weir.uploads = UploadWorker(db, weir.stores.resolve, on_uploaded=lambda upload: uploaded(weir, upload))
    lifecycle.register_tasks(weir)
    call_stats.register_tasks(weir)
    ringing.register_tasks(weir)
    tasks_delete.register_tasks(weir)
    tasks_export.register_tasks(weir)
    webhooks = webhook_worker(settings, db, sealer)
    weir.events.sinks.append(webhooks.sink)
    push = PushWorker(db, weir.sealer, allow_private=settings.private_destinations_allowed)
    weir.events.sinks.append(PushDispatcher(push.wake))
    sfu = sfu_setup(settings, LocalCoordinator(weir), shared.redis)
    # coturn relays to the SFU's ICE addresses and public ones only; raises at once if coturn is missing
    supervises = settings.supervises_workers  # `weir serve --workers N`: process 0 alone
    turn = Coturn(settings, IceConfig.from_env().host_addresses) if settings.turn_enabled and supervises else None
    reaper = Reaper(weir)
    egress = EgressWorkers(settings)
    ingress = IngressWorker(settings)
    db.info[INGRESS_INFO] = ingress_bases(settings)
    ai = EgressWorkers(settings, "weir.ai.process", settings.ai_workers)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await sfu.start()  # first: media worker processes take the longest to start (they reach us once we listen)
        with private_files():  # SQLite creates weir.db here (its journal files later copy its mode)
            await db.start()
        async with db.transaction() as session:
            await seed_builtin_call_types(session)
        await shared.presence.start()
        await hub.start(bus)
        if turn is not None:
            await turn.start()
        scheduler.start()
        weir.tasks.start(weir)
        await webhooks.start()
        push.start()
        reaper.start()
        uploads.start()
        if supervises:
            egress.start()
            ingress.start()
            ai.start()
        try:
            yield
        finally:
            await ingress.stop()
            await egress.stop()
            await ai.stop()
            await reaper.stop()
            await uploads.stop()
            await sfu.stop()
            if turn is not None:
                await turn.stop()
            await push.stop()
            await webhooks.stop()
            await weir.tasks.stop()
            await scheduler.stop()
            await hub.stop()
            await shared.presence.stop()
            await shared.close()
            await db.close()

    app = FastAPI(
        title="Weir coordinator API",
        version=__version__,
        description=(
            "Calls, call types, users, sessions, ringing, moderation, webhooks and push; the coordinator WebSocket is "
            "at /api/v1/connect and the SFU at /sfu/ws. Errors are `{code, message, status_code, duration, more_info}`."
        ),
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.weir = weir
    install_error_handlers(app)
    app.add_middleware(RequestGuard, max_bytes=settings.max_body_bytes)
    app.add_middleware(HlsServing, data_dir=settings.data_dir)  # players fetch /hls/... (no API credentials)
    counted = CollectorRegistry()  # counted as it happens; /metrics reads the rest when scraped
    ProcessCollector(registry=counted)
    app.add_middleware(HttpMetrics, registry=counted)
    app.add_middleware(RequestIds)  # outermost: every log line of a request carries its ids
    include_api(app)
    app.include_router(metrics_router(counted))
    app.include_router(internal_router())
    app.include_router(ingress_internal.router)
    app.state.sfu_placement = sfu.placement
    app.state.sfu = sfu  # tests look inside (the in-process SFU's sessions)
    app.state.egress = egress  # tests look inside (the recording workers)
    app.state.ai = ai  # (and the transcription workers)
    for router in sfu.routers():
        app.include_router(router)
    app.include_router(whip_router(sfu.entry))
    app.include_router(whep_router(sfu.entry))
    app.router.default = web_app()  # the browser app answers whatever no API route matches
    return app
