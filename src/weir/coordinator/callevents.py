"""The call events the coordinator emits, built from the stored call as every recipient sees it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict, overload

from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.call_access import CallAccess
from weir.coordinator.callview import call_response, member_response, participant_response
from weir.coordinator.services import Services
from weir.coordinator.userview import user_response
from weir.domain.capabilities import own_capabilities
from weir.domain.clock import now
from weir.protocol import events as ev
from weir.protocol.calls import CallResponse, MemberResponse
from weir.protocol.users import UserResponse
from weir.store.calls import MemberChanges, members_by_id, users_by_id
from weir.store.tables import CallMemberRow, CallRow, SessionParticipantRow
from weir.store.users import ensure_user, get_user


class _Base(TypedDict):
    """The fields every call event starts with."""

    created_at: datetime
    call_cid: str


def capabilities_by_role(access: CallAccess) -> dict[str, list[str]]:
    """What each role of the call type may do under the call's settings (clients recompute own_capabilities)."""
    return {role: own_capabilities(access.call_type.grants, [role], access.settings.raw)
            for role in access.call_type.grants}


class CallEvents:
    """Emits one call's events inside the caller's transaction (delivered after commit)."""

    def __init__(self, weir: Services, session: AsyncSession, call: CallRow, access: CallAccess) -> None:
        self.weir, self.session, self.call, self.access = weir, session, call, access

    async def call_model(self) -> CallResponse:
        return await call_response(self.session, self.call, self.access)

    async def _members(self, rows: Iterable[CallMemberRow]) -> list[MemberResponse]:
        rows = list(rows)
        users = await users_by_id(self.session, [r.user_id for r in rows])
        return [member_response(r, users[r.user_id]) for r in rows if r.user_id in users]

    async def _members_by_id(self, user_ids: Iterable[str]) -> list[MemberResponse]:
        return await self._members(await members_by_id(self.session, self.call.cid, user_ids))

    @overload
    async def _user(self, user_id: str) -> UserResponse: ...
    @overload
    async def _user(self, user_id: str | None) -> UserResponse | None: ...
    async def _user(self, user_id: str | None) -> UserResponse | None:
        return None if user_id is None else user_response(await ensure_user(self.session, user_id))

    async def emit(self, event: ev.Event, **routing: object) -> None:
        await self.weir.events.emit(self.session, event, call_cid=self.call.cid, **routing)  # type: ignore[arg-type]

    def _base(self) -> _Base:
        return {"created_at": now(), "call_cid": self.call.cid}

    # --- call ---------------------------------------------------------------------------------------------
    async def created(self, members: Iterable[CallMemberRow]) -> None:
        await self.emit(ev.CallCreatedEvent(**self._base(), call=await self.call_model(),
                                            members=await self._members(members)))

    async def updated(self) -> None:
        await self.emit(ev.CallUpdatedEvent(**self._base(), call=await self.call_model(),
                                            capabilities_by_role=capabilities_by_role(self.access)))

    async def ended(self, by_user_id: str | None, reason: str | None = None) -> None:
        await self.emit(ev.CallEndedEvent(**self._base(), call=await self.call_model(), reason=reason,
                                          user=await self._user(by_user_id)))

    async def deleted(self) -> None:
        await self.emit(ev.CallDeletedEvent(**self._base(), call=await self.call_model()))

    async def live_started(self) -> None:
        await self.emit(ev.CallLiveStartedEvent(**self._base(), call=await self.call_model()))

    # --- members and moderation ---------------------------------------------------------------------------
    async def members_changed(self, changes: MemberChanges, removed: list[str]) -> None:
        call = await self.call_model()
        if changes.added:
            await self.emit(ev.CallMemberAddedEvent(**self._base(), call=call,
                                                    members=await self._members(changes.added)))
        if changes.updated:
            await self.emit(ev.CallMemberUpdatedEvent(**self._base(), call=call,
                                                      members=await self._members(changes.updated)))
        if changes.role_changed:  # a new role means new capabilities: clients recompute from capabilities_by_role
            await self.emit(ev.CallMemberUpdatedPermissionEvent(
                **self._base(), call=call, members=await self._members(changes.role_changed),
                capabilities_by_role=capabilities_by_role(self.access)))
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

    # --- sessions -----------------------------------------------------------------------------------------
    async def session_started(self, session_id: str) -> None:
        await self.emit(ev.CallSessionStartedEvent(**self._base(), call=await self.call_model(), session_id=session_id))

    async def session_ended(self, session_id: str) -> None:
        await self.emit(ev.CallSessionEndedEvent(**self._base(), call=await self.call_model(), session_id=session_id))

    async def participant_joined(self, session_id: str, row: SessionParticipantRow) -> None:
        user = None if row.anonymous else await get_user(self.session, row.user_id)
        await self.emit(ev.CallSessionParticipantJoinedEvent(
            **self._base(), session_id=session_id, participant=participant_response(row, user)))

    async def participant_left(self, session_id: str, row: SessionParticipantRow, duration_seconds: int,
                               reason: str | None) -> None:
        user = None if row.anonymous else await get_user(self.session, row.user_id)
        await self.emit(ev.CallSessionParticipantLeftEvent(
            **self._base(), session_id=session_id, participant=participant_response(row, user),
            duration_seconds=duration_seconds, reason=reason), user_ids=[] if row.anonymous else [row.user_id])

    async def counts_updated(self, session_id: str, by_role: dict[str, int], anonymous: int) -> None:
        await self.emit(ev.CallSessionParticipantCountsUpdatedEvent(
            **self._base(), session_id=session_id, participants_count_by_role=by_role,
            anonymous_participant_count=anonymous))

    # --- ringing ------------------------------------------------------------------------------------------
    async def ring(self, session_id: str, caller_id: str, callees: list[str], video: bool) -> None:
        """To the callees only: watchers and other members are not rung."""
        await self.emit(ev.CallRingEvent(
            **self._base(), call=await self.call_model(), members=await self._members_by_id(callees),
            session_id=session_id, user=await self._user(caller_id), video=video,
        ), user_ids=callees, to_members=False, watchers=False)

    async def notification(self, session_id: str, caller_id: str, targets: list[str]) -> None:
        await self.emit(ev.CallNotificationEvent(
            **self._base(), call=await self.call_model(), members=await self._members_by_id(targets),
            session_id=session_id, user=await self._user(caller_id),
        ), user_ids=targets, to_members=False, watchers=False)

    async def accepted(self, user_id: str) -> None:
        await self.emit(ev.CallAcceptedEvent(**self._base(), call=await self.call_model(),
                                             user=await self._user(user_id)))

    async def rejected(self, user_id: str, reason: str, also_to: Iterable[str] = ()) -> None:
        await self.emit(ev.CallRejectedEvent(**self._base(), call=await self.call_model(),
                                             user=await self._user(user_id), reason=reason), user_ids=list(also_to))

    async def missed(self, session_id: str, caller_id: str, missed: list[str]) -> None:
        await self.emit(ev.CallMissedEvent(
            **self._base(), call=await self.call_model(), members=await self._members_by_id(missed),
            notify_user=True, session_id=session_id, user=await self._user(caller_id),
        ), user_ids=missed, to_members=False, watchers=False)
