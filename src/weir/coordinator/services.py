"""What every request handler reaches through ``request.app.state.weir``."""

from __future__ import annotations

from dataclasses import dataclass

from weir.config import Settings
from weir.coordinator.ratelimit import RateLimiter
from weir.store.db import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    limiter: RateLimiter

    @property
    def api_key(self) -> str:
        assert self.settings.api_key is not None
        return self.settings.api_key

    @property
    def api_secret(self) -> str:
        assert self.settings.api_secret is not None
        return self.settings.api_secret
