"""The ``join`` request: check the SFU token, resume a session the SFU still holds, or admit a new one."""

from __future__ import annotations

from datetime import UTC, datetime

from weir.domain.sfu_tokens import SfuGrant, SfuTokenError, verify_sfu_token
from weir.protocol.sfu.errors import SfuErrorCode, SignalError
from weir.protocol.sfu.events import JoinResponseEvent
from weir.protocol.sfu.requests import JoinRequest
from weir.sfu.signaling.join_limit import JoinLimit
from weir.sfu.signaling.link import CallRecord, CoordinatorUnavailable, ParticipantRecord
from weir.sfu.signaling.outbox import Outbox
from weir.sfu.signaling.publish_options import publish_options
from weir.sfu.signaling.rooms import SignalingRooms
from weir.sfu.signaling.session import ParticipantSession


def _grant(secret: str, request: JoinRequest) -> SfuGrant:
    details = request.reconnect_details
    # A fast reconnect may come after the token expired: the session it resumes proves the join was valid.
    fast = details is not None and details.strategy == "fast"
    try:
        grant = verify_sfu_token(secret, request.token, allow_expired=fast)
    except SfuTokenError as error:
        code = SfuErrorCode.TOKEN_EXPIRED if error.expired else SfuErrorCode.INVALID_TOKEN
        raise SignalError(code, str(error), request.request_id) from error
    if grant.session_id != request.session_id:
        raise SignalError(SfuErrorCode.INVALID_TOKEN, "session_id is not the session the token was issued for",
                          request.request_id)
    return grant


def hidden_admission(grant: SfuGrant) -> tuple[CallRecord, ParticipantRecord]:
    """A hidden participant (a recording worker) has no participant row at the coordinator: its token is its
    admission. An empty call record only opens the room; the first real participant's admission fills it in."""
    record = ParticipantRecord(user_id=grant.user_id, session_id=grant.session_id, role=grant.role, anonymous=True,
                               joined_at=datetime.now(UTC), name="", image="", custom={})
    return CallRecord(cid=grant.call_cid, started_at=None, pins=(), settings={}), record


def join_response(session: ParticipantSession, deadline_seconds: float, reconnected: bool) -> JoinResponseEvent:
    room = session.room
    return JoinResponseEvent(
        call_state=room.call_state(), own_capabilities=sorted(session.capabilities),
        publish_options=publish_options(room.settings), fast_reconnect_deadline_seconds=deadline_seconds,
        reconnected=reconnected,
    )


async def join(
    secret: str, rooms: SignalingRooms, outbox: Outbox, request: JoinRequest, limit: JoinLimit
) -> ParticipantSession:
    grant = _grant(secret, request)
    limit.check(grant.user_id, request.request_id)
    existing = rooms.find(grant.call_cid, grant.session_id)
    if existing is not None and existing.user_id == grant.user_id:
        existing.attach(outbox)
        if not existing.media_failed:
            rooms.resumed(existing)
        existing.send(join_response(existing, rooms.deadline_seconds, reconnected=True))
        return existing
    details = request.reconnect_details
    if details is not None and details.strategy == "fast":
        raise SignalError(SfuErrorCode.SESSION_NOT_FOUND, "this SFU no longer holds the session: join the call again",
                          request.request_id)
    if grant.session_id in rooms.joining:
        raise SignalError(SfuErrorCode.ALREADY_JOINED, "this session is already joining", request.request_id)
    rooms.joining.add(grant.session_id)
    try:
        if details is not None and details.previous_session_id is not None:
            previous = rooms.find(grant.call_cid, details.previous_session_id)
            if previous is not None and previous.user_id == grant.user_id:
                if previous.outbox is not None:
                    previous.outbox.fail(SignalError(SfuErrorCode.SESSION_REPLACED, "a new session replaced this one"))
                await rooms.remove(previous, "rejoined")
        try:
            admitted = hidden_admission(grant) if grant.hidden else await rooms.link.admit(grant.call_cid,
                                                                                           grant.session_id)
        except CoordinatorUnavailable:
            raise SignalError(SfuErrorCode.INTERNAL_ERROR, "the server is busy and did not admit the session in "
                              "time: try again", request.request_id) from None
        if admitted is None or admitted[1].user_id != grant.user_id:
            raise SignalError(SfuErrorCode.SESSION_NOT_FOUND,
                              "the call has no such participant session (left, removed or ended): join the call again",
                              request.request_id)
        call, participant = admitted
        session = ParticipantSession(grant, participant, rooms.room(call, hidden=grant.hidden), request.capabilities)
        session.attach(outbox)
        await rooms.add(session)
        session.send(join_response(session, rooms.deadline_seconds, reconnected=False))
        return session
    finally:
        rooms.joining.discard(grant.session_id)


__all__ = ["join", "join_response"]
