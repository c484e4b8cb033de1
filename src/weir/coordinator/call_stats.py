"""Call stats on the coordinator: the SFU's samples in, the last minute live, reports when a session ends.

- ``record``: a batch of samples (``weir.sfu.signaling.stats``) goes into the participants' durable timelines
  (``store.call_stats``) and into ``LiveStats``, the last minute in memory, which ``active_calls_status`` reads.
- When a session ends, a durable task builds its report a little later (the SFU's last batch may still be on
  its way), stores it and emits ``call.stats_report_ready``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.call_health import Issue, Level, Reading, call_level, classify, combine, percentile, worst
from weir.domain.clock import now, utc
from weir.domain.filters import parse_timestamp
from weir.protocol import call_stats as p
from weir.protocol.events import CallStatsReportReadyEvent
from weir.store.call_stats import record_samples, session_stats
from weir.store.tables import CallRow, CallSessionRow, CallStatsReportRow, ScheduledTaskRow, SessionParticipantRow

WINDOW_SECONDS = 60.0
REPORT_TASK = "call_stats_report"
TIMELINE_STEP_SECONDS = 10


@dataclass
class LiveStats:
    """The last minute: samples per call and participant session, and join call attempts."""

    samples: dict[str, dict[str, deque[tuple[float, dict[str, Any]]]]] = field(default_factory=dict)
    joins: deque[tuple[float, bool, float]] = field(default_factory=deque)  # (at, failed, latency ms)
    clock: Callable[[], float] = time.monotonic

    def add(self, call_cid: str, samples: Iterable[dict[str, Any]]) -> None:
        at = self.clock()
        by_session = self.samples.setdefault(call_cid, {})
        for sample in samples:
            by_session.setdefault(str(sample.get("user_session_id")), deque()).append((at, sample))
        self.prune()

    def joined(self, failed: bool, latency_ms: float) -> None:
        self.joins.append((self.clock(), failed, latency_ms))
        self.prune()

    def prune(self) -> None:
        oldest = self.clock() - WINDOW_SECONDS
        while self.joins and self.joins[0][0] < oldest:
            self.joins.popleft()
        for call_cid, by_session in list(self.samples.items()):
            for user_session_id, queue in list(by_session.items()):
                while queue and queue[0][0] < oldest:
                    queue.popleft()
                if not queue:
                    del by_session[user_session_id]
            if not by_session:
                del self.samples[call_cid]


async def record(weir_db: Any, live: LiveStats, call_cid: str, samples: Sequence[dict[str, Any]]) -> None:
    live.add(call_cid, samples)
    async with weir_db.transaction() as session:
        await record_samples(session, call_cid, samples)


# --- classification ------------------------------------------------------------------------------------------

def reading_of(point: dict[str, Any]) -> Reading:
    return Reading(**{name: point.get(name) for name in Reading.__dataclass_fields__})


def issue_models(issues: Iterable[Issue]) -> list[p.QualityIssue]:
    return [p.QualityIssue(metric=i.metric, level=i.level, value=i.value, text=i.text) for i in issues]


def _sample_model(point: dict[str, Any], level: Level | None = None) -> p.QualitySample:
    at = parse_timestamp(point["at"]) or now()
    return p.QualitySample(
        at=at, quality=level or classify(reading_of(point))[0], jitter_ms=point.get("jitter_ms"),
        rtt_ms=point.get("rtt_ms"), packet_loss_pct=point.get("packet_loss"),
        bitrate_kbps=point.get("bitrate_kbps"), fps=point.get("fps"))


def _call_timeline(timelines: Iterable[list[dict[str, Any]]]) -> list[p.QualitySample]:
    """The call's quality per ``TIMELINE_STEP_SECONDS``: the worst of its participants' points in each step."""
    steps: dict[int, list[dict[str, Any]]] = {}
    for points in timelines:
        for point in points:
            at = parse_timestamp(point["at"])
            if at is not None:
                steps.setdefault(int(at.timestamp()) // TIMELINE_STEP_SECONDS, []).append(point)
    out = []
    for step in sorted(steps):
        points = steps[step]
        level = worst(classify(reading_of(x))[0] for x in points)
        merged = combine([reading_of(x) for x in points])
        first = dict(points[0], **{k: getattr(merged, k) for k in Reading.__dataclass_fields__})
        first["at"] = points[0]["at"]
        out.append(_sample_model(first, level))
    return out


# --- reports -------------------------------------------------------------------------------------------------

def schedule_report(weir: Any, session: AsyncSession, call: CallRow, call_session: CallSessionRow) -> None:
    """The report is built once the SFU's last batch has had time to arrive."""
    delay = weir.settings.sfu_stats_seconds + 1
    weir.scheduler.schedule(session, REPORT_TASK, call.cid, now() + timedelta(seconds=delay),
                            session_id=call_session.id)


