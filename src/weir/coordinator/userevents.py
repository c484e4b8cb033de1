"""``user.*`` events: sent to the user's own connections (and to webhooks). The hub closes a deactivated or
deleted user's sockets after delivering the event."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.services import Services
from weir.coordinator.userview import user_response
from weir.domain.clock import now
from weir.protocol import events as ev
from weir.store.tables import UserRow


async def emit_user_event(
    weir: Services, session: AsyncSession, model: type[ev.UserEvent], row: UserRow, **fields: Any
) -> None:
    event = model(created_at=now(), user=user_response(row), **fields)
    # A deactivated or deleted user may not stay connected: their sockets close once the event is sent.
    await weir.events.emit(session, event, user_ids=[row.id],
                           close_sockets=model in (ev.UserDeactivatedEvent, ev.UserDeletedEvent))
