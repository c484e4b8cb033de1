"""The ingress worker's line to the coordinator: its public API (joins, through the client SDK) and the
internal route that emits the ingress events (``coordinator/routes/ingress_internal.py``)."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from weir.config import Settings
from weir.domain.egress_tokens import create_worker_token

__all__ = ["EVENTS_PATH", "Channel"]

log = logging.getLogger(__name__)
EVENTS_PATH = "/internal/ingress/events"


class Channel:
    def __init__(self, settings: Settings) -> None:
        assert settings.api_secret is not None
        self.settings, self.secret = settings, settings.api_secret
        self.base_url = settings.public_base_url
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=10)

    async def event(self, call_cid: str, type_: str, **fields: Any) -> None:
        """Have the coordinator emit an ingress event; a failure is logged (the stream goes on)."""
        try:
            response = await self.http.post(
                EVENTS_PATH, json={"call_cid": call_cid, "event": {"type": type_, **fields}},
                headers={"Authorization": f"Bearer {create_worker_token(self.secret)}"})
            response.raise_for_status()
        except httpx.HTTPError as error:
            log.warning("ingress event %s for %s not delivered: %s", type_, call_cid, error)

    async def close(self) -> None:
        await self.http.aclose()