async def build_report(session: AsyncSession, call: CallRow, call_session: CallSessionRow) -> CallStatsReportRow:
    stats = {row.user_session_id: row for row in await session_stats(session, call_session.id)}
    participants = list((await session.scalars(
        select(SessionParticipantRow).where(SessionParticipantRow.session_id == call_session.id)
        .order_by(SessionParticipantRow.joined_at))).all())
    models: list[p.ParticipantStats] = []
    levels: list[tuple[Level, list[Issue]]] = []
    for participant in participants:
        row = stats.get(participant.user_session_id)
        points = row.timeline if row else []
        level, issues = classify(combine([reading_of(x) for x in points])) if points else ("unknown", [])
        levels.append((level, issues))
        models.append(p.ParticipantStats(
            user_id=participant.user_id, user_session_id=participant.user_session_id,
            joined_at=utc(participant.joined_at), left_at=utc(participant.left_at), quality=level,
            issues=issue_models(issues), timeline=[_sample_model(x) for x in points],
            tracks=[p.TrackStats.model_validate(t) for t in (row.tracks if row else [])]))
    level, issues = call_level(levels)
    started, ended = utc(call_session.started_at), utc(call_session.ended_at)
    duration = int((ended - started).total_seconds()) if started and ended else 0
    body = {"participants": [m.model_dump(mode="json") for m in models],
            "timeline": [s.model_dump(mode="json") for s in _call_timeline(r.timeline for r in stats.values())]}
    return CallStatsReportRow(
        session_id=call_session.id, call_cid=call.cid, call_type=call.type, call_id=call.id, started_at=started,
        ended_at=ended, duration_seconds=duration, participants_count=len(participants), quality=level,
        issues=[i.model_dump() for i in issue_models(issues)], report=body, created_at=now())


def summary_of(row: CallStatsReportRow) -> p.CallStatsSummary:
    return p.CallStatsSummary(
        call_cid=row.call_cid, call_type=row.call_type, call_id=row.call_id, session_id=row.session_id,
        started_at=utc(row.started_at), ended_at=utc(row.ended_at), duration_seconds=row.duration_seconds,
        participants_count=row.participants_count, quality=row.quality,  # type: ignore[arg-type]
        issues=[p.QualityIssue.model_validate(i) for i in row.issues], created_at=utc(row.created_at))


def report_of(row: CallStatsReportRow) -> p.GetCallStatsResponse:
    return p.GetCallStatsResponse(**summary_of(row).model_dump(), **row.report)


def register_tasks(weir: Any) -> None:
    from weir.coordinator.call_access import system_access
    from weir.coordinator.callevents import CallEvents

    async def report(session: AsyncSession, task: ScheduledTaskRow) -> None:
        call = await session.get(CallRow, task.call_cid)
        call_session = None if task.session_id is None else await session.get(CallSessionRow, task.session_id)
        if call is None or call_session is None:
            return
        if await session.get(CallStatsReportRow, call_session.id) is not None:
            return
        session.add(await build_report(session, call, call_session))
        events = CallEvents(weir, session, call, await system_access(session, call))
        await events.emit(CallStatsReportReadyEvent(created_at=now(), call_cid=call.cid, session_id=call_session.id))

    weir.scheduler.handle(REPORT_TASK, report)


# --- active calls status -------------------------------------------------------------------------------------

def _p50_90(values: list[float]) -> p.P50P90 | None:
    return p.P50P90(p50=percentile(values, 50), p90=percentile(values, 90)) if values else None


def _p10_50(values: list[float]) -> p.P10P50 | None:
    return p.P10P50(p10=percentile(values, 10), p50=percentile(values, 50)) if values else None


def _fps(values: list[float]) -> p.FpsPercentiles | None:
    if not values:
        return None
    return p.FpsPercentiles(p05=percentile(values, 5), p10=percentile(values, 10), p50=percentile(values, 50),
                            p90=percentile(values, 90))


