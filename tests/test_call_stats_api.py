"""The call stats API without media: stats report queries, aggregates, feedback queries, the active calls status
of a joined call, who may read them, and bad input as clear 400s. Reports are written straight to the database
(the media test, tests/client/test_call_stats.py, makes a real one)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import RunningServer, assert_error
from tests.test_call_actions import join
from tests.test_cli import Run, weir  # noqa: F401  # the CLI fixture
from weir.protocol.errors import ErrorCode
from weir.store.db import Database
from weir.store.tables import CallStatsReportRow

Uid = Callable[[str], str]
UserApi = Callable[..., httpx.Client]
BASE = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


async def _reports(server: RunningServer, cids: list[str]) -> None:
    """Three reports: good (2 people, 60 s), poor (3, 600 s) an hour later, fair (2, 30 s) a day later."""
    rows = [("good", 2, 60, timedelta()), ("poor", 3, 600, timedelta(hours=1)), ("fair", 2, 30, timedelta(days=1))]
    db = Database(server.database_url)
    try:
        async with db.transaction() as session:
            for cid, (quality, people, seconds, later) in zip(cids, rows, strict=True):
                started = BASE + later
                issues = [{"metric": "packet_loss", "level": "poor", "value": 0.2, "text": "poor: packet loss 20%"}]
                session.add(CallStatsReportRow(
                    session_id=f"s-{cid.split(':')[1]}", call_cid=cid, call_type="default", call_id=cid.split(":")[1],
                    started_at=started, ended_at=started + timedelta(seconds=seconds), duration_seconds=seconds,
                    participants_count=people, quality=quality, issues=issues if quality == "poor" else [],
                    report={"participants": [], "timeline": []}, created_at=started + timedelta(seconds=seconds)))
    finally:
        await db.close()


async def test_stats_queries(
    server: RunningServer, api: httpx.Client, uid: Uid,
    weir: Run,  # noqa: F811  # the fixture imported above
) -> None:
    ids = [uid("c") for _ in range(3)]
    for call_id in ids:
        api.post(f"/video/call/default/{call_id}", json={"data": {"created_by_id": "owner"}}).raise_for_status()
    cids = [f"default:{i}" for i in ids]
    await _reports(server, cids)
    mine = {"call_cid": {"$in": cids}}

    poor = api.post("/video/call/stats", json={"filter_conditions": {**mine, "quality": "poor"}}).json()
    assert [(r["call_cid"], r["issues"][0]["text"]) for r in poor["reports"]] == [(cids[1], "poor: packet loss 20%")]
    longest = api.post("/video/call/stats", json={"filter_conditions": {**mine, "duration_seconds": {"$gte": 60}},
                                                   "sort": [{"field": "duration_seconds", "direction": -1}],
                                                   "limit": 1}).json()
    assert [r["call_cid"] for r in longest["reports"]] == [cids[1]] and longest["next"]
    following = api.post("/video/call/stats", json={"filter_conditions": {**mine, "duration_seconds": {"$gte": 60}},
                                                     "sort": [{"field": "duration_seconds", "direction": -1}],
                                                     "limit": 1, "next": longest["next"]}).json()
    assert [r["call_cid"] for r in following["reports"]] == [cids[0]] and following["next"] is None

    for forged in (["long", "s-x"], [60, 7], [True, "s-x"]):  # cursors must hold the sort keys' types
        raw = json.dumps({"q": "call_stats:duration_seconds-,session_id+", "v": forged}).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        body = {"sort": [{"field": "duration_seconds", "direction": -1}], "next": cursor}
        assert "next" in assert_error(api.post("/video/call/stats", json=body), 400)["exception_fields"]

    report = api.get(f"/video/call/default/{ids[1]}/stats/s-{ids[1]}")
    assert report.status_code == 200 and report.json()["participants_count"] == 3
    assert_error(api.get(f"/video/call/default/{ids[0]}/stats/s-{ids[1]}"), 404)  # another call's session

    hourly = api.post("/video/stats", json={"from": BASE.isoformat(), "to": (BASE + timedelta(hours=2)).isoformat(),
                                            "interval": "hour"}).json()
    # other tests' calls are not in 2026-03 (their reports, if any, are dated now)
    assert [(b["calls"], b["good"], b["poor"], b["participant_sessions"]) for b in hourly["buckets"]] == [
        (1, 1, 0, 2), (1, 0, 1, 3)]
    assert hourly["totals"]["calls"] == 2 and hourly["totals"]["call_minutes"] == 11
    daily = api.post("/video/stats", json={"from": BASE.isoformat(), "to": (BASE + timedelta(days=2)).isoformat(),
                                           "call_type": "default"}).json()
    assert [b["calls"] for b in daily["buckets"]] == [2, 1] and daily["totals"]["fair"] == 1

    listed = weir("call", "stats", "query", "--filter", json.dumps(mine), "--sort", "started_at:desc").stdout
    assert "Call stats reports (3)" in listed and "poor: packet loss 20%" in listed
    assert listed.index(cids[2]) < listed.index(cids[1]) < listed.index(cids[0])
    totals = weir("call", "stats", "aggregate", "--from", "2026-03-02T10:00:00", "--to", "2026-03-02T12:00:00",
                  "--interval", "hour").stdout
    assert "Calls per hour" in totals and "total" in totals
    shown = weir("call", "stats", "report", cids[1], f"s-{ids[1]}").stdout
    assert f"{cids[1]} session s-{ids[1]}: poor, 3 participants, 600 s" in shown
    assert "no stats report of session s-nope" in weir("call", "stats", "report", cids[1], "s-nope", expect=1).stderr

    for bad, field in (({"from": BASE.isoformat(), "to": BASE.isoformat()}, "body"),
                       ({"from": "2026-03-02T10:00:00", "to": "2026-03-03T10:00:00"}, "body"),
                       ({"from": BASE.isoformat(), "to": "2030-01-01T00:00:00Z", "interval": "hour"}, "interval"),
                       ({"from": BASE.isoformat(), "to": "2026-03-03T10:00:00Z", "interval": "minute"}, "interval"),
                       ({"to": "2026-03-03T10:00:00Z"}, "from")):
        body = assert_error(api.post("/video/stats", json=bad), 400, ErrorCode.INPUT_ERROR)
        assert field in body["exception_fields"] or field == "body", body
    for bad_query, field in (({"filter_conditions": {"quality": {"$gt": 1}}}, "filter_conditions.quality"),
                             ({"filter_conditions": {"duration_seconds": "long"}}, "filter_conditions"),
                             ({"filter_conditions": {"colour": "red"}}, "filter_conditions"),
                             ({"sort": [{"field": "quality"}]}, "sort"), ({"next": "nope"}, "next")):
        body = assert_error(api.post("/video/call/stats", json=bad_query), 400, ErrorCode.INPUT_ERROR)
        assert any(f.startswith(field) for f in body["exception_fields"]), body


async def test_feedback_query_live_status_and_access(
    api: httpx.Client, user_api: UserApi, uid: Uid,
    weir: Run,  # noqa: F811  # the fixture imported above
) -> None:
    host, guest, admin = uid("host"), uid("guest"), uid("admin")
    for user, role in ((host, "user"), (guest, "user"), (admin, "admin")):
        api.post("/users", json={"users": {user: {"id": user, "role": role}}}).raise_for_status()
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": host, "members": [{"user_id": guest}]}}).raise_for_status()
    session_id = join(user_api, path, host, guest)
    cid = "default:" + path.rsplit("/", 1)[1]
    for user, rating in ((host, 2), (guest, 5)):
        user_api(user).post(f"{path}/feedback", json={"rating": rating, "reason": "ok"}).raise_for_status()

    low = api.post("/video/call/feedback", json={"filter_conditions": {"call_cid": cid, "rating": {"$lte": 2}}})
    assert [(f["user_id"], f["rating"], f["session_id"]) for f in low.json()["user_feedback"]] == [
        (host, 2, session_id)]
    by_rating = api.post("/video/call/feedback", json={"filter_conditions": {"call_cid": cid},
                                                        "sort": [{"field": "rating", "direction": -1}]}).json()
    assert [f["rating"] for f in by_rating["user_feedback"]] == [5, 2]
    bad = api.post("/video/call/feedback", json={"filter_conditions": {"rating": {"$lte": "two"}}})
    assert "filter_conditions.rating.$lte" in assert_error(bad, 400, ErrorCode.INPUT_ERROR)["exception_fields"]

    table = weir("call", "stats", "feedback", "--filter", json.dumps({"call_cid": cid}), "--sort", "rating").stdout
    assert "Feedback (2)" in table and table.index(host) < table.index(guest)
    live_table = weir("call", "stats", "status").stdout
    assert "participants" in live_table and cid in live_table and "unknown" in live_table
    status = user_api(admin).get("/video/active_calls_status")  # an admin user may read it, as a server may
    assert status.status_code == 200, status.text
    (live,) = [c for c in status.json()["calls"] if c["call_cid"] == cid]
    assert {p["user_id"] for p in live["participants"]} == {host, guest}
    assert live["quality"] == "unknown"  # nobody reached the SFU: no stats
    assert status.json()["metrics"]["join_call_api"]["total"] > 0
    for endpoint in ("/video/call/stats", "/video/call/feedback"):
        assert_error(user_api(host).post(endpoint, json={}), 403, ErrorCode.NOT_ALLOWED)
    assert_error(user_api(host).get("/video/active_calls_status"), 403, ErrorCode.NOT_ALLOWED)
    assert_error(user_api(host).get(f"{path}/stats/{session_id}"), 404)  # not ready: the session runs
