"""Routes: joining and leaving, backstage (go live / stop live) and ringing (ring, accept, reject)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from weir.coordinator.auth import Caller, caller, services, user_caller
from weir.coordinator.callview import call_state_response
from weir.coordinator.lifecycle import CallLifecycle, participant_of
from weir.coordinator.ringing import CallRinging
from weir.coordinator.routes.calls import CallId, CallType, _get_or_create, _load
from weir.coordinator.routes.edges import join_credentials
from weir.coordinator.routes.egress_join import egress_join
from weir.domain.capabilities import Capability
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
    created = False
    if body.create:
        if who.is_anonymous:
            raise APIError(ErrorCode.NOT_ALLOWED, "anonymous users cannot create calls")
        made = await _get_or_create(request, who, type, id, GetOrCreateCallRequest(
            data=body.data, ring=body.ring, notify=body.notify, video=body.video, members_limit=body.members_limit,
        ), None)
        created = made.created
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        call_session, participant = await CallLifecycle(services(request), session, call, access).join(who)
        state = await call_state_response(session, call, access, body.members_limit or MEMBERS_LIMIT_DEFAULT)
        credentials, stats_options = await join_credentials(request, call.cid, participant, access)
        return JoinCallResponse(**state.model_dump(), created=created, session_id=call_session.id,
                                user_session_id=participant.user_session_id, credentials=credentials,
                                stats_options=stats_options)


@router.post("/{type}/{id}/leave", response_model=Empty, summary="Leave a call's session")
async def leave_call(
    request: Request, type: CallType, id: CallId, body: LeaveCallRequest,
    who: Caller = Depends(caller("LeaveCall")),
) -> Empty:
    if who.is_egress:  # a hidden participant has no participation to end
        return Empty()
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        participant = await participant_of(session, call, body.user_session_id)
        if participant is None or (not who.is_server and participant.user_id != who.user_id):
            raise not_found(f"participant {body.user_session_id} in call {call.cid}")
        call_session = await current_session(session, call)
        if call_session is not None and participant.session_id == call_session.id:
            await CallLifecycle(services(request), session, call, access).leave(call_session, participant, "left")
    return Empty()


@router.post("/{type}/{id}/go_live", response_model=Empty, summary="Take the call out of backstage")
async def go_live(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(user_caller("GoLive")),
) -> Empty:
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        access.require(Capability.UPDATE_CALL)
        if call.backstage:
            await CallLifecycle(services(request), session, call, access).go_live()
    return Empty()


@router.post("/{type}/{id}/stop_live", response_model=Empty, summary="Put the call back into backstage")
async def stop_live(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(user_caller("StopLive")),
) -> Empty:
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        access.require(Capability.UPDATE_CALL)
        if not call.backstage:
            await CallLifecycle(services(request), session, call, access).stop_live()
    return Empty()


@router.post("/{type}/{id}/ring", response_model=RingCallResponse, summary="Ring the call's members (again)")
async def ring_call(
    request: Request, type: CallType, id: CallId, body: RingCallRequest,
    who: Caller = Depends(user_caller("RingCall")),
) -> RingCallResponse:
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        access.require(Capability.JOIN_CALL)
        caller_id = who.user_id or call.created_by_id
        rung = await CallRinging(services(request), session, call, access).ring(
            caller_id, bool(body.video), body.user_ids, by_server=who.is_server)
    return RingCallResponse(members_ids=rung)


@router.post("/{type}/{id}/accept", response_model=Empty, summary="Accept a ringing call")
async def accept_call(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(user_caller("AcceptCall")),
) -> Empty:
    if who.user_id is None:
        raise input_error("user_id", "a server token cannot accept a call")
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        await CallRinging(services(request), session, call, access).accept(who.user_id)
    return Empty()


@router.post("/{type}/{id}/reject", response_model=Empty, summary="Reject (or, as the caller, cancel) a ringing call")
async def reject_call(
    request: Request, type: CallType, id: CallId, body: RejectCallRequest | None = None,
    who: Caller = Depends(user_caller("RejectCall")),
) -> Empty:
    if who.user_id is None:
        raise input_error("user_id", "a server token cannot reject a call")
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        reason = (body or RejectCallRequest()).reason
        await CallRinging(services(request), session, call, access).reject(who.user_id, reason)
    return Empty()


def _pin_route(pinned: bool) -> None:
    action = "pin" if pinned else "unpin"

    @router.post(f"/{{type}}/{{id}}/{action}", response_model=Empty, name=f"{action}_for_everyone",
                 summary=f"{action.title()} a participant for everyone")
    async def pin(
        request: Request, type: CallType, id: CallId, body: PinRequest,
        who: Caller = Depends(user_caller("VideoPin" if pinned else "VideoUnpin")),
    ) -> Empty:
        async with services(request).db.transaction() as session:
            call, access = await _load(session, who, type, id)
            access.require(Capability.PIN_FOR_EVERYONE)
            await CallLifecycle(services(request), session, call, access).pin(body.user_id, body.session_id, pinned)
        return Empty()


_pin_route(pinned=True)
_pin_route(pinned=False)
