"""``GET /metrics``: Prometheus text for the whole server.

HTTP requests are counted as they happen (``http_metrics``); everything else is read when scraped: sockets
from the hub, calls, participants, outboxes and egress jobs from the database, and each SFU media worker's
counters from the worker itself (``GET /internal/sfu/metrics`` over the internal channel, all at once), or
from this process when the SFU runs here. A worker that does not answer shows ``weir_sfu_worker_up 0``.

With ``WEIR_METRICS_TOKEN`` set a scrape needs ``Authorization: Bearer <token>``; without it only clients on
loopback may scrape (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from weir.coordinator.auth import services
from weir.coordinator.services import Services
from weir.coordinator.sfu.hosting import InProcessSfu, SfuWorkers
from weir.protocol.errors import APIError, ErrorCode
from weir.sfu.rtc.totals import WorkerSnapshot
from weir.sfu.workers.metrics_route import METRICS_PATH
from weir.store.tables import EgressJobRow, PushDeliveryRow, SessionParticipantRow, WebhookDeliveryRow

__all__ = ["metrics_router"]

WORKER_TIMEOUT_SECONDS = 2.0
OUTBOXES = ("webhook", "push")
EMBEDDED = "embedded"  # the worker label of an SFU in the coordinator's process

# MediaCounters field -> (metric name, help, extra labels)
MEDIA_COUNTERS: dict[str, tuple[str, str, dict[str, str]]] = {
    "packets_in": ("weir_sfu_packets_received", "RTP packets received from publishers (RTX included).", {}),
    "bytes_in": ("weir_sfu_payload_bytes_received", "RTP payload bytes received from publishers.", {}),
    "packets_out": ("weir_sfu_packets_sent", "RTP packets forwarded to subscribers (retransmissions included).", {}),
    "bytes_out": ("weir_sfu_payload_bytes_sent", "RTP payload bytes forwarded to subscribers.", {}),
    "packets_lost_in": ("weir_sfu_packets_lost", "Packets lost: from publishers (sequence gaps) or to subscribers "
                        "(their reports).", {"direction": "in"}),
    "packets_lost_out": ("weir_sfu_packets_lost", "", {"direction": "out"}),
    "nacks_sent": ("weir_sfu_nacks_sent", "NACKs sent to publishers.", {}),
    "nacked_packets": ("weir_sfu_nacked_packets", "Packets subscribers' NACKs asked for.", {}),
    "retransmitted_packets": ("weir_sfu_retransmitted_packets", "Packets resent for subscribers' NACKs.", {}),
    "plis_sent": ("weir_sfu_plis_sent", "Keyframe requests (PLI) sent to publishers.", {}),
}


@dataclass
class Scrape:
    """Everything read for one scrape."""

    sockets: int = 0
    calls: int = 0
    participants: int = 0
    outboxes: dict[tuple[str, str], int] = field(default_factory=dict)  # (outbox, status) -> deliveries
    egress: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, status) -> jobs
    workers: dict[str, WorkerSnapshot | None] = field(default_factory=dict)  # None: did not answer


class ScrapeCollector(Collector):
    def __init__(self, scrape: Scrape) -> None:
        self.scrape = scrape

    def collect(self) -> Iterable[Metric]:
        s = self.scrape
        yield GaugeMetricFamily("weir_websocket_connections", "Open coordinator WebSockets.", value=s.sockets)
        yield GaugeMetricFamily("weir_active_calls", "Calls with a participant in them.", value=s.calls)
        yield GaugeMetricFamily("weir_active_participants", "Participants in calls.", value=s.participants)
        yield _gauge("weir_outbox_deliveries", "Webhook and push deliveries by status (pending: the outbox's "
                     "depth; failed: given up).", ["outbox", "status"], s.outboxes)
        yield _gauge("weir_egress_jobs", "Egress and AI jobs (recordings, broadcasts, transcriptions) by kind and "
                     "status.", ["kind", "status"], s.egress)
        yield from _worker_families(s.workers)


def _gauge(name: str, documentation: str, labels: list[str], values: dict[tuple[str, str], int]) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


def _worker_families(workers: dict[str, WorkerSnapshot | None]) -> Iterable[Metric]:
    up = GaugeMetricFamily("weir_sfu_worker_up", "Whether the SFU worker answered this scrape.", labels=["worker"])
    calls = GaugeMetricFamily("weir_sfu_calls", "Calls with participants on the SFU worker.", labels=["worker"])
    people = GaugeMetricFamily("weir_sfu_participants", "Participants on the SFU worker.", labels=["worker"])
    cpu = CounterMetricFamily("weir_sfu_cpu_seconds", "CPU time of the SFU worker's process.", labels=["worker"])
    dropped = CounterMetricFamily("weir_sfu_datagrams_dropped", "Datagrams the SFU worker's shared UDP sockets "
                                  "dropped, by reason (unbound_source: media or DTLS from an address no ICE check "
                                  "validated; unknown_ufrag; stray_response; malformed_stun; ...).",
                                  labels=["worker", "reason"])
    counters: dict[str, CounterMetricFamily] = {}
    for name, documentation, extra in MEDIA_COUNTERS.values():
        counters.setdefault(name, CounterMetricFamily(name, documentation, labels=["worker", *extra]))
    for worker, snapshot in sorted(workers.items()):
        up.add_metric([worker], 0.0 if snapshot is None else 1.0)
        if snapshot is None:
            continue
        calls.add_metric([worker], snapshot.calls)
        people.add_metric([worker], snapshot.participants)
        cpu.add_metric([worker], snapshot.cpu_seconds)
        for reason, count in sorted(snapshot.datagrams_dropped.items()):
            dropped.add_metric([worker, reason], count)
        for attribute, (name, _doc, extra) in MEDIA_COUNTERS.items():
            counters[name].add_metric([worker, *extra.values()], getattr(snapshot.media, attribute))
    yield from (up, calls, people, cpu, dropped, *counters.values())


async def _from_database(weir: Services, scrape: Scrape) -> None:
    active = SessionParticipantRow.left_at.is_(None)
    async with weir.db.read() as session:
        scrape.participants = await session.scalar(select(func.count()).where(active)) or 0
        scrape.calls = await session.scalar(select(func.count(SessionParticipantRow.call_cid.distinct()))
                                            .where(active)) or 0
        scrape.outboxes = {(outbox, status): 0 for outbox in OUTBOXES for status in ("pending", "failed")}
        for outbox, table in (("webhook", WebhookDeliveryRow), ("push", PushDeliveryRow)):
            rows = await session.execute(select(table.status, func.count()).group_by(table.status))
            scrape.outboxes.update({(outbox, status): count for status, count in rows})
        jobs = await session.execute(select(EgressJobRow.recording_type, EgressJobRow.status, func.count())
                                     .group_by(EgressJobRow.recording_type, EgressJobRow.status))
        scrape.egress = {(kind, status): count for kind, status, count in jobs}


async def _worker_snapshot(client: httpx.AsyncClient, base_url: str) -> WorkerSnapshot | None:
    try:
        response = await client.get(base_url + METRICS_PATH, timeout=WORKER_TIMEOUT_SECONDS)
        response.raise_for_status()
        return WorkerSnapshot.from_json(response.json())
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


async def _from_sfu(sfu: object, scrape: Scrape) -> None:
    if isinstance(sfu, InProcessSfu):
        scrape.workers[EMBEDDED] = sfu.totals.snapshot()
    elif isinstance(sfu, SfuWorkers):
        live = sorted(sfu.registry.live.values(), key=lambda worker: worker.index)
        client = sfu.remote_entry.http  # the coordinator's client of its workers, signed with the channel's token
        found = await asyncio.gather(*(_worker_snapshot(client, worker.base_url) for worker in live))
        scrape.workers = {str(worker.index): snapshot for worker, snapshot in zip(live, found, strict=True)}


def _check_access(request: Request, token: str | None) -> None:
    if token is None:
        host = request.client.host if request.client else ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise APIError(ErrorCode.NOT_ALLOWED, "metrics are served to loopback only unless WEIR_METRICS_TOKEN "
                           "is set")
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise APIError(ErrorCode.AUTH_FAILED, "metrics need Authorization: Bearer <WEIR_METRICS_TOKEN>",
                       headers={"WWW-Authenticate": "Bearer"})


def metrics_router(registry: CollectorRegistry) -> APIRouter:
    """``/metrics``; ``registry`` holds what is counted as it happens (HTTP, the process)."""
    router = APIRouter(tags=["system"])

    @router.get("/metrics", response_class=Response, summary="Prometheus metrics (Bearer WEIR_METRICS_TOKEN)")
    async def metrics(request: Request) -> Response:
        weir = services(request)
        _check_access(request, weir.settings.metrics_token)
        scrape = Scrape(sockets=len(weir.hub.connections))
        await asyncio.gather(_from_database(weir, scrape), _from_sfu(request.app.state.sfu, scrape))
        out = CollectorRegistry(auto_describe=False)
        out.register(registry)
        out.register(ScrapeCollector(scrape))
        return Response(generate_latest(out), media_type=CONTENT_TYPE_LATEST)

    return router

