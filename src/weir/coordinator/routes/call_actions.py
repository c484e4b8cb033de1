"""Routes: in-call interactions — custom events, reactions, permission requests and grants, mutes, feedback."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.auth import Caller, services, user_caller
from weir.coordinator.call_access import CallAccess
from weir.coordinator.call_actions_events import InteractionEvents, granters, user_access
from weir.coordinator.call_service import open_call
from weir.coordinator.routes.calls import CallId, CallType
from weir.coordinator.userview import user_response
from weir.domain.capabilities import ALL_CAPABILITIES, Capability
from weir.domain.clock import now
from weir.protocol import events as ev
from weir.protocol.call_actions import (
    CollectUserFeedbackRequest,
    MuteUsersRequest,
    ReactionResponse,
    RequestPermissionRequest,
    SendCallEventRequest,
    SendReactionRequest,
    SendReactionResponse,
    UpdateUserPermissionsRequest,
)
from weir.protocol.common import Empty
from weir.protocol.errors import input_error, not_allowed
from weir.store.sessions import active_participants, current_session, latest_session
from weir.store.tables import CallMemberRow, CallRow, CallSessionRow, CallUserPermissionRow, UserFeedbackRow
from weir.store.users import ensure_user

router = APIRouter(prefix="/video/call", tags=["call interactions"])

# What a user may ask for, and the settings section whose ``access_request_enabled`` allows asking.
REQUESTABLE: dict[str, str] = {
    Capability.SEND_AUDIO.value: "audio",
    Capability.SEND_VIDEO.value: "video",
    Capability.SCREENSHARE.value: "screensharing",
}


def _acting_user_id(who: Caller, user_id: str | None, field: str = "user_id") -> str:
    """Who acts: a user token acts as its user; a server token must name the user in ``field``."""
    if who.is_server:
        if user_id is None:
            raise input_error(field, "server-side requests must name the user who acts")
        return user_id
    assert who.user_id is not None
    if user_id is not None and user_id != who.user_id:
        raise not_allowed(f"{field}: a user token can only act as its own user")
    return who.user_id


@router.post("/{type}/{id}/event", response_model=Empty, summary="Send a custom event to the call")
async def send_call_event(
    request: Request, type: CallType, id: CallId, body: SendCallEventRequest,
    who: Caller = Depends(user_caller("SendEvent")),
) -> Empty:
    async with open_call(services(request), who, type, id, Capability.JOIN_CALL) as opened:
        session, call = opened.session, opened.call
        user = await ensure_user(session, _acting_user_id(who, body.user_id))
        await InteractionEvents(services(request), session, call).custom(user, body.custom)
    return Empty()


@router.post("/{type}/{id}/reaction", response_model=SendReactionResponse, summary="Send a reaction")
async def send_reaction(
    request: Request, type: CallType, id: CallId, body: SendReactionRequest,
    who: Caller = Depends(user_caller("SendVideoReaction")),
) -> SendReactionResponse:
    async with open_call(services(request), who, type, id, Capability.CREATE_REACTION) as opened:
        session, call = opened.session, opened.call
        user = await ensure_user(session, _acting_user_id(who, body.user_id))
        reaction = ev.Reaction(type=body.type, user=user_response(user), emoji_code=body.emoji_code,
                               custom=body.custom)
        await InteractionEvents(services(request), session, call).reaction(reaction)
    return SendReactionResponse(reaction=ReactionResponse(**reaction.model_dump()))


def _check_requestable(access: CallAccess, permissions: list[str]) -> None:
    for permission in permissions:
        section = REQUESTABLE.get(permission)
        if section is None:
            raise input_error("permissions", f"'{permission}' cannot be requested; only "
                                             f"{', '.join(REQUESTABLE)} can")
        if not access.settings.access_request_allowed(section):
            raise input_error("permissions", f"requests for '{permission}' are switched off in this call's "
                                             f"{section} settings")


@router.post("/{type}/{id}/request_permission", response_model=Empty, summary="Ask to send audio, video or screen")
async def request_permission(
    request: Request, type: CallType, id: CallId, body: RequestPermissionRequest,
    who: Caller = Depends(user_caller("RequestPermission")),
) -> Empty:
    permissions = list(dict.fromkeys(body.permissions))
    async with open_call(services(request), who, type, id) as opened:
        session, call, access = opened.session, opened.call, opened.access
        _check_requestable(access, permissions)
        user = await ensure_user(session, _acting_user_id(who, body.user_id))
        to = await granters(session, access.call_type, call)
        await InteractionEvents(services(request), session, call).permission_request(user, permissions, to)
    return Empty()


def _check_permission_changes(access: CallAccess, body: UpdateUserPermissionsRequest) -> None:
    if not body.grant_permissions and not body.revoke_permissions:
        raise input_error("grant_permissions", "give grant_permissions or revoke_permissions")
    changes = {"grant_permissions": body.grant_permissions, "revoke_permissions": body.revoke_permissions}
    for field, names in changes.items():
        unknown = sorted(set(names) - ALL_CAPABILITIES)
        if unknown:
            raise input_error(field, f"unknown capabilities: {', '.join(unknown)}")
    both = sorted(set(body.grant_permissions) & set(body.revoke_permissions))
    if both:
        raise input_error("revoke_permissions", f"both granted and revoked: {', '.join(both)}")
    beyond = sorted(set(body.grant_permissions) - access.capabilities)
    if beyond:
        raise not_allowed(f"grant_permissions: you cannot grant capabilities you lack: {', '.join(beyond)}")


async def _permission_row(session: AsyncSession, call: CallRow, user_id: str) -> CallUserPermissionRow:
    """The user's runtime grants in the call, locked for update; created empty the first time."""
    key = (call.cid, user_id)
    row = await session.get(CallUserPermissionRow, key, with_for_update=True)
    if row is not None:
        return row
    try:
        async with session.begin_nested():
            row = CallUserPermissionRow(call_cid=call.cid, user_id=user_id, granted=[], revoked=[],
                                        updated_at=now())
            session.add(row)
            await session.flush()
            return row
    except IntegrityError:  # a concurrent request created it first
        row = await session.get(CallUserPermissionRow, key, with_for_update=True, populate_existing=True)
        assert row is not None
        return row


