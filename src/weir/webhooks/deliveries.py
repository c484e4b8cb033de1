"""The outbox as its delivery log: recent rows, a test event to one endpoint, and a failed row sent again.

A test delivery is an ordinary outbox row, so it takes the same worker, signature and retry policy as real
events; a retried row keeps its id (``X-WEBHOOK-ID``) and its attempt count goes on from where it stopped.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.domain.clock import now
from weir.protocol.app_settings import EventHook
from weir.protocol.dashboard import TEST_EVENT_TYPE, DeliveryStatus
from weir.store.tables import WebhookDeliveryRow
from weir.webhooks.outbox import FAILED, PENDING, encode


async def recent(session: AsyncSession, *, endpoint_id: str | None, status: DeliveryStatus | None,
                 limit: int) -> list[WebhookDeliveryRow]:
    """Newest first."""
    query = select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.created_at.desc(), WebhookDeliveryRow.id)
    if endpoint_id is not None:
        query = query.where(WebhookDeliveryRow.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookDeliveryRow.status == status)
    return list(await session.scalars(query.limit(limit)))


def enqueue_test(session: AsyncSession, hook: EventHook) -> WebhookDeliveryRow:
    """An ``app.test`` event for this endpoint alone, whatever its event filter."""
    stamp = now()
    row_id = uuid.uuid4().hex
    event = {"type": TEST_EVENT_TYPE, "created_at": stamp.isoformat(), "endpoint_id": hook.id, "test_id": row_id}
    row = WebhookDeliveryRow(
        id=row_id, endpoint_id=hook.id, url=hook.destination, event_type=TEST_EVENT_TYPE, body=encode(event),
        status=PENDING, attempts=0, next_attempt_at=stamp, created_at=stamp,
    )
    session.add(row)
    return row


def retry(row: WebhookDeliveryRow) -> bool:
    """A failed row becomes due again at once; False when it is not failed."""
    if row.status != FAILED:
        return False
    row.status, row.next_attempt_at = PENDING, now()
    return True
