"""``LocalCoordinator``: the coordinator link when both run in one process (``weir serve``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from weir.bus.base import Subscription
from weir.coordinator import call_stats
from weir.coordinator.call_access import effective_settings, load_call_type, system_access
from weir.coordinator.lifecycle import CallLifecycle
from weir.coordinator.services import Services
from weir.domain.clock import now, utc
from weir.protocol.freeform import readable_custom
from weir.sfu.signaling.link import CallRecord, ParticipantRecord, parse_pins
from weir.store.sessions import current_session, get_participant
from weir.store.tables import CallRow, CallSessionRow, SessionParticipantRow
from weir.store.users import get_user

Active = tuple[CallRow, CallSessionRow, SessionParticipantRow]


async def _active(session: AsyncSession, call_cid: str, session_id: str) -> Active | None:
    """The call, its running session and the participant, if ``session_id`` is still in that session."""
    row = await get_participant(session, session_id)
    call = await session.get(CallRow, call_cid)
    if row is None or call is None or row.call_cid != call_cid or row.left_at is not None:
        return None
    call_session = await current_session(session, call)
    if call_session is None or call_session.id != row.session_id:
        return None
    return call, call_session, row


class LocalCoordinator:
    def __init__(self, weir: Services) -> None:
        self.weir = weir

    async def admit(self, call_cid: str, session_id: str) -> tuple[CallRecord, ParticipantRecord] | None:
        async with self.weir.db.transaction() as session:
            active = await _active(session, call_cid, session_id)
            if active is None:
                return None
            call, call_session, row = active
            if row.sfu_connected_at is None:
                row.sfu_connected_at = now()
            settings = effective_settings(await load_call_type(session, call.type), call)
            user = None if row.anonymous else await get_user(session, row.user_id)
            joined = utc(row.joined_at)
            assert joined is not None
            participant = ParticipantRecord(
                user_id=row.user_id, session_id=row.user_session_id, role=row.role, anonymous=row.anonymous,
                joined_at=joined, name=(user.name or "") if user else "", image=(user.image or "") if user else "",
                custom=dict(readable_custom(user.custom, f"user {user.id}")) if user else {},
            )
            record = CallRecord(cid=call.cid, started_at=utc(call_session.started_at),
                                pins=parse_pins(call_session.pins or []), settings=settings)
            return record, participant

    async def participant_left(self, call_cid: str, session_id: str, reason: str) -> None:
        async with self.weir.db.transaction() as session:
            active = await _active(session, call_cid, session_id)
            if active is not None:
                call, call_session, row = active
                lifecycle = CallLifecycle(self.weir, session, call, await system_access(session, call))
                await lifecycle.leave(call_session, row, reason)

    async def keep_alive(self, session_ids: Collection[str]) -> None:
        if not session_ids:
            return
        async with self.weir.db.transaction() as session:
            await session.execute(update(SessionParticipantRow).where(
                SessionParticipantRow.user_session_id.in_(list(session_ids)), SessionParticipantRow.left_at.is_(None),
            ).values(last_seen_at=now()))

    async def record_stats(self, call_cid: str, samples: list[dict[str, Any]]) -> None:
        await call_stats.record(self.weir.db, self.weir.live_stats, call_cid, samples)

    def subscribe(self) -> Subscription:
        return self.weir.bus.subscribe()


__all__ = ["LocalCoordinator"]
