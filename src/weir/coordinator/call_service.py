"""Call service: what the call routes do between HTTP and the store.

Every call route opens the call the same way: a transaction (or a read), the call loaded with the caller's access
(404 for an unknown call, 403 without ``read-call``), and often one more capability required. ``open_call`` is
that preamble; ``load_call`` is the same check inside a transaction the caller already holds (WHIP and WHEP use
it). ``get_call`` and ``get_or_create`` are the two hot paths, kept here so routes stay thin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.auth import Caller
from weir.coordinator.call_access import CallAccess, access_for, load_call_type
from weir.coordinator.callevents import CallEvents
from weir.coordinator.callview import call_state_response
from weir.coordinator.lifecycle import CallLifecycle
from weir.coordinator.ringing import CallRinging
from weir.coordinator.services import Services
from weir.domain.capabilities import Capability
from weir.domain.clock import now
from weir.protocol.calls import (
    MEMBERS_LIMIT_DEFAULT,
    CallRequest,
    CallStateResponse,
    GetOrCreateCallRequest,
    GetOrCreateCallResponse,
)
from weir.protocol.errors import APIError, ErrorCode, input_error, not_found
from weir.store import calls as store
from weir.store.tables import CallMemberRow, CallRow, CallTypeRow
from weir.store.users import ensure_user, is_banned

DEFAULT_MEMBER_ROLE = "call_member"


@dataclass(frozen=True)
class OpenCall:
    """A call opened for one request: its transaction, the row and what the caller may do in it."""

    weir: Services
    session: AsyncSession
    call: CallRow
    access: CallAccess

    @property
    def events(self) -> CallEvents:
        return CallEvents(self.weir, self.session, self.call, self.access)

    @property
    def lifecycle(self) -> CallLifecycle:
        return CallLifecycle(self.weir, self.session, self.call, self.access)

    @property
    def ringing(self) -> CallRinging:
        return CallRinging(self.weir, self.session, self.call, self.access)


async def load_call(session: AsyncSession, who: Caller, type_: str, id_: str) -> tuple[CallRow, CallAccess]:
    """The call ``type_:id_`` and the caller's access to it, in ``session``: a call token must name the call, an
    unknown call type is a 400, an unknown call a 404 and one the caller may not read a 403."""
    cid = f"{type_}:{id_}"
    who.require_call(cid)
    call_type = await load_call_type(session, type_)
    call = await store.get_call(session, cid)
    if call is None:
        raise not_found(f"call {cid}")
    access = await access_for(session, who, call_type, call)
    access.require(Capability.READ_CALL)
    return call, access


@asynccontextmanager
async def open_call(
    weir: Services, who: Caller, type_: str, id_: str, require: Capability | None = None, *, write: bool = True,
) -> AsyncIterator[OpenCall]:
    """``load_call`` in a new transaction (committed when the block ends) or, with ``write=False``, a read."""
    async with weir.db.transaction() if write else weir.db.read() as session:
        call, access = await load_call(session, who, type_, id_)
        if require is not None:
            access.require(require)
        yield OpenCall(weir, session, call, access)


def watch(weir: Services, who: Caller, cid: str, connection_id: str | None) -> None:
    """Send the call's events to the caller's WebSocket ``connection_id`` (if given) from now on."""
    if connection_id is None:
        return
    connection = weir.hub.get(connection_id, who.user_id)
    if connection is None:
        raise input_error("connection_id", "no open WebSocket connection of yours has this id")
    weir.hub.watch(connection, cid)


async def get_call(
    weir: Services, who: Caller, type_: str, id_: str, members_limit: int, connection_id: str | None,
) -> CallStateResponse:
    async with open_call(weir, who, type_, id_, write=False) as opened:
        watch(weir, who, opened.call.cid, connection_id)
        return await call_state_response(opened.session, opened.call, opened.access, members_limit)


async def get_or_create(
    weir: Services, who: Caller, type_: str, id_: str, body: GetOrCreateCallRequest, connection_id: str | None,
) -> GetOrCreateCallResponse:
    """The call's state, creating it (with its members, ringing or notifying them) when it does not exist."""
    async with open_or_create_call(weir, who, type_, id_, body, connection_id) as (opened, created):
        state = await call_state_response(opened.session, opened.call, opened.access,
                                          body.members_limit or MEMBERS_LIMIT_DEFAULT)
        return GetOrCreateCallResponse(**dict(state), created=created)  # no dump and re-parse


