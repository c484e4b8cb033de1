"""Emitting events: durable sinks (webhook outbox, push) write inside the transaction, the bus after commit."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from weir.bus import DurableSink, Envelope, EventBus
from weir.protocol.events import Event
from weir.store.db import after_commit
from weir.store.tables import CallMemberRow

MEMBERS = "weir.member_ids"  # session.info: call cid -> its members' user ids, as read in this transaction


async def member_ids(session: AsyncSession, call_cid: str) -> frozenset[str]:
    """The call's members, read once per transaction however many events it emits (a join emits two to four);
    any write to members, or any other statement that is not a SELECT, makes the next call read them again."""
    known: dict[str, frozenset[str]] = session.info.setdefault(MEMBERS, {})
    if call_cid not in known:
        rows = await session.scalars(select(CallMemberRow.user_id).where(CallMemberRow.call_cid == call_cid))
        known[call_cid] = frozenset(rows.all())
    return known[call_cid]


@sa_event.listens_for(Session, "after_flush")
def _forget_members_flushed(session: Session, _context: object) -> None:
    if MEMBERS in session.info and any(
            isinstance(row, CallMemberRow) for row in chain(session.new, session.dirty, session.deleted)):
        del session.info[MEMBERS]


@sa_event.listens_for(Session, "do_orm_execute")
def _forget_members_written(state: ORMExecuteState) -> None:
    if not state.is_select:  # a bulk insert, update or delete may change members
        state.session.info.pop(MEMBERS, None)


class EventEmitter:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.sinks: list[DurableSink] = []

    async def emit(
        self,
        session: AsyncSession,
        event: Event,
        *,
        call_cid: str | None = None,
        user_ids: Iterable[str] = (),
        to_members: bool = True,
        watchers: bool = True,
        close_sockets: bool = False,
    ) -> dict[str, Any]:
        """Queue ``event`` for the call's members and watchers (and ``user_ids``); returns its JSON."""
        payload = event.model_dump(mode="json")
        for sink in self.sinks:
            await sink(session, payload)
        recipients = set(user_ids)
        if call_cid is not None and to_members:
            recipients.update(await member_ids(session, call_cid))
        envelope = Envelope(payload, call_cid, frozenset(recipients), watchers, close_sockets)

        async def publish() -> None:
            await self.bus.publish(envelope)

        after_commit(session, publish)
        return payload
