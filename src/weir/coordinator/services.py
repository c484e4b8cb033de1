"""What every request handler reaches through ``request.app.state.weir``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from weir.bus import EventBus
from weir.config import Settings
from weir.coordinator.call_stats import LiveStats
from weir.coordinator.events import EventEmitter
from weir.coordinator.ratelimit import RateLimiter
from weir.coordinator.realtime.hub import Hub
from weir.coordinator.realtime.presence import Presence
from weir.coordinator.revocation import AppRevocation
from weir.coordinator.scheduler import Scheduler
from weir.coordinator.tasks import TaskRunner
from weir.sealing import Sealer
from weir.storage.registry import StoreRegistry
from weir.storage.uploads import UploadWorker
from weir.store.db import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    limiter: RateLimiter
    bus: EventBus
    events: EventEmitter
    hub: Hub
    presence: Presence  # open sockets per user on every coordinator process
    scheduler: Scheduler
    sealer: Sealer
    stores: StoreRegistry  # where recordings go: Weir's own storage and the external storages
    tasks: TaskRunner  # async tasks: user export and deletion, hard call delete
    uploads: UploadWorker | None = None  # uploads recordings to external storages (set by create_app)
    revocation: AppRevocation = field(default_factory=AppRevocation)
    egress_jobs: asyncio.Condition = field(default_factory=asyncio.Condition)  # notified when a job is queued
    live_stats: LiveStats = field(default_factory=LiveStats)  # the last minute of call stats

    @property
    def api_key(self) -> str:
        assert self.settings.api_key is not None
        return self.settings.api_key

    @property
    def api_secret(self) -> str:
        assert self.settings.api_secret is not None
        return self.settings.api_secret