@asynccontextmanager
async def open_or_create_call(
    weir: Services, who: Caller, type_: str, id_: str, body: GetOrCreateCallRequest | None, connection_id: str | None,
) -> AsyncIterator[tuple[OpenCall, bool]]:
    """``open_call`` (in a transaction) or, given ``body``, the same creating the call (with its members, ringing
    or notifying them) when it does not exist; the flag says it was created here. The block runs in the same
    transaction: if it fails, nothing is created."""
    cid = f"{type_}:{id_}"
    who.require_call(cid)
    async with weir.db.transaction() as session:
        call_type = await load_call_type(session, type_)
        call = await store.get_call(session, cid)
        existed, created = call is not None, None
        if call is None:
            if body is None:
                raise not_found(f"call {cid}")
            created = await _create(session, who, call_type, id_, body)
            if created is None:  # a concurrent request created it first
                call = await store.get_call(session, cid)
                if call is None:
                    raise APIError(ErrorCode.CONFLICT, f"call {cid} was deleted while being created")
            else:
                call = created[0]
        access = await access_for(session, who, call_type, call)
        if created is None:
            access.require(Capability.READ_CALL)
        watch(weir, who, cid, connection_id)
        opened = OpenCall(weir, session, call, access)
        if created is not None:
            await opened.events.created(created[1])
        # getOrCreate rings a call once; POST .../ring rings again
        if body is not None and (created is not None or (existed and body.ring and not call.ring)):
            await _ring_or_notify(opened, who, body)
        yield opened, created is not None


async def _ring_or_notify(opened: OpenCall, who: Caller, body: GetOrCreateCallRequest) -> None:
    caller_id = who.user_id or opened.call.created_by_id
    if body.ring:
        video = body.video if body.video is not None else bool(body.data and body.data.video)
        await opened.ringing.ring(caller_id, video, by_server=who.is_server)
    elif body.notify:
        await opened.ringing.notify(caller_id)


def _creator_id(who: Caller, data: CallRequest) -> str:
    if not who.is_server:
        assert who.user_id is not None
        return who.user_id
    if data.created_by_id is None:
        raise input_error("data.created_by_id", "server-side calls must name created_by_id")
    return data.created_by_id


async def _create(
    session: AsyncSession, who: Caller, call_type: CallTypeRow, id_: str, body: GetOrCreateCallRequest
) -> tuple[CallRow, list[CallMemberRow]] | None:
    """Insert the call and its members; None when a concurrent request inserted it first."""
    data = body.data or CallRequest()
    creator_id = _creator_id(who, data)
    access = await access_for(session, who, call_type, None)
    access.require(Capability.CREATE_CALL)
    creator = await ensure_user(session, creator_id)
    if is_banned(creator):
        raise APIError(ErrorCode.USER_BANNED, f"user {creator_id} is banned and cannot create calls")
    if data.settings_override is not None and not access.has(Capability.UPDATE_CALL_SETTINGS):
        raise APIError(ErrorCode.NOT_ALLOWED, "missing the 'update-call-settings' capability for settings_override")
    stamp = now()
    settings_override = data.settings_override.as_patch() if data.settings_override else {}
    backstage_enabled = access.settings.backstage_enabled
    if "backstage" in settings_override:
        backstage_enabled = bool(settings_override["backstage"].get("enabled", backstage_enabled))
    type_ = call_type.name
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
