"""What a caller may do in one call: roles, grants, runtime permissions and settings, combined."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.auth import Caller
from weir.domain.capabilities import ALL_CAPABILITIES, Capability, call_roles, own_capabilities
from weir.domain.settings import merge_settings
from weir.protocol.errors import APIError, ErrorCode, input_error
from weir.store.calls import get_member, get_user_permissions
from weir.store.calltypes import get_call_type
from weir.store.tables import CallMemberRow, CallRow, CallTypeRow

@dataclass(frozen=True)
class CallAccess:
    """A caller's view of one call type (and call, once it exists)."""

    call_type: CallTypeRow
    settings: dict[str, Any]
    capabilities: frozenset[str]
    membership: CallMemberRow | None

    def require(self, capability: Capability) -> None:
        if capability.value not in self.capabilities:
            raise APIError(ErrorCode.NOT_ALLOWED, f"missing the '{capability.value}' capability for this call")

    def has(self, capability: Capability) -> bool:
        return capability.value in self.capabilities


async def load_call_type(session: AsyncSession, name: str) -> CallTypeRow:
    row = await get_call_type(session, name)
    if row is None:
        raise input_error("type", f"call type '{name}' does not exist")
    return row


def effective_settings(call_type: CallTypeRow, call: CallRow | None) -> dict[str, Any]:
    if call is not None and call.settings_override:
        return merge_settings(call_type.settings, call.settings_override)
    return call_type.settings


async def access_for(
    session: AsyncSession, caller: Caller, call_type: CallTypeRow, call: CallRow | None
) -> CallAccess:
    """Capabilities of ``caller`` in ``call`` (or, before it exists, in a new call of ``call_type``)."""
    settings = effective_settings(call_type, call)
    if caller.is_server:
        return CallAccess(call_type, settings, ALL_CAPABILITIES, None)
    membership = None
    granted: list[str] = []
    revoked: list[str] = []
    if call is not None and caller.user_id is not None and not caller.is_anonymous:
        membership = await get_member(session, call.cid, caller.user_id)
        permissions = await get_user_permissions(session, call.cid, caller.user_id)
        if permissions is not None:
            granted, revoked = list(permissions.granted), list(permissions.revoked)
    roles = call_roles(
        app_role=None if caller.is_anonymous else caller.user_role,
        member_role=membership.role if membership else None,
        is_creator=call is not None and call.created_by_id == caller.user_id,
        token_role=caller.claims.role,
    )
    capabilities = own_capabilities(
        grants=call_type.grants, roles=roles, settings=settings, granted=granted, revoked=revoked
    )
    if call is not None and caller.user_id in (call.blocked_user_ids or []):
        capabilities = [c for c in capabilities if c not in (Capability.JOIN_CALL.value,)]
    return CallAccess(call_type, settings, frozenset(capabilities), membership)


async def system_access(session: AsyncSession, call: CallRow) -> CallAccess:
    """The server's view of a call, for work no request drives (timers, ring timeouts)."""
    call_type = await load_call_type(session, call.type)
    return CallAccess(call_type, effective_settings(call_type, call), ALL_CAPABILITIES, None)
