"""Routes: calls — get-or-create, get, update, delete, end, members, call-level block/unblock/kick."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.auth import Caller, caller, services, user_caller
from weir.coordinator.call_access import CallAccess, access_for, load_call_type
from weir.coordinator.call_access import load_call as _load
from weir.coordinator.callevents import CallEvents
from weir.coordinator.callview import call_state_response, member_response
from weir.coordinator.lifecycle import CallLifecycle
from weir.coordinator.ringing import CallRinging
from weir.domain.capabilities import Capability
from weir.domain.clock import now
from weir.domain.settings import merge_settings
from weir.protocol.calls import (
    CALL_ID_PATTERN,
    CALL_TYPE_PATTERN,
    MEMBERS_LIMIT_DEFAULT,
    MEMBERS_LIMIT_MAX,
    BlockUserRequest,
    CallStateResponse,
    DeleteCallRequest,
    GetOrCreateCallRequest,
    KickUserRequest,
    UpdateCallMembersRequest,
    UpdateCallMembersResponse,
    UpdateCallRequest,
    GetOrCreateCallResponse,
    CallRequest,
)
from weir.protocol.common import Empty
from weir.protocol.errors import APIError, ErrorCode, input_error
from weir.store import calls as store
from weir.store.tables import CallMemberRow, CallRow
from weir.store.users import ensure_user, is_banned

router = APIRouter(prefix="/video/call", tags=["calls"])

CallType = Annotated[str, Path(pattern=CALL_TYPE_PATTERN, description="Call type name")]
CallId = Annotated[str, Path(pattern=CALL_ID_PATTERN, description="Call id")]
DEFAULT_MEMBER_ROLE = "call_member"


ConnectionId = Annotated[
    str | None, Query(max_length=64, description="Watch the call's events on this WebSocket connection")
]


def _watch(request: Request, who: Caller, cid: str, connection_id: str | None) -> None:
    if connection_id is None:
        return
    connection = services(request).hub.get(connection_id, who.user_id)
    if connection is None:
        raise input_error("connection_id", "no open WebSocket connection of yours has this id")
    services(request).hub.watch(connection, cid)


def _creator_id(who: Caller, data: CallRequest | None) -> str:
    if not who.is_server:
        assert who.user_id is not None
        return who.user_id
    if data is None or data.created_by_id is None:
        raise input_error("data.created_by_id", "server-side calls must name created_by_id")
    return data.created_by_id


async def _get_or_create(
    request: Request, who: Caller, type_: str, id_: str, body: GetOrCreateCallRequest, connection_id: str | None
) -> GetOrCreateCallResponse:
    cid = f"{type_}:{id_}"
    who.require_call(cid)
    db = services(request).db
    limit = body.members_limit or MEMBERS_LIMIT_DEFAULT
    async with db.transaction() as session:
        call_type = await load_call_type(session, type_)
        existing = await store.get_call(session, cid)
        if existing is not None:
            access = await access_for(session, who, call_type, existing)
            access.require(Capability.READ_CALL)
            _watch(request, who, cid, connection_id)
            if body.ring and not existing.ring:  # getOrCreate rings a call once; POST .../ring rings again
                await _ring_or_notify(request, session, who, existing, access, body)
            state = await call_state_response(session, existing, access, limit)
            return GetOrCreateCallResponse(**state.model_dump(), created=False)
        created = await _create(session, who, call_type.name, id_, body)
        if created is None:  # a concurrent request created it first
            existing = await store.get_call(session, cid)
            if existing is None:
                raise APIError(ErrorCode.CONFLICT, f"call {cid} was deleted while being created")
            access = await access_for(session, who, call_type, existing)
            access.require(Capability.READ_CALL)
            _watch(request, who, cid, connection_id)
            state = await call_state_response(session, existing, access, limit)
            return GetOrCreateCallResponse(**state.model_dump(), created=False)
        call, members = created
        access = await access_for(session, who, call_type, call)
        _watch(request, who, cid, connection_id)
        await CallEvents(services(request), session, call, access).created(members)
        await _ring_or_notify(request, session, who, call, access, body)
        state = await call_state_response(session, call, access, limit)
        return GetOrCreateCallResponse(**state.model_dump(), created=True)


async def _ring_or_notify(
    request: Request, session: AsyncSession, who: Caller, call: CallRow, access: CallAccess,
    body: GetOrCreateCallRequest,
) -> None:
    ringing = CallRinging(services(request), session, call, access)
    caller_id = who.user_id or call.created_by_id
    if body.ring:
        video = body.video if body.video is not None else bool(body.data and body.data.video)
        await ringing.ring(caller_id, video, by_server=who.is_server)
    elif body.notify:
        await ringing.notify(caller_id)


async def _create(
    session: AsyncSession, who: Caller, type_: str, id_: str, body: GetOrCreateCallRequest
) -> tuple[CallRow, list[CallMemberRow]] | None:
    """Insert the call and its members; None when a concurrent request inserted it first."""
    data = body.data or CallRequest()
    creator_id = _creator_id(who, data)
    call_type = await load_call_type(session, type_)
    access = await access_for(session, who, call_type, None)
    access.require(Capability.CREATE_CALL)
    creator = await ensure_user(session, creator_id)
    if is_banned(creator):
        raise APIError(ErrorCode.USER_BANNED, f"user {creator_id} is banned and cannot create calls")
    if data.settings_override is not None and not access.has(Capability.UPDATE_CALL_SETTINGS):
        raise APIError(ErrorCode.NOT_ALLOWED, "missing the 'update-call-settings' capability for settings_override")
    stamp = now()
    settings_override = data.settings_override.as_patch() if data.settings_override else {}
    backstage_enabled = bool(access.settings.get("backstage", {}).get("enabled", False))
    if "backstage" in settings_override:
        backstage_enabled = bool(settings_override["backstage"].get("enabled", backstage_enabled))
    call = CallRow(
        cid=f"{type_}:{id_}", type=type_, id=id_, created_by_id=creator_id, team=data.team, custom=data.custom,
        settings_override=settings_override, starts_at=data.starts_at, backstage=backstage_enabled,
        blocked_user_ids=[], ring=bool(body.ring), notify=bool(body.notify),
        video=bool(body.video if body.video is not None else data.video), members_limit=body.members_limit,
        member_count=0, created_at=stamp, updated_at=stamp,
    )
    if not await store.insert_call(session, call):
        return None
    for member in data.members:
        await ensure_user(session, member.user_id)
    changes = await store.upsert_members(
        session, call, [(m.user_id, m.role or DEFAULT_MEMBER_ROLE, m.custom) for m in data.members]
    )
    return call, changes.rows


@router.post("/{type}", response_model=GetOrCreateCallResponse, summary="Create a call with a generated id")
async def create_call(
    request: Request, type: CallType, body: GetOrCreateCallRequest, connection_id: ConnectionId = None,
    who: Caller = Depends(user_caller("GetOrCreateCall")),
) -> GetOrCreateCallResponse:
    return await _get_or_create(request, who, type, secrets.token_hex(8), body, connection_id)


@router.post("/{type}/{id}", response_model=GetOrCreateCallResponse, summary="Get a call, creating it if missing")
async def get_or_create_call(
    request: Request, type: CallType, id: CallId, body: GetOrCreateCallRequest | None = None,
    connection_id: ConnectionId = None, who: Caller = Depends(user_caller("GetOrCreateCall")),
) -> GetOrCreateCallResponse:
    return await _get_or_create(request, who, type, id, body or GetOrCreateCallRequest(), connection_id)


@router.get("/{type}/{id}", response_model=CallStateResponse, summary="Get a call")
async def get_call(
    request: Request, type: CallType, id: CallId,
    members_limit: Annotated[int, Query(ge=1, le=MEMBERS_LIMIT_MAX)] = MEMBERS_LIMIT_DEFAULT,
    connection_id: ConnectionId = None, who: Caller = Depends(caller("GetCall")),
) -> CallStateResponse:
    async with services(request).db.read() as session:
        call, access = await _load(session, who, type, id)
        _watch(request, who, call.cid, connection_id)
        return await call_state_response(session, call, access, members_limit)


@router.patch("/{type}/{id}", response_model=CallStateResponse, summary="Update a call's custom data, schedule or settings")
async def update_call(
    request: Request, type: CallType, id: CallId, body: UpdateCallRequest,
    who: Caller = Depends(user_caller("UpdateCall")),
) -> CallStateResponse:
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        access.require(Capability.UPDATE_CALL)
        if body.custom is not None:
            call.custom = body.custom
        if body.starts_at is not None:
            call.starts_at = body.starts_at
        if body.settings_override is not None:
            access.require(Capability.UPDATE_CALL_SETTINGS)
            call.settings_override = merge_settings(
                call.settings_override or {}, body.settings_override.as_patch()
            )
        store.touch(call)
        await session.flush()
        access = await access_for(session, who, access.call_type, call)
        lifecycle = CallLifecycle(services(request), session, call, access)
        if body.settings_override is not None:
            await lifecycle.settings_changed()
        await lifecycle.events.updated()
        return await call_state_response(session, call, access, MEMBERS_LIMIT_DEFAULT)


@router.post("/{type}/{id}/delete", response_model=Empty, summary="Delete a call (soft by default)")
async def delete_call(
    request: Request, type: CallType, id: CallId, body: DeleteCallRequest | None = None,
    who: Caller = Depends(user_caller("DeleteCall")),
) -> Empty:
    hard = bool(body and body.hard)
    if hard and not who.is_server:
        raise APIError(ErrorCode.NOT_ALLOWED, "hard delete needs a server token")
    async with services(request).db.transaction() as session:
        if hard:  # a soft-deleted call can still be purged by the server
            deleted = await store.get_call(session, f"{type}:{id}", include_deleted=True)
            if deleted is not None and deleted.deleted_at is not None:
                await store.hard_delete_call(session, deleted)
                return Empty()
        call, access = await _load(session, who, type, id)
        access.require(Capability.END_CALL)
        stamp = now()
        call.deleted_at = stamp
        call.ended_at = call.ended_at or stamp
        store.touch(call, stamp)
        await CallEvents(services(request), session, call, access).deleted()
        if hard:
            await store.hard_delete_call(session, call)
    return Empty()


@router.post("/{type}/{id}/mark_ended", response_model=Empty, summary="End a call for everyone")
async def end_call(
    request: Request, type: CallType, id: CallId, who: Caller = Depends(user_caller("EndCall")),
) -> Empty:
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        access.require(Capability.END_CALL)
        if call.ended_at is None:
            await CallLifecycle(services(request), session, call, access).end_call(who.user_id)
    return Empty()


@router.post("/{type}/{id}/members", response_model=UpdateCallMembersResponse, summary="Add, update or remove members")
async def update_call_members(
    request: Request, type: CallType, id: CallId, body: UpdateCallMembersRequest,
    who: Caller = Depends(user_caller("UpdateCallMembers")),
) -> UpdateCallMembersResponse:
    overlap = {m.user_id for m in body.update_members} & set(body.remove_members)
    if overlap:
        raise input_error("remove_members", f"users both updated and removed: {sorted(overlap)}")
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        if body.update_members:
            access.require(Capability.UPDATE_CALL_MEMBER)
        if body.remove_members:
            access.require(Capability.REMOVE_CALL_MEMBER)
        users = {m.user_id: await ensure_user(session, m.user_id) for m in body.update_members}
        changes = await store.upsert_members(
            session, call,
            [(m.user_id, m.role or DEFAULT_MEMBER_ROLE, m.custom if "custom" in m.model_fields_set else None)
             for m in body.update_members],
        )
        removed = await store.remove_members(session, call, body.remove_members)
        store.touch(call)
        await CallEvents(services(request), session, call, access).members_changed(changes, removed)
        return UpdateCallMembersResponse(members=[member_response(r, users[r.user_id]) for r in changes.rows])


@router.post("/{type}/{id}/block", response_model=Empty, summary="Block a user from the call")
async def block_user(
    request: Request, type: CallType, id: CallId, body: BlockUserRequest,
    who: Caller = Depends(user_caller("BlockUser")),
) -> Empty:
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        access.require(Capability.BLOCK_USERS)
        if _block(call, body.user_id):
            await CallEvents(services(request), session, call, access).blocked(body.user_id, who.user_id)
    return Empty()


@router.post("/{type}/{id}/unblock", response_model=Empty, summary="Unblock a user")
async def unblock_user(
    request: Request, type: CallType, id: CallId, body: BlockUserRequest,
    who: Caller = Depends(user_caller("UnblockUser")),
) -> Empty:
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        access.require(Capability.BLOCK_USERS)
        if body.user_id in (call.blocked_user_ids or []):
            call.blocked_user_ids = [u for u in call.blocked_user_ids if u != body.user_id]
            store.touch(call)
            await CallEvents(services(request), session, call, access).unblocked(body.user_id)
    return Empty()


@router.post("/{type}/{id}/kick", response_model=Empty, summary="Remove a user from the call, optionally blocking them")
async def kick_user(
    request: Request, type: CallType, id: CallId, body: KickUserRequest,
    who: Caller = Depends(user_caller("KickUser")),
) -> Empty:
    async with services(request).db.transaction() as session:
        call, access = await _load(session, who, type, id)
        access.require(Capability.KICK_USER)
        events = CallEvents(services(request), session, call, access)
        if body.block:
            access.require(Capability.BLOCK_USERS)
            if _block(call, body.user_id):
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
