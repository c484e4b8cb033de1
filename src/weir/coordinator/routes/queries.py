"""Routes: QueryCalls, QueryMembers and QueryUsers — filtered, sorted, cursor-paginated lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import ColumnElement, and_, exists, false, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.auth import Caller, caller, services, user_caller
from weir.coordinator.call_access import accesses_for
from weir.coordinator.call_service import load_call, watch
from weir.coordinator.callview import call_states, member_response
from weir.coordinator.routes.calls import ConnectionId
from weir.coordinator.userview import user_response
from weir.domain.capabilities import CREATOR_ROLE, Capability
from weir.domain.filters import FilterError, parse_filter, parse_sort
from weir.protocol.calls import MEMBERS_LIMIT_DEFAULT
from weir.protocol.errors import input_error
from weir.protocol.queries import (
    QueryCallsRequest,
    QueryCallsResponse,
    QueryMembersRequest,
    QueryMembersResponse,
    QueryRequest,
    QueryUsersRequest,
    QueryUsersResponse,
)
from weir.store.calls import users_by_id
from weir.store.calltypes import list_call_types
from weir.store.query import CALLS, MEMBERS, USERS, Model, Page, compile_filter, fetch_page, json_ops
from weir.store.tables import CallMemberRow, CallRow, CallTypeRow, CallUserPermissionRow, UserRow
from weir.store.users import blocked_user_ids

router = APIRouter(tags=["queries"])


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def _page(session: AsyncSession, model: Model, stmt: Any, body: QueryRequest, offset: int = 0) -> Page[Any]:
    """Parse the body's filter and sort, then fetch one page; any problem is a 400 naming its field."""
    try:
        condition = compile_filter(
            parse_filter(body.filter_conditions or {}, model.filter_fields), model, _dialect(session)
        )
        sort = parse_sort(body.sort_pairs, model.sortable, model.default_sort)
        return await fetch_page(session, model, stmt.where(condition), sort, body.page_size,
                                next_cursor=body.next, prev_cursor=body.prev, offset=offset)
    except FilterError as error:
        raise input_error(error.path, error.message) from None


def _readable_calls(session: AsyncSession, who: Caller, call_types: Sequence[CallTypeRow]) -> ColumnElement[bool]:
    """Exactly the calls in which ``access_for`` would give ``who`` the read-call capability."""
    if who.is_server:
        return true()
    read = Capability.READ_CALL.value
    me = who.user_id

    def types_granting(roles: Sequence[str | None]) -> list[str]:
        return [t.name for t in call_types if any(read in t.grants.get(r, ()) for r in roles if r)]

    member_roles = [
        and_(CallRow.type == t.name, CallMemberRow.role.in_([r for r, caps in t.grants.items() if read in caps]))
        for t in call_types
    ]
    json = json_ops(_dialect(session))

    def runtime(column: Any) -> ColumnElement[bool]:
        return exists().where(CallUserPermissionRow.call_cid == CallRow.cid, CallUserPermissionRow.user_id == me,
                              json.list_has_any(column, [read]))

    granted = or_(
        CallRow.type.in_(types_granting([who.user_role, who.claims.role])),
        and_(CallRow.created_by_id == me, CallRow.type.in_(types_granting([CREATOR_ROLE]))),
        exists().where(CallMemberRow.call_cid == CallRow.cid, CallMemberRow.user_id == me, or_(false(), *member_roles)),
        runtime(CallUserPermissionRow.granted),
    )
    visible = and_(granted, not_(runtime(CallUserPermissionRow.revoked)))
    if who.claims.call_cids is not None:
        visible = and_(visible, CallRow.cid.in_(who.claims.call_cids))
    return visible


@router.post("/video/calls", response_model=QueryCallsResponse, summary="Query calls")
async def query_calls(
    request: Request, body: QueryCallsRequest, connection_id: ConnectionId = None,
    who: Caller = Depends(user_caller("QueryCalls")),
) -> QueryCallsResponse:
    if body.watch and connection_id is None:
        raise input_error("connection_id", "watch needs the connection_id of your WebSocket")
    async with services(request).db.read() as session:
        call_types = {t.name: t for t in await list_call_types(session)}
        stmt = select(CallRow).where(
            CallRow.deleted_at.is_(None), _readable_calls(session, who, list(call_types.values()))
        )
        page = await _page(session, CALLS, stmt, body)
        accesses = await accesses_for(session, who, call_types, page.rows)
        calls = await call_states(session, page.rows, accesses, MEMBERS_LIMIT_DEFAULT)
        if body.watch:
            for call in page.rows:
                watch(services(request), who, call.cid, connection_id)
    return QueryCallsResponse(calls=calls, next=page.next, prev=page.prev)


@router.post("/video/call/members", response_model=QueryMembersResponse, summary="Query a call's members")
async def query_members(
    request: Request, body: QueryMembersRequest, who: Caller = Depends(caller("QueryMembers")),
) -> QueryMembersResponse:
    async with services(request).db.read() as session:
        call, _access = await load_call(session, who, body.type, body.id)
        page = await _page(session, MEMBERS, select(CallMemberRow).where(CallMemberRow.call_cid == call.cid), body)
        users = await users_by_id(session, (m.user_id for m in page.rows))
        members = [member_response(m, users[m.user_id]) for m in page.rows if m.user_id in users]
    return QueryMembersResponse(members=members, next=page.next, prev=page.prev)


@router.post("/users/query", response_model=QueryUsersResponse, summary="Query users")
async def query_users(
    request: Request, body: QueryUsersRequest, who: Caller = Depends(user_caller("QueryUsers")),
) -> QueryUsersResponse:
    stmt = select(UserRow).where(UserRow.deleted_at.is_(None))
    if not body.include_deactivated_users:
        stmt = stmt.where(UserRow.deactivated_at.is_(None))
    async with services(request).db.read() as session:
        page = await _page(session, USERS, stmt, body, body.offset)
        # Whom a user blocks is theirs to know: the server sees every list, a user only their own.
        visible = [u.id for u in page.rows if who.is_server or u.id == who.user_id]
        blocked = await blocked_user_ids(session, visible)
    users = [user_response(u, blocked.get(u.id)) for u in page.rows]
    return QueryUsersResponse(users=users, next=page.next, prev=page.prev)

