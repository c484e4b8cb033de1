"""Routes: users — upsert, partial update, delete, deactivate/reactivate, user-to-user blocks and guests."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.auth import Caller, api_key_holder, server_caller, services, user_caller
from weir.coordinator.services import Services
from weir.coordinator.tasks_delete import DELETE_USERS
from weir.coordinator.userevents import emit_user_event
from weir.coordinator.userview import user_response
from weir.domain.clock import now, utc
from weir.domain.tokens import create_token
from weir.protocol import events as ev
from weir.protocol.common import Empty
from weir.protocol.errors import input_error, not_allowed, not_found
from weir.protocol.limits import USER_ID_PATTERN
from weir.protocol.users import (
    BlockedUserResponse,
    BlockUsersRequest,
    BlockUsersResponse,
    CreateGuestRequest,
    CreateGuestResponse,
    DeleteUsersRequest,
    GetBlockedUsersResponse,
    OneUserResponse,
    TaskResponse,
    UpdateUsersPartialRequest,
    UpsertUsersRequest,
    UserIdsRequest,
    UsersResponse,
)
from weir.store import users as store
from weir.store.calls import users_by_id
from weir.store.roles import known_roles
from weir.store.tables import UserRow
from weir.store.tasks import add_completed_task

router = APIRouter(tags=["users"])

UserIdPath = Annotated[str, Path(pattern=USER_ID_PATTERN, description="User id")]
GUEST_TOKEN_TTL_SECONDS = 24 * 3600


async def require_users(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, UserRow]:
    """The users, in the order asked; one unknown id is a 404 for the whole request."""
    ids = list(dict.fromkeys(user_ids))
    rows = await users_by_id(session, ids)
    for user_id in ids:
        if user_id not in rows:
            raise not_found(f"user {user_id}")
    return {user_id: rows[user_id] for user_id in ids}


async def _check_roles(session: AsyncSession, roles: dict[str, str | None]) -> None:
    """``roles`` maps a field name to the role given there (None when none is)."""
    known = await known_roles(session)
    for field, role in roles.items():
        if role is not None and role not in known:
            raise input_error(field, f"unknown role '{role}' (create it with POST /roles first)")


async def _users_response(session: AsyncSession, rows: Iterable[UserRow]) -> UsersResponse:
    users = list(rows)
    blocked = await store.blocked_user_ids(session, (u.id for u in users))
    return UsersResponse(users={u.id: user_response(u, blocked[u.id]) for u in users})


async def _one_user_response(session: AsyncSession, row: UserRow) -> OneUserResponse:
    return OneUserResponse(user=(await _users_response(session, [row])).users[row.id])


@router.post("/users", response_model=UsersResponse, summary="Create or replace users")
async def upsert_users(
    request: Request, body: UpsertUsersRequest, _: Caller = Depends(server_caller("UpsertUsers")),
) -> UsersResponse:
    for key, user in body.users.items():
        if key != user.id:
            raise input_error(f"users.{key}.id", "must equal the key the user is listed under")
    async with services(request).db.transaction() as session:
        await _check_roles(session, {f"users.{key}.role": user.role for key, user in body.users.items()})
        stamp = now()
        rows = []
        for user in body.users.values():
            row = await store.create_or_get_user(session, user.id)
            # Every profile field is replaced; the role and a revocation only when given, so that a profile sync
            # keeps roles and revocations.
            kept = {"role"} if user.role is None else set()
            kept |= {"revoke_tokens_issued_before"} - user.model_fields_set
            values = user.model_dump(exclude={"id", *kept})
            store.set_profile(row, values, stamp)
            rows.append(row)
            await emit_user_event(services(request), session, ev.UserUpdatedEvent, row)
        return await _users_response(session, rows)


@router.patch("/users", response_model=UsersResponse, summary="Set and unset some fields of users")
async def update_users_partial(
    request: Request, body: UpdateUsersPartialRequest, _: Caller = Depends(server_caller("UpdateUsersPartial")),
) -> UsersResponse:
    seen: set[str] = set()
    for index, update in enumerate(body.users):
        if update.id in seen:
            raise input_error(f"users.{index}.id", "user is listed twice")
        seen.add(update.id)
    async with services(request).db.transaction() as session:
        rows = await require_users(session, seen)
        await _check_roles(session, {f"users.{i}.set.role": u.set.role for i, u in enumerate(body.users)})
        stamp = now()
        for update in body.users:
            values = update.set.model_dump(include=update.set.model_fields_set)
            values.update(dict.fromkeys(update.unset))
            store.set_profile(rows[update.id], values, stamp)
            await emit_user_event(services(request), session, ev.UserUpdatedEvent, rows[update.id])
        return await _users_response(session, [rows[u.id] for u in body.users])


@router.post("/users/delete", response_model=TaskResponse, summary="Soft-delete, prune or hard-delete users")
async def delete_users(
    request: Request, body: DeleteUsersRequest, _: Caller = Depends(server_caller("DeleteUsers")),
) -> TaskResponse:
    """Checked here, done by a task: the users, and with ``calls`` their 1:1 calls."""
    weir = services(request)
    async with weir.db.transaction() as session:
        rows = await require_users(session, body.user_ids)
        options = body.model_dump(include={"user", "calls", "new_call_owner_id"})
        task = weir.tasks.submit(session, DELETE_USERS, {"user_ids": list(rows), **options})
    return TaskResponse(task_id=task.id)


@router.post("/users/restore", response_model=Empty, summary="Undo the soft delete of users")
async def restore_users(
    request: Request, body: UserIdsRequest, _: Caller = Depends(server_caller("RestoreUsers")),
) -> Empty:
    """A soft-deleted (or pruned) user is back, with what was kept; a hard-deleted one is gone (404)."""
    async with services(request).db.transaction() as session:
        stamp = now()
        for row in (await require_users(session, body.user_ids)).values():
            if row.deleted_at is not None:
                row.deleted_at = None
                row.updated_at = stamp
    return Empty()


async def _set_deactivated(
    weir: Services, session: AsyncSession, user_ids: list[str], deactivated: bool
) -> dict[str, UserRow]:
    """Deactivate or reactivate; deactivating twice keeps the first date."""
    rows = await require_users(session, user_ids)
    stamp = now()
    event = ev.UserDeactivatedEvent if deactivated else ev.UserReactivatedEvent
    for row in rows.values():
        row.deactivated_at = (row.deactivated_at or stamp) if deactivated else None
        row.updated_at = stamp
        await emit_user_event(weir, session, event, row)
    return rows


def _add_activation_routes(action: str, deactivated: bool) -> None:
    """``POST /users/{user_id}/<action>`` answers with the user; the bulk ``POST /users/<action>`` with a task id."""
    title = action.title()

    @router.post(f"/users/{{user_id}}/{action}", response_model=OneUserResponse, summary=f"{title} a user",
                 name=f"{action}_user")
    async def one(
        request: Request, user_id: UserIdPath, _: Caller = Depends(server_caller(f"{title}User")),
    ) -> OneUserResponse:
        async with services(request).db.transaction() as session:
            rows = await _set_deactivated(services(request), session, [user_id], deactivated)
            return await _one_user_response(session, rows[user_id])

    @router.post(f"/users/{action}", response_model=TaskResponse, summary=f"{title} users", name=f"{action}_users")
    async def bulk(
        request: Request, body: UserIdsRequest, _: Caller = Depends(server_caller(f"{title}Users")),
    ) -> TaskResponse:
        async with services(request).db.transaction() as session:
            rows = await _set_deactivated(services(request), session, body.user_ids, deactivated)
            task = add_completed_task(session, f"{action}_users", {"users": len(rows)})
        return TaskResponse(task_id=task.id)


_add_activation_routes("deactivate", deactivated=True)
_add_activation_routes("reactivate", deactivated=False)


def _acting_user(who: Caller, user_id: str | None) -> str:
    """Users block for themselves; a server token names the user it acts for."""
    if who.is_server:
        if user_id is None:
            raise input_error("user_id", "server-side requests must name the user")
        return user_id
    assert who.user_id is not None
    if user_id is not None and user_id != who.user_id:
        raise not_allowed("users can only manage their own blocks")
    return who.user_id


async def _block_pair(session: AsyncSession, who: Caller, body: BlockUsersRequest) -> tuple[str, str]:
    user_id = _acting_user(who, body.user_id)
    if body.blocked_user_id == user_id:
        raise input_error("blocked_user_id", "a user cannot block themself")
    await require_users(session, [user_id, body.blocked_user_id])
    return user_id, body.blocked_user_id


@router.post("/users/block", response_model=BlockUsersResponse, summary="Block a user for a user")
async def block_users(
    request: Request, body: BlockUsersRequest, who: Caller = Depends(user_caller("BlockUsers")),
) -> BlockUsersResponse:
    async with services(request).db.transaction() as session:
        user_id, blocked_id = await _block_pair(session, who, body)
        row = await store.block_user(session, user_id, blocked_id)
        return BlockUsersResponse(blocked_by_user_id=user_id, blocked_user_id=blocked_id,
                                  created_at=utc(row.created_at))


@router.post("/users/unblock", response_model=Empty, summary="Lift a user's block of another user")
async def unblock_users(
    request: Request, body: BlockUsersRequest, who: Caller = Depends(user_caller("UnblockUsers")),
) -> Empty:
    async with services(request).db.transaction() as session:
        user_id, blocked_id = await _block_pair(session, who, body)
        await store.unblock_user(session, user_id, blocked_id)
    return Empty()


@router.get("/users/block", response_model=GetBlockedUsersResponse, summary="The users a user blocks")
async def get_blocked_users(
    request: Request, user_id: Annotated[str | None, Query(pattern=USER_ID_PATTERN)] = None,
    who: Caller = Depends(user_caller("GetBlockedUsers")),
) -> GetBlockedUsersResponse:
    acting = _acting_user(who, user_id)
    async with services(request).db.read() as session:
        await require_users(session, [acting])
        blocks = await store.list_blocks(session, acting)
        blocked = await users_by_id(session, (b.blocked_user_id for b in blocks))
    return GetBlockedUsersResponse(blocks=[
        BlockedUserResponse(user_id=b.user_id, blocked_user_id=b.blocked_user_id,
                            blocked_user=user_response(blocked[b.blocked_user_id]),
                            created_at=utc(b.created_at))
        for b in blocks if b.blocked_user_id in blocked
    ])


@router.post("/guest", response_model=CreateGuestResponse, summary="Create a guest user and its token")
async def create_guest(
    request: Request, body: CreateGuestRequest, _: None = Depends(api_key_holder("CreateGuest")),
) -> CreateGuestResponse:
    # Guest ids are always new, so a guest can never take over an existing user (or an earlier guest).
    suffix = secrets.token_hex(8)
    user_id = f"guest-{body.user.id}-{suffix}" if body.user.id else f"guest-{suffix}"
    weir = services(request)
    async with weir.db.transaction() as session:
        row = await store.ensure_user(session, user_id, role="guest")
        store.set_profile(row, body.user.model_dump(include={"name", "image", "custom"}), now())
        await session.flush()
        user = user_response(row)
    token = create_token(weir.api_secret, user_id, expiration=GUEST_TOKEN_TTL_SECONDS)
    return CreateGuestResponse(user=user, access_token=token)
