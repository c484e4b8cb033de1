"""Routes: moderation — ban and unban users (app-wide: a banned user cannot create or join calls)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from weir.coordinator.auth import Caller, services, user_caller
from weir.coordinator.userevents import emit_user_event
from weir.coordinator.userview import user_response
from weir.protocol import events as ev
from weir.protocol.common import Empty
from weir.protocol.errors import not_allowed, not_found
from weir.protocol.limits import USER_ID_PATTERN
from weir.protocol.users import BanRequest
from weir.store.tables import UserRow
from weir.store.users import ban, get_user, unban

router = APIRouter(prefix="/moderation", tags=["moderation"])

# App roles whose user tokens may ban and unban; a server token always may.
MODERATOR_ROLES = frozenset({"admin", "moderator"})


def _require_moderator(who: Caller, target_user_id: str) -> None:
    if who.is_server:
        return
    if who.user_role not in MODERATOR_ROLES:
        raise not_allowed("only a server token or an admin or moderator can ban and unban users")
    if target_user_id == who.user_id:
        raise not_allowed("users cannot ban or unban themselves")


def _target(user: UserRow | None, user_id: str) -> UserRow:
    if user is None:
        raise not_found(f"user {user_id}")
    return user


@router.post("/ban", response_model=Empty, summary="Ban a user, for `timeout` minutes or until unbanned")
async def ban_user(request: Request, body: BanRequest, who: Caller = Depends(user_caller("Ban"))) -> Empty:
    _require_moderator(who, body.target_user_id)
    banned_by_id = body.banned_by_id
    if not who.is_server:
        if banned_by_id not in (None, who.user_id):
            raise not_allowed("banned_by_id must be the caller for a user token")
        banned_by_id = who.user_id
    async with services(request).db.transaction() as session:
        target = _target(await get_user(session, body.target_user_id), body.target_user_id)
        if not who.is_server and target.role == "admin":
            raise not_allowed("admins can only be banned with a server token")
        banned_by = None if banned_by_id is None else _target(await get_user(session, banned_by_id), banned_by_id)
        ban(target, banned_by_id, body.reason, body.timeout)
        await emit_user_event(services(request), session, ev.UserBannedEvent, target, reason=body.reason,
                              expiration=target.ban_expires,
                              created_by=None if banned_by is None else user_response(banned_by))
    return Empty()


@router.post("/unban", response_model=Empty, summary="Lift a user's ban")
async def unban_user(
    request: Request, target_user_id: Annotated[str, Query(pattern=USER_ID_PATTERN)],
    who: Caller = Depends(user_caller("Unban")),
) -> Empty:
    _require_moderator(who, target_user_id)
    async with services(request).db.transaction() as session:
        target = _target(await get_user(session, target_user_id), target_user_id)
        unban(target)
        await emit_user_event(services(request), session, ev.UserUnbannedEvent, target)
    return Empty()
