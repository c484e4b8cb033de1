"""``/metrics`` of the shared test server: the SFU in the coordinator's process (``WEIR_SFU_WORKERS=0``) is read
in-process, the database's counts work on SQLite and PostgreSQL, and without ``WEIR_METRICS_TOKEN`` a loopback
client needs no token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import RunningServer
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
