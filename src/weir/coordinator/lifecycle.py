"""The life of a call on the server: sessions, participants, backstage, the duration timer, ending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator import broadcaster, call_stats, recorder, transcriber
from weir.coordinator.auth import Caller
from weir.coordinator.call_access import CallAccess, system_access
from weir.coordinator.callevents import CallEvents
from weir.coordinator.services import Services
from weir.domain.capabilities import ANONYMOUS_ROLE, Capability
from weir.domain.clock import now, utc
from weir.domain.sessions import backstage_open_for_all, is_full, participant_counts, timer_ends_at
from weir.protocol.errors import APIError, ErrorCode, input_error
from weir.store.sessions import active_participants, add_participant, current_session, open_session
from weir.store.tables import CallRow, CallSessionRow, ScheduledTaskRow, SessionParticipantRow
from weir.store.users import get_user, is_banned

CALL_TIMER = "call_timer"
SESSION_SWEEP = "session_sweep"
ADMISSION_CHECK = "admission_check"
TIMER_REASON = "max_duration_reached"


@dataclass(frozen=True)
class Joined:
    """A join's session, its new participant and everyone active in the session now (the new one last)."""

    session: CallSessionRow
    participant: SessionParticipantRow
    participants: list[SessionParticipantRow]


class CallLifecycle:
    """Session and participant changes of one call, inside the caller's transaction."""

    def __init__(self, weir: Services, session: AsyncSession, call: CallRow, access: CallAccess) -> None:
        self.weir, self.session, self.call, self.access = weir, session, call, access
        self.events = CallEvents(weir, session, call, access)

    def check_can_join(self, who: Caller) -> None:
        access = self.access
        if who.user_id in (self.call.blocked_user_ids or []):
            raise APIError(ErrorCode.NOT_ALLOWED, "you are blocked from this call")
        access.require(Capability.JOIN_CALL)
        if self.call.ended_at is not None and not access.has(Capability.JOIN_ENDED_CALL):
            raise APIError(ErrorCode.NOT_ALLOWED, "the call has ended")
        if self.call.backstage and not access.has(Capability.JOIN_BACKSTAGE) and not backstage_open_for_all(
            now(), utc(self.call.starts_at), access.settings.join_ahead_time_seconds
        ):
            raise APIError(ErrorCode.NOT_ALLOWED, "the call is in backstage: only hosts can join until it goes live")

    def participant_role(self, who: Caller) -> str:
        if who.is_anonymous:
            return ANONYMOUS_ROLE
        if self.access.membership is not None:
            return self.access.membership.role
        return who.user_role or "user"

    async def join(self, who: Caller) -> Joined:
        assert who.user_id is not None
        self.check_can_join(who)
        user = None if who.is_anonymous else await get_user(self.session, who.user_id)
        if user is not None and is_banned(user):
            raise APIError(ErrorCode.USER_BANNED, "you are banned and cannot join calls")
        stamp = now()
        call_session, _ = await open_session(self.session, self.call)
        present = await self._replace_unconnected(call_session, who)
        role = self.participant_role(who)
        if is_full(self.access.settings.limits, present, self.call.created_by_id, who.user_id, role):
            raise APIError(ErrorCode.CALL_FULL, "the call is full (limits.max_participants)")
        row = add_participant(self.session, call_session, who.user_id, role, who.is_anonymous, stamp)
        await self.session.flush()
        self.weir.scheduler.schedule(
            self.session, ADMISSION_CHECK, self.call.cid,
            stamp + timedelta(seconds=self.weir.settings.sfu_admission_window_seconds), call_session.id,
            {"user_session_id": row.user_session_id})
        if call_session.started_at is None:
            call_session.started_at = stamp
            self._set_timer(call_session)
            self.schedule_sweep(call_session)
            await self.events.session_started(call_session.id)
            await recorder.session_started(self.weir, self.session, self.call, self.access.settings.raw)
            await transcriber.session_started(self.weir, self.session, self.call, self.access.settings.raw)
            await broadcaster.session_started(self.weir, self.session, self.call, self.access.settings.raw)
        await self.events.participant_joined(call_session.id, row)
        participants = [*present, row]
        await self._counts(call_session, participants)
        return Joined(call_session, row, participants)

    async def _replace_unconnected(self, call_session: CallSessionRow, who: Caller) -> list[SessionParticipantRow]:
        """A user's new join replaces their sessions that never reached the SFU, so repeated joins take one
        seat; returns who is still present. (Anonymous callers share one user id: theirs wait for the
        admission window.)"""
        present = await active_participants(self.session, call_session.id)
        if who.is_anonymous:
            return present
        replaced = [p for p in present if p.user_id == who.user_id and p.sfu_connected_at is None]
        for row in replaced:
            await self._remove(call_session, row, "replaced")
        return [p for p in present if p not in replaced]

    async def _remove(self, call_session: CallSessionRow, row: SessionParticipantRow, reason: str | None) -> None:
        row.left_at = now()
        duration = int((row.left_at - utc(row.joined_at)).total_seconds())
        await self.session.flush()
        await self.events.participant_left(call_session.id, row, duration, reason)

    async def leave(self, call_session: CallSessionRow, row: SessionParticipantRow, reason: str | None) -> None:
        if row.left_at is not None:
            return
        await self._remove(call_session, row, reason)
        await self._counts(call_session)
        if not await active_participants(self.session, call_session.id):
            await self.end_session(call_session)

    async def end_session(self, call_session: CallSessionRow) -> None:
        if call_session.ended_at is not None:
            return
        call_session.ended_at = now()
        for kind in (CALL_TIMER, SESSION_SWEEP, ADMISSION_CHECK):
            await self.weir.scheduler.cancel(self.session, kind, self.call.cid)
        await recorder.session_ended(self.weir, self.session, self.call)
        await transcriber.session_ended(self.weir, self.session, self.call)
        await broadcaster.session_ended(self.weir, self.session, self.call)
        await self.events.session_ended(call_session.id)
        call_stats.schedule_report(self.weir, self.session, self.call, call_session)

    async def end_call(self, by_user_id: str | None, reason: str | None = None) -> None:
        """End the call for everyone: participants are removed and the session ends."""
        if self.call.ended_at is None:
            self.call.ended_at = now()
            self.call.updated_at = self.call.ended_at
        call_session = await current_session(self.session, self.call)
        if call_session is not None:
            for row in await active_participants(self.session, call_session.id):
                row.left_at = self.call.ended_at
            await self.end_session(call_session)
        await self.events.ended(by_user_id, reason)

    async def go_live(self) -> None:
        self.call.backstage = False
        call_session, _ = await open_session(self.session, self.call)
        call_session.live_started_at, call_session.live_ended_at = now(), None
        self.call.updated_at = now()
        await self.events.live_started()
        await self.events.updated()

    async def stop_live(self) -> None:
        self.call.backstage = True
        call_session = await current_session(self.session, self.call)
        if call_session is not None and call_session.live_started_at is not None:
            call_session.live_ended_at = now()
        self.call.updated_at = now()
        await self.events.updated()

    async def pin(self, user_id: str, user_session_id: str, pinned: bool) -> None:
        """Pin (or unpin) a participant for everyone in the running session."""
        call_session = await current_session(self.session, self.call)
        present = [] if call_session is None else await active_participants(self.session, call_session.id)
        if call_session is None or not any(
            p.user_session_id == user_session_id and p.user_id == user_id for p in present
        ):
            raise input_error("session_id", "no such participant in the running session")
        others = [p for p in call_session.pins or [] if p["session_id"] != user_session_id]
        entry = {"user_id": user_id, "session_id": user_session_id, "pinned_at": now().isoformat()}
        call_session.pins = [*others, entry] if pinned else others
        await self.events.updated()

    async def settings_changed(self) -> None:
        """A new ``limits.max_duration_seconds`` moves the running session's timer."""
        call_session = await current_session(self.session, self.call)
        if call_session is None or call_session.started_at is None:
            return
        await self.weir.scheduler.cancel(self.session, CALL_TIMER, self.call.cid)
        self._set_timer(call_session)

    def _set_timer(self, call_session: CallSessionRow) -> None:
        ends = timer_ends_at(utc(call_session.started_at), self.access.settings.limits.max_duration_seconds)
        call_session.timer_ends_at = ends
        if ends is not None:
            self.weir.scheduler.schedule(self.session, CALL_TIMER, self.call.cid, ends, call_session.id)

    @property
    def inactivity_timeout(self) -> int:
        return self.access.settings.inactivity_timeout_seconds

    def schedule_sweep(self, call_session: CallSessionRow) -> None:
        due = now() + timedelta(seconds=self.inactivity_timeout)
        self.weir.scheduler.schedule(self.session, SESSION_SWEEP, self.call.cid, due, call_session.id)

    async def _counts(self, call_session: CallSessionRow,
                      participants: list[SessionParticipantRow] | None = None) -> None:
        """Count the session's active ``participants`` (read when not given) and tell everyone."""
        if participants is None:
            participants = await active_participants(self.session, call_session.id)
        by_role, anonymous = participant_counts(participants)
        call_session.anonymous_participant_count = anonymous
        await self.events.counts_updated(call_session.id, by_role, anonymous)


