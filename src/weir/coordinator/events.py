"""Emitting events: durable sinks (webhook outbox, push) write inside the transaction, the bus after commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.bus import DurableSink, Envelope, EventBus
from weir.protocol.events import Event
from weir.store.db import after_commit
from weir.store.tables import CallMemberRow


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
            rows = await session.scalars(select(CallMemberRow.user_id).where(CallMemberRow.call_cid == call_cid))
            recipients.update(rows.all())
        envelope = Envelope(payload, call_cid, frozenset(recipients), watchers, close_sockets)

        async def publish() -> None:
            await self.bus.publish(envelope)

        after_commit(session, publish)
        return payload