def _collect(samples: Iterable[dict[str, Any]], side: str, name: str) -> list[float]:
    return [float(v) for s in samples if (v := (s.get(side) or {}).get(name)) is not None]


async def active_calls_status(session: AsyncSession, live: LiveStats) -> p.GetActiveCallsStatusResponse:
    live.prune()
    end = now()
    rows = (await session.execute(
        select(SessionParticipantRow.call_cid, SessionParticipantRow.session_id,
               SessionParticipantRow.user_session_id, SessionParticipantRow.user_id)
        .join(CallSessionRow, CallSessionRow.id == SessionParticipantRow.session_id)
        .where(SessionParticipantRow.left_at.is_(None), CallSessionRow.ended_at.is_(None)))).all()
    by_call: dict[str, list[Any]] = {}
    for row in rows:
        by_call.setdefault(row.call_cid, []).append(row)
    recent: list[dict[str, Any]] = []
    calls: list[p.LiveCallQuality] = []
    publishers = subscribers = 0
    for call_cid, members in sorted(by_call.items()):
        samples = live.samples.get(call_cid, {})
        people: list[p.LiveParticipantQuality] = []
        levels = []
        for member in members:
            mine = [s for _, s in samples.get(member.user_session_id, ())]
            recent.extend(mine)
            latest = mine[-1] if mine else {}
            tracks = latest.get("tracks") or []
            publishing = sorted({t["track_type"] for t in tracks if t.get("direction") == "published"})
            publishers += bool(publishing)
            subscribers += any(t.get("direction") == "subscribed" for t in tracks)
            level, issues = classify(combine([reading_of(s.get("reading") or {}) for s in mine])) if mine else (
                "unknown", [])
            levels.append((level, issues))
            people.append(p.LiveParticipantQuality(user_id=member.user_id, user_session_id=member.user_session_id,
                                                   quality=level, issues=issue_models(issues), publishing=publishing))
        level, issues = call_level(levels)
        calls.append(p.LiveCallQuality(call_cid=call_cid, session_id=members[0].session_id, quality=level,
                                       issues=issue_models(issues), participants=people))
    joins = list(live.joins)
    metrics = p.ActiveCallsMetrics(
        join_call_api=p.JoinCallApiMetrics(
            total=len(joins) / WINDOW_SECONDS, failures=sum(1 for j in joins if j[1]) / WINDOW_SECONDS,
            latency=_p50_90([j[2] for j in joins])),
        publishers=p.PublishersMetrics(all=p.PublisherAllMetrics(
            rtt_ms=_p50_90(_collect(recent, "publisher", "rtt_ms")),
            video=p.PublisherVideoMetrics(
                bitrate=_p10_50(_collect(recent, "publisher", "bitrate_kbps")),
                fps_30=_fps(_collect(recent, "publisher", "fps")),
                frame_encoding_time_ms=_p50_90(_collect(recent, "publisher", "encode_ms"))))),
        subscribers=p.SubscribersMetrics(all=p.SubscriberAllMetrics(
            rtt_ms=_p50_90(_collect(recent, "subscriber", "rtt_ms")),
            audio=p.SubscriberAudioMetrics(
                concealment_pct=_p50_90(_collect(recent, "subscriber", "concealment_pct")),
                jitter_ms=_p50_90(_collect(recent, "subscriber", "audio_jitter_ms")),
                packets_lost_pct=_p50_90(_collect(recent, "subscriber", "audio_packets_lost_pct"))),
            video=p.SubscriberVideoMetrics(
                fps_30=_fps(_collect(recent, "subscriber", "fps")),
                frame_decoding_time_ms=_p50_90(_collect(recent, "subscriber", "decode_ms")),
                jitter_ms=_p50_90(_collect(recent, "subscriber", "video_jitter_ms")),
                packets_lost_pct=_p50_90(_collect(recent, "subscriber", "video_packets_lost_pct"))))),
    )
    summary = p.ActiveCallsSummary(active_calls=len(by_call), participants=len(rows),
                                   active_publishers=publishers, active_subscribers=subscribers)
    return p.GetActiveCallsStatusResponse(start_time=end - timedelta(seconds=WINDOW_SECONDS), end_time=end,
                                          metrics=metrics, summary=summary, calls=calls)


__all__ = ["REPORT_TASK", "LiveStats", "active_calls_status", "build_report", "record", "register_tasks",
           "report_of", "schedule_report", "summary_of"]