@router.post("/{type}/{id}/user_permissions", response_model=Empty, summary="Grant or revoke a user's permissions")
async def update_user_permissions(
    request: Request, type: CallType, id: CallId, body: UpdateUserPermissionsRequest,
    who: Caller = Depends(user_caller("UpdateUserPermissions")),
) -> Empty:
    grant, revoke = set(body.grant_permissions), set(body.revoke_permissions)
    async with open_call(services(request), who, type, id, Capability.UPDATE_CALL_PERMISSIONS) as opened:
        session, call, access = opened.session, opened.call, opened.access
        _check_permission_changes(access, body)
        user = await ensure_user(session, body.user_id)
        row = await _permission_row(session, call, body.user_id)
        row.granted = sorted((set(row.granted) | grant) - revoke)
        row.revoked = sorted((set(row.revoked) | revoke) - grant)
        row.updated_at = now()
        await session.flush()
        target = await user_access(session, access.call_type, call, user)
        await InteractionEvents(services(request), session, call).permissions_updated(
            user, sorted(target.capabilities)
        )
    return Empty()


async def _everyone_else(session: AsyncSession, call: CallRow, muter_id: str) -> list[str]:
    """Who "mute all" mutes: the current session's participants, or the members while no session runs."""
    live = await current_session(session, call)
    if live is not None:
        users = [p.user_id for p in await active_participants(session, live.id) if not p.anonymous]
    else:
        rows = await session.scalars(select(CallMemberRow.user_id).where(CallMemberRow.call_cid == call.cid))
        users = list(rows.all())
    return [u for u in dict.fromkeys(users) if u != muter_id]


@router.post("/{type}/{id}/mute_users", response_model=Empty, summary="Mute some users, or everyone else")
async def mute_users(
    request: Request, type: CallType, id: CallId, body: MuteUsersRequest,
    who: Caller = Depends(user_caller("MuteUsers")),
) -> Empty:
    if (body.user_ids is not None) == body.mute_all_users:
        raise input_error("user_ids", "give exactly one of user_ids or mute_all_users: true")
    if not body.tracks:
        raise input_error("audio", "say what to mute: audio, video, screenshare or screenshare_audio")
    async with open_call(services(request), who, type, id, Capability.MUTE_USERS) as opened:
        session, call = opened.session, opened.call
        muter_id = _acting_user_id(who, body.muted_by_id, "muted_by_id")
        if body.user_ids is not None:
            muted = list(dict.fromkeys(body.user_ids))
        else:
            muted = await _everyone_else(session, call, muter_id)
        # Nothing is stored: a mute stops what is being sent now; the SFU enforces it, capabilities stay.
        await InteractionEvents(services(request), session, call).user_muted(muter_id, muted, ",".join(body.tracks))
    return Empty()


async def _feedback_session(session: AsyncSession, call: CallRow, session_id: str | None) -> CallSessionRow:
    if session_id is None:
        latest = await latest_session(session, call)
        if latest is None:
            raise input_error("session_id", "the call has had no session yet")
        return latest
    named = await session.get(CallSessionRow, session_id)
    if named is None or named.call_cid != call.cid:
        raise input_error("session_id", f"call {call.cid} has no session {session_id}")
    return named


@router.post("/{type}/{id}/feedback", response_model=Empty, summary="Rate a call session (1-5)")
async def collect_user_feedback(
    request: Request, type: CallType, id: CallId, body: CollectUserFeedbackRequest,
    who: Caller = Depends(user_caller("CollectUserFeedback")),
) -> Empty:
    async with open_call(services(request), who, type, id) as opened:
        session, call = opened.session, opened.call
        rated = await _feedback_session(session, call, body.session_id)
        user = await ensure_user(session, _acting_user_id(who, body.user_id))
        feedback = UserFeedbackRow(
            id=secrets.token_hex(16), call_cid=call.cid, session_id=rated.id, user_id=user.id,
            user_session_id=body.user_session_id, rating=body.rating, reason=body.reason, custom=body.custom or {},
            sdk=body.sdk, sdk_version=body.sdk_version, created_at=now(),
        )
        session.add(feedback)
        await session.flush()
        await InteractionEvents(services(request), session, call).feedback_submitted(user, feedback)
    return Empty()
