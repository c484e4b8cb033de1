"""JSON models of call stats and health: active calls status, call stats reports and their queries, feedback.

Paths (under the API prefix):
- ``GET  /video/active_calls_status``                        → ``GetActiveCallsStatusResponse``
- ``GET  /video/call/{type}/{id}/stats/{session_id}``        → ``GetCallStatsResponse`` (GetCallStats)
- ``POST /video/call/stats``   ``QueryCallStatsRequest``      → ``QueryCallStatsResponse`` (QueryCallStats)
- ``POST /video/stats``        ``QueryAggregateCallStatsRequest`` → ``QueryAggregateCallStatsResponse``
- ``POST /video/call/feedback`` ``QueryUserFeedbackRequest``  → ``QueryUserFeedbackResponse`` (QueryUserFeedback)

``_pct`` fields are fractions (1.0 = 100 %), as the seed's active calls status defines them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from weir.protocol.queries import QueryRequest

Quality = Literal["good", "fair", "poor", "unknown"]
Interval = Literal["hour", "day", "week"]
AGGREGATE_BUCKETS_MAX = 1000

ACTIVE_CALLS_STATUS_PATH = "/video/active_calls_status"
CALL_STATS_PATH = "/video/call/{type}/{id}/stats/{session_id}"
QUERY_CALL_STATS_PATH = "/video/call/stats"
QUERY_AGGREGATE_CALL_STATS_PATH = "/video/stats"
QUERY_USER_FEEDBACK_PATH = "/video/call/feedback"


# --- active calls status (seed L3553–3654) -------------------------------------------------------------------

class P50P90(BaseModel):
    p50: float
    p90: float


class P10P50(BaseModel):
    p10: float
    p50: float


class FpsPercentiles(BaseModel):
    p05: float
    p10: float
    p50: float
    p90: float


class JoinCallApiMetrics(BaseModel):
    """Join calls over the window: ``total`` and ``failures`` per second, ``latency`` in milliseconds."""

    failures: float = 0.0
    total: float = 0.0
    latency: P50P90 | None = None


class PublisherAudioMetrics(BaseModel):
    jitter_ms: P50P90 | None = None


class PublisherVideoMetrics(BaseModel):
    bitrate: P10P50 | None = Field(default=None, description="kbps")
    fps_30: FpsPercentiles | None = None
    frame_encoding_time_ms: P50P90 | None = None
    jitter_ms: P50P90 | None = None
    resolution: P10P50 | None = Field(default=None, description="the smaller dimension, in pixels")


class PublisherAllMetrics(BaseModel):
    audio: PublisherAudioMetrics = PublisherAudioMetrics()
    rtt_ms: P50P90 | None = None
    video: PublisherVideoMetrics = PublisherVideoMetrics()


class PublishersMetrics(BaseModel):
    all: PublisherAllMetrics = PublisherAllMetrics()


class SubscriberAudioMetrics(BaseModel):
    concealment_pct: P50P90 | None = None
    jitter_ms: P50P90 | None = None
    packets_lost_pct: P50P90 | None = None


class SubscriberVideoMetrics(BaseModel):
    fps_30: FpsPercentiles | None = None
    frame_decoding_time_ms: P50P90 | None = None
    jitter_ms: P50P90 | None = None
    packets_lost_pct: P50P90 | None = None


class SubscriberAllMetrics(BaseModel):
    audio: SubscriberAudioMetrics = SubscriberAudioMetrics()
    rtt_ms: P50P90 | None = None
    video: SubscriberVideoMetrics = SubscriberVideoMetrics()


class SubscribersMetrics(BaseModel):
    all: SubscriberAllMetrics = SubscriberAllMetrics()


class ActiveCallsMetrics(BaseModel):
    join_call_api: JoinCallApiMetrics = JoinCallApiMetrics()
    publishers: PublishersMetrics = PublishersMetrics()
    subscribers: SubscribersMetrics = SubscribersMetrics()


class ActiveCallsSummary(BaseModel):
    active_calls: int = 0
    active_publishers: int = 0
    active_subscribers: int = 0
    participants: int = 0


class QualityIssue(BaseModel):
    """One metric outside the good range, e.g. ``poor: packet loss 12%``."""

    metric: str = Field(description="jitter, rtt, fps, encode_time, decode_time, packet_loss, audio_concealment")
    level: Literal["fair", "poor"]
    value: float = Field(description="ms for times, frames/s for fps, a fraction (1.0 = 100 %) for loss")
    text: str


class LiveParticipantQuality(BaseModel):
    """Weir's addition to the seed's shape: each live participant's quality over the window."""

    user_id: str
    user_session_id: str
    quality: Quality
    issues: list[QualityIssue] = Field(default_factory=list)
    publishing: list[str] = Field(default_factory=list, description="track types the SFU receives from them")


class LiveCallQuality(BaseModel):
    call_cid: str
    session_id: str
    quality: Quality
    issues: list[QualityIssue] = Field(default_factory=list)
    participants: list[LiveParticipantQuality] = Field(default_factory=list)


class GetActiveCallsStatusResponse(BaseModel):
    start_time: datetime
    end_time: datetime
    metrics: ActiveCallsMetrics = ActiveCallsMetrics()
    summary: ActiveCallsSummary = ActiveCallsSummary()
    calls: list[LiveCallQuality] = Field(default_factory=list, description="Weir's addition: each running call")
    duration: str = ""


