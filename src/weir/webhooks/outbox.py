"""The event outbox: delivery rows written with each event, claimed by the worker with a lease.

A row is due when it is pending and its ``next_attempt_at`` has passed. Claiming it sets ``next_attempt_at`` to
the end of a lease that outlasts a whole delivery (all attempts), so another worker takes it over only if this
one died. ``id`` is the ``X-WEBHOOK-ID`` and never changes; ``attempts`` counts every attempt ever started.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from weir.bus import DurableSink
from weir.domain.clock import now
from weir.store.db import after_commit
from weir.store.tables import WebhookDeliveryRow
from weir.webhooks.config import read_hooks

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
ERROR_MAX_CHARS = 1000


def encode(event: dict[str, Any]) -> str:
    """The body as sent and signed: compact JSON."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def make_sink(wake: Callable[[], Awaitable[None]]) -> DurableSink:
    """The event sink: one pending row per enabled endpoint that wants the event; ``wake`` runs after commit."""

    async def sink(session: AsyncSession, event: dict[str, Any]) -> None:
        event_type = str(event.get("type", ""))
        hooks = [hook for hook in await read_hooks(session) if hook.wants(event_type)]
        if not hooks:
            return
        body, stamp = encode(event), now()
        session.add_all(
            WebhookDeliveryRow(
                id=uuid.uuid4().hex, endpoint_id=hook.id, url=hook.destination, event_type=event_type, body=body,
                status=PENDING, attempts=0, next_attempt_at=stamp, created_at=stamp,
            )
            for hook in hooks
        )
        after_commit(session, wake)

    return sink


async def claim_due(
    session: AsyncSession, *, slots: int, in_flight: Mapping[str, int], per_endpoint: int, lease_until: datetime,
) -> list[WebhookDeliveryRow]:
    """Up to ``slots`` due rows, at most ``per_endpoint`` in flight per endpoint, leased until ``lease_until``.

    On PostgreSQL the rows are locked with SKIP LOCKED, so several coordinator processes never claim one row twice.
    """
    busy = [endpoint for endpoint, count in in_flight.items() if count >= per_endpoint]
    query = (
        select(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.status == PENDING, WebhookDeliveryRow.next_attempt_at <= now())
        .order_by(WebhookDeliveryRow.next_attempt_at)
        .limit(slots * per_endpoint)
    )
    if busy:
        query = query.where(WebhookDeliveryRow.endpoint_id.not_in(busy))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    room = dict(in_flight)
    claimed: list[WebhookDeliveryRow] = []
    for row in await session.scalars(query):
        if len(claimed) == slots:
            break
        if room.get(row.endpoint_id, 0) < per_endpoint:
            room[row.endpoint_id] = room.get(row.endpoint_id, 0) + 1
            row.next_attempt_at = lease_until
            claimed.append(row)
    return claimed


async def begin_attempt(session: AsyncSession, delivery_id: str, attempt: int, previous_error: str | None) -> None:
    """Record that attempt number ``attempt`` starts (before sending, so a crash cannot reuse the number)."""
    values: dict[str, object] = {"attempts": attempt, "last_error": _clip(previous_error)}
    if attempt == 1:
        values["first_attempt_at"] = now()
    await session.execute(update(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id).values(**values))


async def finish(session: AsyncSession, delivery_id: str, error: str | None) -> None:
    """Delivered (``error`` None) or failed for good."""
    stamp = now()
    values: dict[str, object] = {"status": FAILED if error else DELIVERED, "last_error": _clip(error)}
    if error is None:
        values["delivered_at"] = stamp
    await session.execute(
        update(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.id == delivery_id, WebhookDeliveryRow.status == PENDING)
        .values(**values)
    )


async def postpone(session: AsyncSession, delivery_id: str, until: datetime, error: str) -> None:
    """Still pending, due again at ``until`` (a queue destination that could not be reached)."""
    await session.execute(
        update(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.id == delivery_id, WebhookDeliveryRow.status == PENDING)
        .values(next_attempt_at=until, last_error=_clip(error))
    )


async def release(session: AsyncSession, delivery_ids: Iterable[str] | None = None) -> None:
    """End the leases of these pending rows (all pending rows when None): they are due again at once."""
    query = update(WebhookDeliveryRow).where(WebhookDeliveryRow.status == PENDING)
    if delivery_ids is not None:
        query = query.where(WebhookDeliveryRow.id.in_(list(delivery_ids)))
    await session.execute(query.values(next_attempt_at=now()))


def _clip(error: str | None) -> str | None:
    return None if error is None else error[:ERROR_MAX_CHARS]
