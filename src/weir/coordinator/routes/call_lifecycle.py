"""Routes: joining and leaving, backstage (go live / stop live) and ringing (ring, accept, reject)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request

from weir.coordinator.auth import Caller, caller, services, user_caller
from weir.coordinator.call_service import open_call, open_or_create_call
from weir.coordinator.callview import call_state_response
from weir.coordinator.golive import go_live_egress, stop_live_egress
from weir.coordinator.lifecycle import participant_of
from weir.coordinator.routes.calls import CallId, CallType
from weir.coordinator.routes.edges import join_credentials
from weir.coordinator.routes.egress_join import egress_join
from weir.domain.capabilities import Capability
from weir.domain.ingress import source_of
from weir.protocol.broadcasting import GoLiveRequest, StopLiveRequest
from weir.protocol.calls import (
    MEMBERS_LIMIT_DEFAULT,
    GetOrCreateCallRequest,
    JoinCallRequest,
    JoinCallResponse,
    LeaveCallRequest,
    PinRequest,
    RejectCallRequest,
    RingCallRequest,
    RingCallResponse,
)
from weir.protocol.common import Empty
from weir.protocol.errors import APIError, ErrorCode, input_error, not_found
from weir.store.sessions import current_session

router = APIRouter(prefix="/video/call", tags=["call lifecycle"])


@router.post("/{type}/{id}/join", response_model=JoinCallResponse, summary="Join a call (creating it if asked)")
async def join_call(
    request: Request, type: CallType, id: CallId, body: JoinCallRequest,
    who: Caller = Depends(caller("JoinCall")),
) -> JoinCallResponse:
    if who.is_egress:
        return await egress_join(request, who, type, id)
    if who.is_server or who.user_id is None:
        raise APIError(ErrorCode.NOT_ALLOWED, "only users join calls: use a user token")
    started, failed = time.monotonic(), True
    try:
        response = await _join(request, who, type, id, body)
        failed = False
        return response
    finally:  # the active calls status counts join attempts, their failures and latency
        services(request).live_stats.joined(failed, (time.monotonic() - started) * 1000)


async def _join(request: Request, who: Caller, type: str, id: str, body: JoinCallRequest) -> JoinCallResponse:
    """Get or create the call and join it in one transaction: a join that fails creates no call."""
    assert who.user_id is not None
    if body.create and who.is_anonymous:
        raise APIError(ErrorCode.NOT_ALLOWED, "anonymous users cannot create calls")
    create = GetOrCreateCallRequest(
        data=body.data, ring=body.ring, notify=body.notify, video=body.video, members_limit=body.members_limit,
    ) if body.create else None
    async with open_or_create_call(services(request), who, type, id, create, None) as (opened, created):
        session, call, access = opened.session, opened.call, opened.access
        joined = await opened.lifecycle.join(who)
        state = await call_state_response(session, call, access, body.members_limit or MEMBERS_LIMIT_DEFAULT,
                                          (joined.session, joined.participants))
        credentials, stats_options = await join_credentials(request, call.cid, joined.participant, access,
                                                            source_of(who.claims.extra) or "webrtc", body.location)
        return JoinCallResponse(**dict(state), created=created, session_id=joined.session.id,
                                user_session_id=joined.participant.user_session_id, credentials=credentials,
                                stats_options=stats_options)


@router.post("/{type}/{id}/leave", response_model=Empty, summary="Leave a call's session")
async def leave_call(
    request: Request, type: CallType, id: CallId, body: LeaveCallRequest,
    who: Caller = Depends(caller("LeaveCall")),
) -> Empty:
    if who.is_egress:  # a hidden participant has no participation to end
        return Empty()
    async with open_call(services(request), who, type, id) as opened:
        participant = await participant_of(opened.session, opened.call, body.user_session_id)
        if participant is None or (not who.is_server and participant.user_id != who.user_id):
            raise not_found(f"participant {body.user_session_id} in call {opened.call.cid}")
        call_session = await current_session(opened.session, opened.call)
        if call_session is not None and participant.session_id == call_session.id:
            await opened.lifecycle.leave(call_session, participant, "left")
    return Empty()


@router.post("/{type}/{id}/go_live", response_model=Empty,
             summary="Take the call out of backstage, starting HLS or recording if asked")
async def go_live(
    request: Request, type: CallType, id: CallId, body: GoLiveRequest | None = None,
    who: Caller = Depends(user_caller("GoLive")),
) -> Empty:
    async with open_call(services(request), who, type, id, Capability.UPDATE_CALL) as opened:
        if opened.call.backstage:
            await opened.lifecycle.go_live()
        await go_live_egress(services(request), opened.session, opened.call, opened.access, body or GoLiveRequest())
    return Empty()


@router.post("/{type}/{id}/stop_live", response_model=Empty,
             summary="Put the call back into backstage, stopping HLS and recording unless continued")
async def stop_live(
    request: Request, type: CallType, id: CallId, body: StopLiveRequest | None = None,
    who: Caller = Depends(user_caller("StopLive")),
) -> Empty:
    async with open_call(services(request), who, type, id, Capability.UPDATE_CALL) as opened:
        if not opened.call.backstage:
            await opened.lifecycle.stop_live()
        await stop_live_egress(services(request), opened.session, opened.call, opened.access,
                               body or StopLiveRequest())
    return Empty()


@router.post("/{type}/{id}/ring", response_model=RingCallResponse, summary="Ring the call's members (again)")
async def ring_call(
    request: Request, type: CallType, id: CallId, body: RingCallRequest,
    who: Caller = Depends(user_caller("RingCall")),
) -> RingCallResponse:
    async with open_call(services(request), who, type, id, Capability.JOIN_CALL) as opened:
        caller_id = who.user_id or opened.call.created_by_id
        rung = await opened.ringing.ring(
            caller_id, bool(body.video), body.user_ids, by_server=who.is_server)
    return RingCallResponse(members_ids=rung)


@router.post("/{type}/{id}/accept", response_model=Empty, summary="Accept a ringing call")
async def accept_call(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(user_caller("AcceptCall")),
) -> Empty:
    if who.user_id is None:
        raise input_error("user_id", "a server token cannot accept a call")
    async with open_call(services(request), who, type, id) as opened:
        await opened.ringing.accept(who.user_id)
    return Empty()


@router.post("/{type}/{id}/reject", response_model=Empty, summary="Reject (or, as the caller, cancel) a ringing call")
async def reject_call(
    request: Request, type: CallType, id: CallId, body: RejectCallRequest | None = None,
    who: Caller = Depends(user_caller("RejectCall")),
) -> Empty:
    if who.user_id is None:
        raise input_error("user_id", "a server token cannot reject a call")
    async with open_call(services(request), who, type, id) as opened:
        await opened.ringing.reject(who.user_id, (body or RejectCallRequest()).reason)
    return Empty()


def _pin_route(pinned: bool) -> None:
    action = "pin" if pinned else "unpin"

    @router.post(f"/{{type}}/{{id}}/{action}", response_model=Empty, name=f"{action}_for_everyone",
                 summary=f"{action.title()} a participant for everyone")
    async def pin(
        request: Request, type: CallType, id: CallId, body: PinRequest,
        who: Caller = Depends(user_caller("VideoPin" if pinned else "VideoUnpin")),
    ) -> Empty:
        async with open_call(services(request), who, type, id, Capability.PIN_FOR_EVERYONE) as opened:
            await opened.lifecycle.pin(body.user_id, body.session_id, pinned)
        return Empty()


_pin_route(pinned=True)
_pin_route(pinned=False)
