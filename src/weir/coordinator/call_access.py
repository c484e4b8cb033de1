"""What a caller may do in one call: roles, grants, runtime permissions and settings, combined."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.auth import Caller
from weir.domain.capabilities import ALL_CAPABILITIES, Capability, call_roles, own_capabilities
from weir.domain.effective_settings import EffectiveSettings
from weir.domain.settings import merge_settings
from weir.protocol.errors import APIError, ErrorCode, input_error
from weir.store.calls import get_member, get_user_permissions
from weir.store.calltypes import cached_call_type
from weir.store.tables import CallMemberRow, CallRow, CallTypeRow, CallUserPermissionRow


@dataclass(frozen=True)
class CallAccess:
    """A caller's view of one call type (and call, once it exists)."""

    call_type: CallTypeRow
    settings: EffectiveSettings
    capabilities: frozenset[str]
    membership: CallMemberRow | None

    def require(self, capability: Capability) -> None:
        if capability.value not in self.capabilities:
            raise APIError(ErrorCode.NOT_ALLOWED, f"missing the '{capability.value}' capability for this call")

    def has(self, capability: Capability) -> bool:
        return capability.value in self.capabilities


async def load_call_type(session: AsyncSession, name: str) -> CallTypeRow:
    """The call type (a cached, read-only copy); an unknown name is a 400 on ``type``."""
    row = await cached_call_type(session, name)
    if row is None:
        raise input_error("type", f"call type '{name}' does not exist")
    return row


def effective_settings(call_type: CallTypeRow, call: CallRow | None) -> dict[str, Any]:
    if call is not None and call.settings_override:
        return merge_settings(call_type.settings, call.settings_override)
    return call_type.settings


def _access(
    caller: Caller, call_type: CallTypeRow, call: CallRow | None, membership: CallMemberRow | None,
    permissions: CallUserPermissionRow | None,
) -> CallAccess:
    settings = EffectiveSettings.of(effective_settings(call_type, call))
    if caller.is_server:
        return CallAccess(call_type, settings, ALL_CAPABILITIES, None)
    if caller.is_egress:  # a recording's layout page watches its call (its token names only that call)
        return CallAccess(call_type, settings, frozenset({Capability.READ_CALL.value}), None)
    roles = call_roles(
        app_role=None if caller.is_anonymous else caller.user_role,
        member_role=membership.role if membership else None,
        is_creator=call is not None and call.created_by_id == caller.user_id,
        token_role=caller.claims.role,
    )
    capabilities = own_capabilities(
        grants=call_type.grants, roles=roles, settings=settings.raw,
        granted=permissions.granted if permissions else (), revoked=permissions.revoked if permissions else (),
    )
    if call is not None and caller.user_id in (call.blocked_user_ids or []):
        capabilities = [c for c in capabilities if c != Capability.JOIN_CALL.value]
    return CallAccess(call_type, settings, frozenset(capabilities), membership)


def _personal(caller: Caller) -> bool:
    """Whether memberships and runtime permissions apply (they don't to the server or anonymous callers)."""
    return not caller.is_server and not caller.is_anonymous and caller.user_id is not None


async def access_for(
    session: AsyncSession, caller: Caller, call_type: CallTypeRow, call: CallRow | None
) -> CallAccess:
    """Capabilities of ``caller`` in ``call`` (or, before it exists, in a new call of ``call_type``)."""
    membership = permissions = None
    if call is not None and _personal(caller):
        assert caller.user_id is not None
        membership = await get_member(session, call.cid, caller.user_id)
        permissions = await get_user_permissions(session, call.cid, caller.user_id)
    return _access(caller, call_type, call, membership, permissions)


async def accesses_for(
    session: AsyncSession, caller: Caller, call_types: dict[str, CallTypeRow], calls: list[CallRow]
) -> list[CallAccess]:
    """``access_for`` for many calls at once, in two queries (for a page of QueryCalls)."""
    memberships: dict[str, CallMemberRow] = {}
    permissions: dict[str, CallUserPermissionRow] = {}
    if calls and _personal(caller):
        cids = [call.cid for call in calls]
        memberships = {m.call_cid: m for m in (await session.scalars(select(CallMemberRow).where(
            CallMemberRow.user_id == caller.user_id, CallMemberRow.call_cid.in_(cids)))).all()}
        permissions = {p.call_cid: p for p in (await session.scalars(select(CallUserPermissionRow).where(
            CallUserPermissionRow.user_id == caller.user_id, CallUserPermissionRow.call_cid.in_(cids)))).all()}
    return [_access(caller, call_types[call.type], call, memberships.get(call.cid), permissions.get(call.cid))
            for call in calls]


async def system_access(session: AsyncSession, call: CallRow) -> CallAccess:
    """The server's view of a call, for work no request drives (timers, ring timeouts)."""
    call_type = await load_call_type(session, call.type)
    return CallAccess(call_type, EffectiveSettings.of(effective_settings(call_type, call)), ALL_CAPABILITIES, None)
