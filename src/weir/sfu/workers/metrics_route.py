"""A worker's counters for the coordinator's ``/metrics``: ``GET /internal/sfu/metrics`` answers this process's
``WorkerSnapshot`` (calls, participants, CPU time, packets and bytes); ``GET /internal/sfu/relay`` its cascade
relay's, per peer SFU (``RelayLink.stats``). Only the coordinator may ask."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from weir.sfu.cascade.link import RelayLink
from weir.sfu.rtc.totals import MediaTotals
from weir.sfu.workers.channel import CHANNEL_PREFIX
from weir.sfu.workers.entry_routes import require_coordinator

__all__ = ["METRICS_PATH", "RELAY_PATH", "metrics_route", "relay_route"]

METRICS_PATH = CHANNEL_PREFIX + "/metrics"
RELAY_PATH = CHANNEL_PREFIX + "/relay"


def metrics_route(totals: MediaTotals, secret: str) -> Route:
    async def metrics(request: Request) -> JSONResponse:
        require_coordinator(secret, request)
        return JSONResponse(totals.snapshot().to_json())

    return Route(METRICS_PATH, metrics, methods=["GET"])


def relay_route(link: RelayLink, secret: str) -> Route:
    async def relay(request: Request) -> JSONResponse:
        require_coordinator(secret, request)
        return JSONResponse(link.stats())

    return Route(RELAY_PATH, relay, methods=["GET"])
