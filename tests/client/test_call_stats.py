"""Call stats end to end (issue 18): two aiortc participants, loss on one's path; the live status during the
call, the stats report after it, and ``call.stats_report_ready``. One call serves every assertion."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.client.media_helpers import (  # noqa: F401
    MEDIA_WAIT,
    Room,
    RoomFactory,
    loopback_ice,
    room,
)
from tests.conftest import RunningServer
from tests.sfu.lossy import LossyPath
from tests.sfu.signaling_peers import running_sfu
from weir.client import StreamVideo
from weir.protocol import events as ev
from weir.server import AsyncClient

# Each leg of alice's path drops this much, so what the SFU and bob measure of her stays above the seed's 10 %
# "poor" line whatever the draw (each leg is drawn on its own: NACKs and reports are lost too).
LOSS = 0.15


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Clients report stats every second and the SFU passes them on every second."""
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-call-stats"), stats_reporting_interval_ms=1000,
                     sfu_stats_seconds=1) as running:
        yield running


@pytest.fixture
async def operator(server: RunningServer) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(server.api_key, server.api_secret, server.base_url) as client:
        yield client


async def _live_call(operator: AsyncClient, cid: str) -> dict[str, Any] | None:
    status = (await operator.video.get_active_calls_status()).data
    return next((c for c in status["calls"] if c["call_cid"] == cid), None)


async def test_a_lossy_participant_is_poor_live_and_in_the_report(
    room: RoomFactory,  # noqa: F811  # the fixture imported above
    operator: AsyncClient, clients: Callable[..., Awaitable[StreamVideo]], uid: Callable[[str], str],
) -> None:
    r: Room = await room()
    await r.flowing("audio", "video")
    alice = r.alice.state.value.user_session_id
    bob = r.bob.state.value.user_session_id
    assert r.alice._sfu is not None and r.alice._sfu.publisher is not None
    LossyPath(r.alice._sfu.publisher.pc, LOSS, seed=18)
    LossyPath(r.alice._sfu.subscriber.pc, LOSS, seed=19)

    seen: dict[str, Any] = {}

    async def alice_poor_for_loss() -> bool:
        seen["call"] = call = await _live_call(operator, r.alice.cid)
        people = {p["user_session_id"]: p for p in (call or {}).get("participants", [])}
        mine = people.get(alice)
        return mine is not None and mine["quality"] == "poor" and any(
            i["metric"] == "packet_loss" for i in mine["issues"])

    deadline = time.monotonic() + 2 * MEDIA_WAIT
    while not await alice_poor_for_loss():
        assert time.monotonic() < deadline, f"alice is not poor for loss in active_calls_status: {seen['call']}"
        await asyncio.sleep(0.5)
    call = seen["call"]
    assert {p["user_session_id"] for p in call["participants"]} == {alice, bob}
    assert all({"audio", "video"} <= set(p["publishing"]) for p in call["participants"])
    assert call["quality"] == "poor"
    status = (await operator.video.get_active_calls_status()).data
    assert status["summary"]["participants"] >= 2 and status["summary"]["active_publishers"] >= 2
    assert status["summary"]["active_calls"] >= 1
    assert status["metrics"]["join_call_api"]["total"] > 0 and status["metrics"]["join_call_api"]["latency"]
    subscribers = status["metrics"]["subscribers"]["all"]
    # the subscribers' reception reports reached the SFU (how much each one lost depends on the draw)
    assert subscribers["video"]["packets_lost_pct"]["p90"] >= 0 and subscribers["audio"]["jitter_ms"]["p50"] >= 0

    session_id = r.alice.state.value.session_id
    async with r.bob.events.subscribe() as events:
        await r.alice.leave()
        await r.bob.leave()
        ready = await events.first(lambda e: isinstance(e, ev.CallStatsReportReadyEvent), MEDIA_WAIT)
    assert isinstance(ready, ev.CallStatsReportReadyEvent)
    assert ready.session_id == session_id and ready.call_cid == r.alice.cid

    report = await r.bob.get_call_stats(session_id)  # a participant may read the report
    assert report.quality == "poor" and report.participants_count == 2
    people = {p.user_session_id: p for p in report.participants}
    lossy = people[alice]
    assert lossy.quality == "poor" and any(i.metric == "packet_loss" and i.level == "poor" for i in lossy.issues)
    assert any(i.text.startswith("poor: packet loss") for i in report.issues)
    assert lossy.timeline and any(s.quality == "poor" for s in lossy.timeline)
    published = {t.track_type: t for t in lossy.tracks if t.direction == "published"}
    assert published["video"].packets > 0 and published["video"].layers == ["q", "h", "f"]
    assert published["audio"].packets_lost > 0  # audio is not resent: what the path dropped stays lost
    assert {t.direction for t in people[bob].tracks} == {"published", "subscribed"}
    assert report.timeline and report.duration_seconds >= 1

    found = (await operator.video.query_call_stats({"call_cid": r.alice.cid})).data["reports"]
    assert [(f["session_id"], f["quality"]) for f in found] == [(session_id, "poor")]

    # the client SDK's operator calls, as an admin user
    await r.alice.collect_user_feedback(2, reason="choppy")
    admin_id = uid("ops")
    await operator.upsert_users({"id": admin_id, "role": "admin"})
    admin = await clients(admin_id)
    reports = await admin.query_call_stats({"call_cid": r.alice.cid})
    assert [(x.session_id, x.quality) for x in reports.reports] == [(session_id, "poor")]
    ratings = await admin.query_user_feedback({"call_cid": r.alice.cid}, limit=5)
    assert [(x.user_id, x.rating, x.reason) for x in ratings.user_feedback] == [(r.alice.state.value.current_user_id, 2,
                                                                                "choppy")]
    started = report.started_at
    assert started is not None
    totals = await admin.query_aggregate_call_stats(started - timedelta(hours=1), started + timedelta(hours=1),
                                                    interval="hour")
    assert totals.totals.calls >= 1 and totals.totals.poor >= 1 and totals.totals.feedback_count >= 1
    live = await admin.get_active_calls_status()
    assert r.alice.cid not in {c.call_cid for c in live.calls}  # the call's session has ended
