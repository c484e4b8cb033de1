"""The call events the call routes emit, built from the stored call as every recipient sees it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.call_access import CallAccess
from weir.coordinator.callview import call_response, member_response
from weir.coordinator.services import Services
from weir.domain.capabilities import own_capabilities
from weir.domain.clock import now
from weir.protocol import events as ev
from weir.protocol.calls import CallResponse
from weir.protocol.users import user_response
from weir.store.calls import users_by_id
from weir.store.tables import CallMemberRow, CallRow
from weir.store.users import ensure_user


def capabilities_by_role(access: CallAccess) -> dict[str, list[str]]:
    """What each role of the call type may do under the call's settings (clients recompute own_capabilities)."""
    return {role: own_capabilities(access.call_type.grants, [role], access.settings)
            for role in access.call_type.grants}


class CallEvents:
    """Emits one call's events inside the caller's transaction (delivered after commit)."""

    def __init__(self, weir: Services, session: AsyncSession, call: CallRow, access: CallAccess) -> None:
        self.weir, self.session, self.call, self.access = weir, session, call, access

    async def call_model(self) -> CallResponse:
        creator = await ensure_user(self.session, self.call.created_by_id)
        return call_response(self.call, creator, self.access)

    async def _members(self, rows: Iterable[CallMemberRow]) -> list:
        rows = list(rows)
        users = await users_by_id(self.session, [r.user_id for r in rows])
        return [member_response(r, users[r.user_id]) for r in rows if r.user_id in users]

    async def _user(self, user_id: str | None):  # type: ignore[no-untyped-def]
        return None if user_id is None else user_response(await ensure_user(self.session, user_id))

    async def emit(self, event: ev.Event, **routing: object) -> None:
        await self.weir.events.emit(self.session, event, call_cid=self.call.cid, **routing)  # type: ignore[arg-type]

    def _base(self) -> dict:
        return {"created_at": now(), "call_cid": self.call.cid}

    async def created(self, members: Iterable[CallMemberRow]) -> None:
        await self.emit(ev.CallCreatedEvent(**self._base(), call=await self.call_model(), members=await self._members(members)))

    async def updated(self) -> None:
        await self.emit(ev.CallUpdatedEvent(**self._base(), call=await self.call_model(),
                                            capabilities_by_role=capabilities_by_role(self.access)))

    async def ended(self, by_user_id: str | None, reason: str | None = None) -> None:
        await self.emit(ev.CallEndedEvent(**self._base(), call=await self.call_model(), reason=reason,
                                          user=await self._user(by_user_id)))

    async def deleted(self) -> None:
        await self.emit(ev.CallDeletedEvent(**self._base(), call=await self.call_model()))

    async def members_changed(self, added: list[CallMemberRow], updated: list[CallMemberRow],
                              removed: list[str]) -> None:
        call = await self.call_model()
        if added:
            await self.emit(ev.CallMemberAddedEvent(**self._base(), call=call, members=await self._members(added)))
        if updated:
            await self.emit(ev.CallMemberUpdatedEvent(**self._base(), call=call,
                                                      members=await self._members(updated)))
        if removed:
            # Removed members are no longer members, so they are addressed explicitly.
            await self.emit(ev.CallMemberRemovedEvent(**self._base(), call=call, members=removed), user_ids=removed)

    async def blocked(self, user_id: str, by_user_id: str | None) -> None:
        await self.emit(ev.BlockedUserEvent(**self._base(), user=await self._user(user_id),
                                            blocked_by_user=await self._user(by_user_id)), user_ids=[user_id])

    async def unblocked(self, user_id: str) -> None:
        await self.emit(ev.UnblockedUserEvent(**self._base(), user=await self._user(user_id)), user_ids=[user_id])

    async def kicked(self, user_id: str, by_user_id: str | None) -> None:
        await self.emit(ev.KickedUserEvent(**self._base(), user=await self._user(user_id),
                                           kicked_by_user=await self._user(by_user_id)), user_ids=[user_id])