async def _session_task_target(
    weir: Services, session: AsyncSession, task: ScheduledTaskRow
) -> tuple[CallLifecycle, CallSessionRow] | None:
    """The call and session a timer was set for, if that session is still running."""
    call = await session.get(CallRow, task.call_cid)
    if call is None or call.current_session_id != task.session_id:
        return None
    call_session = await current_session(session, call)
    if call_session is None:
        return None
    return CallLifecycle(weir, session, call, await system_access(session, call)), call_session


def register_tasks(weir: Services) -> None:
    async def call_timer(session: AsyncSession, task: ScheduledTaskRow) -> None:
        target = await _session_task_target(weir, session, task)
        if target is not None and target[1].timer_ends_at is not None and utc(target[1].timer_ends_at) <= now():
            await target[0].end_call(None, TIMER_REASON)

    async def session_sweep(session: AsyncSession, task: ScheduledTaskRow) -> None:
        """Remove participants whose client vanished: no coordinator connection for the inactivity timeout."""
        target = await _session_task_target(weir, session, task)
        if target is None:
            return
        lifecycle, call_session = target
        timeout = lifecycle.inactivity_timeout
        stamp = now()
        for row in await active_participants(session, call_session.id):
            if row.anonymous:
                continue
            if await weir.presence.connections(row.user_id):
                row.last_seen_at = stamp
            elif (stamp - utc(row.last_seen_at)).total_seconds() >= timeout:
                await lifecycle.leave(call_session, row, "timeout")
        if call_session.ended_at is None:
            lifecycle.schedule_sweep(call_session)

    async def admission_check(session: AsyncSession, task: ScheduledTaskRow) -> None:
        """A session whose client never reached the SFU within the admission window holds no seat."""
        target = await _session_task_target(weir, session, task)
        row = await session.get(SessionParticipantRow, task.payload.get("user_session_id"))
        if target is not None and row is not None and row.left_at is None and row.sfu_connected_at is None:
            await target[0].leave(target[1], row, "timeout")

    weir.scheduler.handle(CALL_TIMER, call_timer)
    weir.scheduler.handle(ADMISSION_CHECK, admission_check)
    weir.scheduler.handle(SESSION_SWEEP, session_sweep)


async def participant_of(session: AsyncSession, call: CallRow, user_session_id: str) -> SessionParticipantRow | None:
    return await session.scalar(select(SessionParticipantRow).where(
        SessionParticipantRow.user_session_id == user_session_id, SessionParticipantRow.call_cid == call.cid))
