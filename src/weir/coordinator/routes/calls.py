"""Routes: calls — get-or-create, get, update, delete, end, members, call-level block/unblock/kick."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from weir.coordinator import call_service
from weir.coordinator.auth import Caller, caller, services, user_caller
from weir.coordinator.call_access import access_for, system_access
from weir.coordinator.call_service import DEFAULT_MEMBER_ROLE, load_call, open_call
from weir.coordinator.callview import call_response, call_state_response, member_response
from weir.coordinator.tasks_delete import DELETE_CALL, soft_delete_call
from weir.domain.capabilities import Capability
from weir.domain.settings import merge_settings
from weir.protocol.calls import (
    MEMBERS_LIMIT_DEFAULT,
    MEMBERS_LIMIT_MAX,
    BlockUserRequest,
    CallStateResponse,
    DeleteCallRequest,
    GetOrCreateCallRequest,
    GetOrCreateCallResponse,
    KickUserRequest,
    UpdateCallMembersRequest,
    UpdateCallMembersResponse,
    UpdateCallRequest,
)
from weir.protocol.common import Empty
from weir.protocol.errors import APIError, ErrorCode, input_error
from weir.protocol.limits import CALL_ID_PATTERN, CALL_TYPE_PATTERN
from weir.protocol.tasks import DeleteCallResponse
from weir.store import calls as store
from weir.store.tables import CallRow
from weir.store.users import ensure_user

router = APIRouter(prefix="/video/call", tags=["calls"])

CallType = Annotated[str, Path(pattern=CALL_TYPE_PATTERN, description="Call type name")]
CallId = Annotated[str, Path(pattern=CALL_ID_PATTERN, description="Call id")]
ConnectionId = Annotated[
    str | None, Query(max_length=64, description="Watch the call's events on this WebSocket connection")
]


@router.post("/{type}", response_model=GetOrCreateCallResponse, summary="Create a call with a generated id")
async def create_call(
    request: Request, type: CallType, body: GetOrCreateCallRequest, connection_id: ConnectionId = None,
    who: Caller = Depends(user_caller("GetOrCreateCall")),
) -> GetOrCreateCallResponse:
    return await call_service.get_or_create(services(request), who, type, secrets.token_hex(8), body, connection_id)


@router.post("/{type}/{id}", response_model=GetOrCreateCallResponse, summary="Get a call, creating it if missing")
async def get_or_create_call(
    request: Request, type: CallType, id: CallId, body: GetOrCreateCallRequest | None = None,
    connection_id: ConnectionId = None, who: Caller = Depends(user_caller("GetOrCreateCall")),
) -> GetOrCreateCallResponse:
    return await call_service.get_or_create(
        services(request), who, type, id, body or GetOrCreateCallRequest(), connection_id)


@router.get("/{type}/{id}", response_model=CallStateResponse, summary="Get a call")
async def get_call(
    request: Request, type: CallType, id: CallId,
    members_limit: Annotated[int, Query(ge=1, le=MEMBERS_LIMIT_MAX)] = MEMBERS_LIMIT_DEFAULT,
    connection_id: ConnectionId = None, who: Caller = Depends(caller("GetCall")),
) -> CallStateResponse:
    return await call_service.get_call(services(request), who, type, id, members_limit, connection_id)


@router.patch("/{type}/{id}", response_model=CallStateResponse,
               summary="Update a call's custom data, schedule or settings")
async def update_call(
    request: Request, type: CallType, id: CallId, body: UpdateCallRequest,
    who: Caller = Depends(user_caller("UpdateCall")),
) -> CallStateResponse:
    async with open_call(services(request), who, type, id, Capability.UPDATE_CALL) as opened:
        call, session = opened.call, opened.session
        if body.custom is not None:
            call.custom = body.custom
        if body.starts_at is not None:
            call.starts_at = body.starts_at
        if body.settings_override is not None:
            opened.access.require(Capability.UPDATE_CALL_SETTINGS)
            call.settings_override = merge_settings(
                call.settings_override or {}, body.settings_override.as_patch()
            )
        store.touch(call)
        await session.flush()
        access = await access_for(session, who, opened.access.call_type, call)
        lifecycle = replace(opened, access=access).lifecycle
        if body.settings_override is not None:
            await lifecycle.settings_changed()
        await lifecycle.events.updated()
        return await call_state_response(session, call, access, MEMBERS_LIMIT_DEFAULT)


@router.post("/{type}/{id}/delete", response_model=DeleteCallResponse, summary="Delete a call (soft by default)")
async def delete_call(
    request: Request, type: CallType, id: CallId, body: DeleteCallRequest | None = None,
    who: Caller = Depends(user_caller("DeleteCall")),
) -> DeleteCallResponse:
    """Soft: the call is hidden from the API at once. Hard (server only): hidden at once, then a task removes it
    with its members, sessions, recordings and transcripts; a soft-deleted call can still be purged this way."""
    hard = bool(body and body.hard)
    if hard and not who.is_server:
        raise APIError(ErrorCode.NOT_ALLOWED, "hard delete needs a server token")
    weir = services(request)
    async with weir.db.transaction() as session:
        deleted = await store.get_call(session, f"{type}:{id}", include_deleted=True) if hard else None
        if deleted is not None and deleted.deleted_at is not None:
            call, access = deleted, await system_access(session, deleted)
        else:
            call, access = await load_call(session, who, type, id)
            access.require(Capability.END_CALL)
            await soft_delete_call(weir, session, call)
        response = DeleteCallResponse(call=await call_response(session, call, access))
        if hard:
            response.task_id = weir.tasks.submit(session, DELETE_CALL, {"cid": call.cid}).id
    return response


@router.post("/{type}/{id}/mark_ended", response_model=Empty, summary="End a call for everyone")
async def end_call(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(user_caller("EndCall")),
) -> Empty:
    async with open_call(services(request), who, type, id, Capability.END_CALL) as opened:
        if opened.call.ended_at is None:
            await opened.lifecycle.end_call(who.user_id)
    return Empty()


@router.post("/{type}/{id}/members", response_model=UpdateCallMembersResponse, summary="Add, update or remove members")
async def update_call_members(
    request: Request, type: CallType, id: CallId, body: UpdateCallMembersRequest,
    who: Caller = Depends(user_caller("UpdateCallMembers")),
) -> UpdateCallMembersResponse:
    overlap = {m.user_id for m in body.update_members} & set(body.remove_members)
    if overlap:
        raise input_error("remove_members", f"users both updated and removed: {sorted(overlap)}")
    async with open_call(services(request), who, type, id) as opened:
        call, session = opened.call, opened.session
        if body.update_members:
            opened.access.require(Capability.UPDATE_CALL_MEMBER)
        if body.remove_members:
            opened.access.require(Capability.REMOVE_CALL_MEMBER)
        users = {m.user_id: await ensure_user(session, m.user_id) for m in body.update_members}
        changes = await store.upsert_members(
            session, call,
            [(m.user_id, m.role or DEFAULT_MEMBER_ROLE, m.custom if "custom" in m.model_fields_set else None)
             for m in body.update_members],
        )
        removed = await store.remove_members(session, call, body.remove_members)
        store.touch(call)
        await opened.events.members_changed(changes, removed)
        return UpdateCallMembersResponse(members=[member_response(r, users[r.user_id]) for r in changes.rows])


@router.post("/{type}/{id}/block", response_model=Empty, summary="Block a user from the call")
async def block_user(
    request: Request, type: CallType, id: CallId, body: BlockUserRequest,
    who: Caller = Depends(user_caller("BlockUser")),
) -> Empty:
    async with open_call(services(request), who, type, id, Capability.BLOCK_USERS) as opened:
        if _block(opened.call, body.user_id):
            await opened.events.blocked(body.user_id, who.user_id)
    return Empty()


@router.post("/{type}/{id}/unblock", response_model=Empty, summary="Unblock a user")
async def unblock_user(
    request: Request, type: CallType, id: CallId, body: BlockUserRequest,
    who: Caller = Depends(user_caller("UnblockUser")),
) -> Empty:
    async with open_call(services(request), who, type, id, Capability.BLOCK_USERS) as opened:
        call = opened.call
        if body.user_id in (call.blocked_user_ids or []):
            call.blocked_user_ids = [u for u in call.blocked_user_ids if u != body.user_id]
            store.touch(call)
            await opened.events.unblocked(body.user_id)
    return Empty()


@router.post("/{type}/{id}/kick", response_model=Empty, summary="Remove a user from the call, optionally blocking them")
async def kick_user(
    request: Request, type: CallType, id: CallId, body: KickUserRequest,
    who: Caller = Depends(user_caller("KickUser")),
) -> Empty:
    async with open_call(services(request), who, type, id, Capability.KICK_USER) as opened:
        events = opened.events
        if body.block:
            opened.access.require(Capability.BLOCK_USERS)
            if _block(opened.call, body.user_id):
                await events.blocked(body.user_id, who.user_id)
        await events.kicked(body.user_id, who.user_id)
    return Empty()


def _block(call: CallRow, user_id: str) -> bool:
    """Add ``user_id`` to the call's block list; False if they were already on it."""
    if user_id == call.created_by_id:
        raise input_error("user_id", "the call's creator cannot be blocked")
    if user_id in (call.blocked_user_ids or []):
        return False
    call.blocked_user_ids = [*(call.blocked_user_ids or []), user_id]
    store.touch(call)
    return True
