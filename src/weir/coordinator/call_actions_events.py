"""The events of in-call interactions, and who receives them.

Most go to the call's members and watchers. A permission request goes only to the members (and the creator)
who could grant it; a permissions update also goes to its target; a mute also goes to the muted users.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.auth import Caller
from weir.coordinator.call_access import CallAccess, access_for
from weir.coordinator.services import Services
from weir.coordinator.userview import user_response
from weir.domain.capabilities import Capability
from weir.domain.clock import now
from weir.domain.tokens import TokenClaims
from weir.protocol import events as ev
from weir.store.calls import list_members, users_by_id
from weir.store.tables import CallRow, CallTypeRow, UserFeedbackRow, UserRow


def as_user(user: UserRow) -> Caller:
    """The caller a plain user token of ``user`` would be: how a user's capabilities are computed when
    someone else acts on them."""
    return Caller(TokenClaims(user_id=user.id), platform="internal", user_role=user.role)


async def user_access(session: AsyncSession, call_type: CallTypeRow, call: CallRow, user: UserRow) -> CallAccess:
    return await access_for(session, as_user(user), call_type, call)


async def granters(session: AsyncSession, call_type: CallTypeRow, call: CallRow) -> list[str]:
    """The members and the creator who hold ``update-call-permissions``: a permission request goes to them."""
    candidates = {call.created_by_id, *(m.user_id for m in await list_members(session, call.cid))}
    users = await users_by_id(session, candidates)
    return [
        user_id for user_id in sorted(users)
        if (await user_access(session, call_type, call, users[user_id])).has(Capability.UPDATE_CALL_PERMISSIONS)
    ]


class InteractionEvents:
    """Emits one call's interaction events inside the caller's transaction (delivered after commit)."""

    def __init__(self, weir: Services, session: AsyncSession, call: CallRow) -> None:
        self.weir, self.session, self.call = weir, session, call

    def _base(self) -> dict[str, Any]:
        return {"created_at": now(), "call_cid": self.call.cid}

    async def _emit(self, event: ev.Event, **routing: Any) -> None:
        await self.weir.events.emit(self.session, event, call_cid=self.call.cid, **routing)

    async def custom(self, user: UserRow, custom: dict[str, Any]) -> None:
        await self._emit(ev.CustomVideoEvent(**self._base(), custom=custom, user=user_response(user)))

    async def reaction(self, reaction: ev.Reaction) -> None:
        await self._emit(ev.CallReactionEvent(**self._base(), reaction=reaction))

    async def permission_request(self, user: UserRow, permissions: list[str], to: list[str]) -> None:
        event = ev.PermissionRequestEvent(**self._base(), user=user_response(user), permissions=permissions)
        await self._emit(event, user_ids=to, to_members=False, watchers=False)

    async def permissions_updated(self, user: UserRow, own_capabilities: list[str]) -> None:
        event = ev.UpdatedCallPermissionsEvent(**self._base(), user=user_response(user),
                                               own_capabilities=own_capabilities)
        await self._emit(event, user_ids=[user.id])

    async def user_muted(self, from_user_id: str, muted_user_ids: list[str], reason: str) -> None:
        event = ev.CallUserMutedEvent(**self._base(), from_user_id=from_user_id, muted_user_ids=muted_user_ids,
                                      reason=reason)
        await self._emit(event, user_ids=muted_user_ids)

    async def feedback_submitted(self, user: UserRow, feedback: UserFeedbackRow) -> None:
        await self._emit(ev.CallUserFeedbackSubmittedEvent(
            **self._base(), session_id=feedback.session_id, user=user_response(user), rating=feedback.rating,
            reason=feedback.reason, custom=feedback.custom or None, sdk=feedback.sdk,
            sdk_version=feedback.sdk_version,
        ))
