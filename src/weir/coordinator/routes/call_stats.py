"""Routes: call stats and health — active calls status, a session's stats report, and the stats and feedback
queries. Operators only (a server token, or a user with the admin role), except a call's report, which whoever
may read the call may read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy import select

from weir.coordinator.auth import Caller, caller, services, user_caller
from weir.coordinator.call_service import load_call
from weir.coordinator.call_stats import active_calls_status, report_of, summary_of
from weir.coordinator.routes.calls import CallId, CallType
from weir.coordinator.routes.queries import _page
from weir.domain.clock import utc
from weir.protocol import call_stats as p
from weir.protocol.errors import APIError, ErrorCode, input_error
from weir.store.call_stats import FEEDBACK, REPORTS
from weir.store.tables import CallStatsReportRow, UserFeedbackRow

router = APIRouter(tags=["call stats"])

ADMIN_ROLE = "admin"
INTERVALS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
SessionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-]{1,64}$", description="Call session id")]


def operator(endpoint: str) -> Callable[[Request, Response], Awaitable[Caller]]:
    """Dependency: a server token, or a user token of an admin."""
    user = user_caller(endpoint)

    async def dependency(request: Request, response: Response) -> Caller:
        who = await user(request, response)
        if not who.is_server and who.user_role != ADMIN_ROLE:
            raise APIError(ErrorCode.NOT_ALLOWED, f"{endpoint} is for operators: use a server token or an admin")
        return who

    dependency.__name__ = f"operator_{endpoint}"
    return dependency


@router.get(p.ACTIVE_CALLS_STATUS_PATH, response_model=p.GetActiveCallsStatusResponse,
            summary="Calls running now: counts and health over the last minute")
async def get_active_calls_status(
    request: Request, _who: Caller = Depends(operator("GetActiveCallsStatus")),
) -> p.GetActiveCallsStatusResponse:
    async with services(request).db.read() as session:
        return await active_calls_status(session, services(request).live_stats)


@router.get(p.CALL_STATS_PATH, response_model=p.GetCallStatsResponse, summary="A call session's stats report")
async def get_call_stats(
    request: Request, type: CallType, id: CallId, session_id: SessionId,
    who: Caller = Depends(caller("GetCallStats")),
) -> p.GetCallStatsResponse:
    async with services(request).db.read() as session:
        call, _access = await load_call(session, who, type, id)
        row = await session.get(CallStatsReportRow, session_id)
        if row is None or row.call_cid != call.cid:
            raise APIError(ErrorCode.NOT_FOUND, f"no stats report of session {session_id} in call {call.cid}: "
                                                "a session's report is ready a few seconds after it ends")
        return report_of(row)


@router.post(p.QUERY_CALL_STATS_PATH, response_model=p.QueryCallStatsResponse, summary="Query call stats reports")
async def query_call_stats(
    request: Request, body: p.QueryCallStatsRequest, _who: Caller = Depends(operator("QueryCallStats")),
) -> p.QueryCallStatsResponse:
    async with services(request).db.read() as session:
        page = await _page(session, REPORTS, select(CallStatsReportRow), body)
    return p.QueryCallStatsResponse(reports=[summary_of(r) for r in page.rows], next=page.next, prev=page.prev)


@router.post(p.QUERY_USER_FEEDBACK_PATH, response_model=p.QueryUserFeedbackResponse,
             summary="Query the ratings users gave their calls")
async def query_user_feedback(
    request: Request, body: p.QueryUserFeedbackRequest, _who: Caller = Depends(operator("QueryUserFeedback")),
) -> p.QueryUserFeedbackResponse:
    async with services(request).db.read() as session:
        page = await _page(session, FEEDBACK, select(UserFeedbackRow), body)
    return p.QueryUserFeedbackResponse(user_feedback=[
        p.UserFeedbackResponse(call_cid=f.call_cid, session_id=f.session_id, user_id=f.user_id,
                               user_session_id=f.user_session_id, rating=f.rating, reason=f.reason,
                               custom=f.custom or {}, sdk=f.sdk, sdk_version=f.sdk_version,
                               created_at=utc(f.created_at))
        for f in page.rows], next=page.next, prev=page.prev)


def _bucket_of(at: datetime, start: datetime, step: timedelta) -> int:
    return int((at - start) / step)


@router.post(p.QUERY_AGGREGATE_CALL_STATS_PATH, response_model=p.QueryAggregateCallStatsResponse,
             summary="Totals of call stats over a time range, per hour, day or week")
async def query_aggregate_call_stats(
    request: Request, body: p.QueryAggregateCallStatsRequest,
    _who: Caller = Depends(operator("QueryAggregateCallStats")),
) -> p.QueryAggregateCallStatsResponse:
    start, end, step = utc(body.from_), utc(body.to), INTERVALS[body.interval]
    count = -(-(end - start) // step)
    if count > p.AGGREGATE_BUCKETS_MAX:
        raise input_error("interval", f"from..to holds {count} {body.interval}s; at most "
                                      f"{p.AGGREGATE_BUCKETS_MAX} buckets: use a longer interval or a shorter range")
    buckets = [p.AggregateBucket(start=start + step * i, end=min(end, start + step * (i + 1))) for i in range(count)]
    ratings: list[list[int]] = [[] for _ in buckets]
    async with services(request).db.read() as session:
        reports = select(CallStatsReportRow).where(CallStatsReportRow.started_at >= start,
                                                   CallStatsReportRow.started_at < end)
        if body.call_type is not None:
            reports = reports.where(CallStatsReportRow.call_type == body.call_type)
        for row in (await session.scalars(reports)).all():
            bucket = buckets[_bucket_of(utc(row.started_at), start, step)]  # type: ignore[arg-type]
            bucket.calls += 1
            bucket.participant_sessions += row.participants_count
            bucket.call_minutes += row.duration_seconds / 60
            if row.quality in ("good", "fair", "poor"):
                setattr(bucket, row.quality, getattr(bucket, row.quality) + 1)
        feedback = select(UserFeedbackRow).where(UserFeedbackRow.created_at >= start, UserFeedbackRow.created_at < end)
        if body.call_type is not None:
            feedback = feedback.where(UserFeedbackRow.call_cid.startswith(body.call_type + ":", autoescape=True))
        for f in (await session.scalars(feedback)).all():
            ratings[_bucket_of(utc(f.created_at), start, step)].append(f.rating)
    for bucket, given in zip(buckets, ratings, strict=True):
        bucket.feedback_count = len(given)
        bucket.average_rating = sum(given) / len(given) if given else None
    every = [r for given in ratings for r in given]
    totals = p.AggregateBucket(
        start=start, end=end, calls=sum(b.calls for b in buckets),
        participant_sessions=sum(b.participant_sessions for b in buckets),
        call_minutes=sum(b.call_minutes for b in buckets), good=sum(b.good for b in buckets),
        fair=sum(b.fair for b in buckets), poor=sum(b.poor for b in buckets), feedback_count=len(every),
        average_rating=sum(every) / len(every) if every else None)
    return p.QueryAggregateCallStatsResponse(totals=totals, buckets=buckets)
