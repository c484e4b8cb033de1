"""Participant stats timelines and call stats reports in the database.

A timeline holds at most ``MAX_POINTS`` points: past that, the older half is merged pairwise (each merged point
keeps the worse value of each metric), so a long call keeps its whole span at a coarser grain, in bounded space.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.call_health import Reading
from weir.domain.filters import Field, Kind, SortKey, parse_timestamp
from weir.store.query import Model, SqlField
from weir.store.tables import CallStatsReportRow, ParticipantStatsRow, SessionParticipantRow, UserFeedbackRow

MAX_POINTS = 240
METRICS = tuple(Reading.__dataclass_fields__) + ("bitrate_kbps",)
_LOWER_IS_WORSE = frozenset({"fps", "bitrate_kbps"})


def _merge(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {"at": first["at"]}
    for name in METRICS:
        values = [v for v in (first.get(name), second.get(name)) if v is not None]
        merged[name] = (min(values) if name in _LOWER_IS_WORSE else max(values)) if values else None
    return merged


def compact(points: list[dict[str, Any]], limit: int = MAX_POINTS) -> list[dict[str, Any]]:
    """``points`` in at most ``limit`` points: the older half merged pairwise until it fits."""
    while len(points) > limit:
        half = len(points) // 2
        older = [_merge(points[i], points[i + 1]) if i + 1 < half else points[i] for i in range(0, half, 2)]
        points = older + points[half:]
    return points


def point_of(sample: dict[str, Any]) -> dict[str, Any]:
    reading = sample.get("reading") or {}
    return {"at": sample["at"], **{name: reading.get(name) for name in Reading.__dataclass_fields__},
            "bitrate_kbps": sample.get("bitrate_kbps")}


async def record_samples(session: AsyncSession, call_cid: str, samples: Sequence[dict[str, Any]]) -> int:
    """Add each sample to its participant session's timeline; samples of sessions not in the call are dropped.
    Returns how many were kept.

    The rows are read in one query, and the participants of sessions without one in another: the SFU posts one
    batch per call every few seconds, and a query per sample made the coordinator's work grow with the call."""
    dated = [(str(sample.get("user_session_id", "")), at, sample) for sample in samples
             if (at := parse_timestamp(sample.get("at"))) is not None]
    ids = {user_session_id for user_session_id, _, _ in dated}
    if not ids:
        return 0
    rows = {row.user_session_id: row for row in (await session.scalars(
        select(ParticipantStatsRow).where(ParticipantStatsRow.user_session_id.in_(ids)))).all()}
    missing = ids - rows.keys()
    participants = {row.user_session_id: row for row in (await session.scalars(
        select(SessionParticipantRow).where(SessionParticipantRow.user_session_id.in_(missing)))).all()} \
        if missing else {}
    kept = 0
    for user_session_id, at, sample in dated:
        row = rows.get(user_session_id)
        if row is None:
            participant = participants.get(user_session_id)
            if participant is None or participant.call_cid != call_cid:
                continue
            row = rows[user_session_id] = ParticipantStatsRow(
                user_session_id=user_session_id, call_cid=call_cid, session_id=participant.session_id,
                user_id=participant.user_id, first_at=at, last_at=at, timeline=[], tracks=[])
            session.add(row)
        elif row.call_cid != call_cid:
            continue
        row.timeline = compact([*row.timeline, point_of(sample)])
        row.tracks = list(sample.get("tracks") or [])
        row.last_at = at
        kept += 1
    return kept


async def session_stats(session: AsyncSession, session_id: str) -> list[ParticipantStatsRow]:
    return list((await session.scalars(
        select(ParticipantStatsRow).where(ParticipantStatsRow.session_id == session_id)
        .order_by(ParticipantStatsRow.first_at))).all())


_STRING, _TIME, _INT = Field(Kind.STRING), Field(Kind.DATETIME), Field(Kind.NUMBER)
_MAYBE_TIME, _MAYBE_STRING = Field(Kind.DATETIME, nullable=True), Field(Kind.STRING, nullable=True)

REPORTS = Model(
    name="call_stats",
    fields={
        "call_cid": SqlField(_STRING, CallStatsReportRow.call_cid),
        "call_type": SqlField(_STRING, CallStatsReportRow.call_type),
        "call_id": SqlField(_STRING, CallStatsReportRow.call_id),
        "session_id": SqlField(_STRING, CallStatsReportRow.session_id),
        "quality": SqlField(_STRING, CallStatsReportRow.quality),
        "started_at": SqlField(_MAYBE_TIME, CallStatsReportRow.started_at),
        "ended_at": SqlField(_MAYBE_TIME, CallStatsReportRow.ended_at),
        "created_at": SqlField(_TIME, CallStatsReportRow.created_at),
        "duration_seconds": SqlField(_INT, CallStatsReportRow.duration_seconds),
        "participants_count": SqlField(_INT, CallStatsReportRow.participants_count),
    },
    custom=CallStatsReportRow.report,
    sortable=("created_at", "started_at", "ended_at", "duration_seconds", "participants_count", "call_cid"),
    key=CallStatsReportRow.session_id,
    default_sort=SortKey("created_at", ascending=False),
)

FEEDBACK = Model(
    name="user_feedback",
    fields={
        "call_cid": SqlField(_STRING, UserFeedbackRow.call_cid),
        "session_id": SqlField(_STRING, UserFeedbackRow.session_id),
        "user_id": SqlField(_STRING, UserFeedbackRow.user_id),
        "user_session_id": SqlField(_MAYBE_STRING, UserFeedbackRow.user_session_id),
        "rating": SqlField(_INT, UserFeedbackRow.rating),
        "created_at": SqlField(_TIME, UserFeedbackRow.created_at),
    },
    custom=UserFeedbackRow.custom,
    sortable=("created_at", "rating"),
    key=UserFeedbackRow.id,
    default_sort=SortKey("created_at", ascending=False),
)

__all__ = ["FEEDBACK", "MAX_POINTS", "REPORTS", "compact", "point_of", "record_samples", "session_stats"]
