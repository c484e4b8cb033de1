"""``/metrics`` of the shared test server: the SFU in the coordinator's process (``WEIR_SFU_WORKERS=0``) is read
in-process, the database's counts work on SQLite and PostgreSQL, and without ``WEIR_METRICS_TOKEN`` a loopback
client needs no token. And the HTTP labels: route templates with their routers' prefixes, a bounded method set."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RunningServer
from weir.coordinator.http_metrics import HttpMetrics
from weir.store.db import Database
from weir.store.tables import EgressJobRow

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: RunningServer) -> Samples:
    response = httpx.get(server.base_url + "/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


async def test_embedded_sfu_and_database_counts_are_scraped(server: RunningServer) -> None:
    failed_composites = ("weir_egress_jobs", (("kind", "composite"), ("status", "failed")))
    before = scrape(server)
    assert before[("weir_sfu_worker_up", (("worker", "embedded"),))] == 1
    assert ("weir_sfu_packets_sent_total", (("worker", "embedded"),)) in before
    assert ("weir_sfu_datagrams_dropped_total", (("reason", "unbound_source"), ("worker", "embedded"))) in before
    assert ("weir_outbox_deliveries", (("outbox", "push"), ("status", "failed"))) in before
    db = Database(server.database_url)
    try:
        async with db.transaction() as session:
            session.add(EgressJobRow(id=uuid.uuid4().hex, call_cid=f"default:{uuid.uuid4().hex[:8]}",
                                     recording_type="composite", status="failed", trigger="api",
                                     created_at=datetime.now(UTC)))
    finally:
        await db.close()
    after = scrape(server)
    assert after[failed_composites] == before.get(failed_composites, 0) + 1


async def test_requests_are_labelled_by_route_template_and_a_known_method() -> None:
    router = APIRouter()

    @router.api_route("/{type}/{id}/join", methods=["POST", "PROPFIND"])
    async def join(type: str, id: str) -> dict[str, str]:
        return {"cid": f"{type}:{id}"}

    app = FastAPI()
    app.include_router(router, prefix="/api/v1/video/call")
    registry = CollectorRegistry()
    app.add_middleware(HttpMetrics, registry=registry)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for method, path in (("POST", "a/b"), ("POST", "c/d"), ("PROPFIND", "e/f")):
            await client.request(method, f"/api/v1/video/call/{path}/join")
        await client.get("/nothing/here")
    template = "/api/v1/video/call/{type}/{id}/join"
    count = registry.get_sample_value
    assert count("weir_http_requests_total", {"method": "POST", "route": template, "status": "200"}) == 2
    assert count("weir_http_requests_total", {"method": "other", "route": template, "status": "200"}) == 1
    assert count("weir_http_requests_total", {"method": "GET", "route": "other", "status": "404"}) == 1
    assert count("weir_http_request_duration_seconds_count", {"method": "POST", "route": template}) == 2