# --- call stats reports --------------------------------------------------------------------------------------

class QualitySample(BaseModel):
    """One point of a quality timeline: the worst reading of the interval it covers."""

    at: datetime
    quality: Quality
    jitter_ms: float | None = None
    rtt_ms: float | None = None
    packet_loss_pct: float | None = None
    bitrate_kbps: float | None = None
    fps: float | None = None


class TrackStats(BaseModel):
    """The SFU's view of one track over the session: received from (``published``) or sent to (``subscribed``)
    the participant."""

    track_type: str
    direction: Literal["published", "subscribed"]
    packets: int = 0
    bytes: int = 0
    packets_lost: int = 0
    nacks: int = 0
    plis: int = 0
    bitrate_kbps: float | None = None
    jitter_ms: float | None = None
    layers: list[str] = Field(default_factory=list, description="simulcast rids seen (published) or sent")


class ParticipantStats(BaseModel):
    user_id: str
    user_session_id: str
    joined_at: datetime | None = None
    left_at: datetime | None = None
    quality: Quality
    issues: list[QualityIssue] = Field(default_factory=list)
    timeline: list[QualitySample] = Field(default_factory=list)
    tracks: list[TrackStats] = Field(default_factory=list)


class CallStatsSummary(BaseModel):
    """One report as the query lists it (without participants and timelines)."""

    call_cid: str
    call_type: str
    call_id: str
    session_id: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: int = 0
    participants_count: int = 0
    quality: Quality
    issues: list[QualityIssue] = Field(default_factory=list)
    created_at: datetime


class GetCallStatsResponse(CallStatsSummary):
    participants: list[ParticipantStats] = Field(default_factory=list)
    timeline: list[QualitySample] = Field(default_factory=list, description="the call's quality over time")
    duration: str = ""


class QueryCallStatsRequest(QueryRequest):
    """Filter on call_cid, call_type, call_id, session_id, quality, started_at, ended_at, created_at,
    duration_seconds, participants_count; sort by the same (default: created_at, newest first)."""


class QueryCallStatsResponse(BaseModel):
    reports: list[CallStatsSummary]
    next: str | None = None
    prev: str | None = None
    duration: str = ""


class QueryAggregateCallStatsRequest(BaseModel):
    """Totals of the reports whose session started in ``[from, to)``, one bucket per ``interval``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    interval: Interval = "day"
    call_type: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _ordered(self) -> QueryAggregateCallStatsRequest:
        if self.from_.tzinfo is None or self.to.tzinfo is None:
            raise ValueError("from and to need a time zone (e.g. 2026-01-01T00:00:00Z)")
        if self.to <= self.from_:
            raise ValueError("to must be after from")
        return self


class AggregateBucket(BaseModel):
    start: datetime
    end: datetime
    calls: int = 0
    participant_sessions: int = 0
    call_minutes: float = 0.0
    good: int = Field(default=0, description="calls of good quality")
    fair: int = 0
    poor: int = 0
    feedback_count: int = 0
    average_rating: float | None = None


class QueryAggregateCallStatsResponse(BaseModel):
    totals: AggregateBucket
    buckets: list[AggregateBucket]
    duration: str = ""


class QueryUserFeedbackRequest(QueryRequest):
    """Filter on call_cid, session_id, user_id, rating, created_at; sort by created_at or rating."""


class UserFeedbackResponse(BaseModel):
    call_cid: str
    session_id: str
    user_id: str
    user_session_id: str | None = None
    rating: int
    reason: str | None = None
    custom: dict[str, Any] = Field(default_factory=dict)
    sdk: str | None = None
    sdk_version: str | None = None
    created_at: datetime


class QueryUserFeedbackResponse(BaseModel):
    user_feedback: list[UserFeedbackResponse]
    next: str | None = None
    prev: str | None = None
    duration: str = ""


__all__ = [
    "ACTIVE_CALLS_STATUS_PATH", "AGGREGATE_BUCKETS_MAX", "CALL_STATS_PATH", "QUERY_AGGREGATE_CALL_STATS_PATH",
    "QUERY_CALL_STATS_PATH", "QUERY_USER_FEEDBACK_PATH", "ActiveCallsMetrics", "ActiveCallsSummary",
    "AggregateBucket", "CallStatsSummary", "FpsPercentiles", "GetActiveCallsStatusResponse", "GetCallStatsResponse",
    "Interval", "JoinCallApiMetrics", "LiveCallQuality", "LiveParticipantQuality", "P10P50", "P50P90",
    "ParticipantStats", "PublisherAllMetrics", "PublisherAudioMetrics", "PublisherVideoMetrics", "PublishersMetrics",
    "Quality", "QualityIssue", "QualitySample", "QueryAggregateCallStatsRequest", "QueryAggregateCallStatsResponse",
    "QueryCallStatsRequest", "QueryCallStatsResponse", "QueryUserFeedbackRequest", "QueryUserFeedbackResponse",
    "SubscriberAllMetrics", "SubscriberAudioMetrics", "SubscriberVideoMetrics", "SubscribersMetrics", "TrackStats",
    "UserFeedbackResponse",
]
