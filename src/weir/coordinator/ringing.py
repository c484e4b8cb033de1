"""Ringing on the server: ring and notify, accept and reject, and the ring timeouts of the call's settings."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.call_access import CallAccess, system_access
from weir.coordinator.lifecycle import CallLifecycle
from weir.coordinator.services import Services
from weir.domain.capabilities import Capability
from weir.domain.clock import now
from weir.domain.ringing import Ring, callees
from weir.protocol.errors import input_error, not_allowed
from weir.store.calls import list_members
from weir.store.sessions import current_session, new_id, open_session
from weir.store.tables import CallRow, CallSessionRow, ScheduledTaskRow, SessionParticipantRow, UserBlockRow

AUTO_CANCEL, INCOMING_TIMEOUT, MISSED = "ring_auto_cancel", "ring_incoming_timeout", "ring_missed"
REJECTED_REASON = "rejected"


class CallRinging:
    def __init__(self, weir: Services, session: AsyncSession, call: CallRow, access: CallAccess) -> None:
        self.weir, self.session, self.call, self.access = weir, session, call, access
        self.lifecycle = CallLifecycle(weir, session, call, access)
        self.events = self.lifecycle.events

    async def _targets(self, caller_id: str, user_ids: list[str] | None) -> list[str]:
        members = [m.user_id for m in await list_members(self.session, self.call.cid)]
        if user_ids:
            if caller_id in user_ids:
                raise input_error("user_ids", "you cannot ring yourself")
            strangers = sorted(set(user_ids) - set(members))
            if strangers:
                raise input_error("user_ids", f"only members can be rung; not members: {', '.join(strangers)}")
        wanted = user_ids or members
        blockers = await self.session.scalars(select(UserBlockRow.user_id).where(
            UserBlockRow.blocked_user_id == caller_id, UserBlockRow.user_id.in_(wanted)))
        return callees(wanted, caller_id, blockers.all())

    def _require_ringer(self, caller_id: str, by_server: bool) -> None:
        """The server, the call's creator and members who may join it ring; nobody else."""
        if by_server or caller_id == self.call.created_by_id:
            return
        if self.access.membership is None or not self.access.has(Capability.JOIN_CALL):
            raise not_allowed("only the call's creator and its members who may join it can ring it")

    async def ring(
        self, caller_id: str, video: bool, user_ids: list[str] | None = None, *, by_server: bool = False
    ) -> list[str]:
        """Ring members (all but the caller, or ``user_ids``); returns who is rung.

        A ring still in progress belongs to its caller: someone else ringing would become the caller the
        callees see, and could then cancel it."""
        self._require_ringer(caller_id, by_server)
        targets = await self._targets(caller_id, user_ids)
        call_session, _ = await open_session(self.session, self.call)
        current = Ring.load(call_session.ring)
        if (current is not None and current.caller_id != caller_id
                and current.in_progress(call_session.accepted_by, call_session.rejected_by)):
            raise not_allowed(f"{current.caller_id} is ringing this call; wait until that ring ends")
        stamp = now()
        ring = Ring(id=new_id(), caller_id=caller_id, callees=targets, video=video, started_at=stamp.isoformat())
        call_session.ring = ring.dump()
        for answers in ("accepted_by", "rejected_by", "missed_by"):
            setattr(call_session, answers, {k: v for k, v in getattr(call_session, answers).items()
                                            if k not in targets})
        self.call.ring = True
        if targets:
            await self.events.ring(call_session.id, caller_id, targets, video)
        timeouts = self.access.settings.ring
        for kind, milliseconds in ((AUTO_CANCEL, timeouts.auto_cancel_ms),
                                   (INCOMING_TIMEOUT, timeouts.incoming_call_ms), (MISSED, timeouts.missed_call_ms)):
            if milliseconds > 0 and targets:
                self.weir.scheduler.schedule(self.session, kind, self.call.cid,
                                             stamp + timedelta(milliseconds=milliseconds), call_session.id,
                                             {"ring_id": ring.id})
        return targets

    async def notify(self, caller_id: str) -> list[str]:
        targets = await self._targets(caller_id, None)
        call_session, _ = await open_session(self.session, self.call)
        if targets:
            await self.events.notification(call_session.id, caller_id, targets)
        return targets

    async def _ring_of(self) -> tuple[CallSessionRow, Ring]:
        call_session = await current_session(self.session, self.call)
        ring = Ring.load(call_session.ring) if call_session is not None else None
        if call_session is None or ring is None:
            raise input_error("call", "this call is not ringing")
        return call_session, ring

    async def accept(self, user_id: str) -> None:
        call_session, ring = await self._ring_of()
        if user_id not in ring.callees:
            raise input_error("user_id", "only rung members can accept")
        call_session.accepted_by = {**call_session.accepted_by, user_id: now().isoformat()}
        call_session.rejected_by = {k: v for k, v in call_session.rejected_by.items() if k != user_id}
        await self.events.accepted(user_id)

    async def reject(self, user_id: str, reason: str) -> None:
        call_session, ring = await self._ring_of()
        if user_id == ring.caller_id:
            ring.ended_at = now().isoformat()
            call_session.ring = ring.dump()
            await self.events.rejected(user_id, reason)
            return
        if user_id not in ring.callees:
            raise input_error("user_id", "only the caller and rung members can reject")
        call_session.rejected_by = {**call_session.rejected_by, user_id: now().isoformat()}
        await self.events.rejected(user_id, reason)
        if ring.all_rejected(call_session.accepted_by, call_session.rejected_by):
            ring.ended_at = now().isoformat()
            call_session.ring = ring.dump()
            if self.access.settings.ring.end_call_when_all_rejected:
                await self.lifecycle.end_call(None, REJECTED_REASON)

    async def on_auto_cancel(self, call_session: CallSessionRow, ring: Ring) -> None:
        """No callee accepted in time: the ring ends with the caller's 'timeout' rejection."""
        if any(c in call_session.accepted_by for c in ring.callees):
            return
        ring.ended_at = now().isoformat()
        call_session.ring = ring.dump()
        await self.events.rejected(ring.caller_id, "timeout")

    async def on_incoming_timeout(self, call_session: CallSessionRow, ring: Ring) -> None:
        """Online callees who didn't answer stop ringing with a 'timeout' rejection (which is not an answer)."""
        for user_id in ring.unanswered(call_session.accepted_by, call_session.rejected_by):
            if user_id not in ring.timed_out and await self.weir.presence.connections(user_id):
                ring.timed_out.append(user_id)
                await self.events.rejected(user_id, "timeout")
        call_session.ring = ring.dump()

    async def on_missed(self, call_session: CallSessionRow, ring: Ring) -> None:
        joined = await self.session.scalars(select(SessionParticipantRow.user_id).where(
            SessionParticipantRow.session_id == call_session.id))
        missed = ring.missed(call_session.accepted_by, call_session.rejected_by, joined.all())
        if missed:
            stamp = now().isoformat()
            call_session.missed_by = {**call_session.missed_by, **{user_id: stamp for user_id in missed}}
            await self.events.missed(call_session.id, ring.caller_id, missed)


def register_tasks(weir: Services) -> None:
    def handler(kind: str):  # type: ignore[no-untyped-def]
        async def run(session: AsyncSession, task: ScheduledTaskRow) -> None:
            call = await session.get(CallRow, task.call_cid)
            if call is None or call.current_session_id != task.session_id:
                return
            call_session = await session.get(CallSessionRow, task.session_id)
            ring = Ring.load(call_session.ring) if call_session is not None else None
            if call_session is None or ring is None or ring.id != task.payload.get("ring_id"):
                return
            ringing = CallRinging(weir, session, call, await system_access(session, call))
            if kind == MISSED:
                await ringing.on_missed(call_session, ring)
            elif ring.active and kind == AUTO_CANCEL:
                await ringing.on_auto_cancel(call_session, ring)
            elif ring.active and kind == INCOMING_TIMEOUT:
                await ringing.on_incoming_timeout(call_session, ring)

        return run

    for kind in (AUTO_CANCEL, INCOMING_TIMEOUT, MISSED):
        weir.scheduler.handle(kind, handler(kind))
