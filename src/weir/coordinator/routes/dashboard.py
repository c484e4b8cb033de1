"""Routes of the admin dashboard (``/dashboard`` in the browser app): sign-in, and the webhook delivery log.

Sign-in exchanges the API secret, or an admin user's token, for a server token that lasts an hour, so the
browser never keeps the secret (docs/decisions.md, "The admin dashboard")."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from weir.coordinator.auth import Caller, api_key_holder, authenticate, server_caller, services
from weir.domain.tokens import create_token
from weir.protocol.dashboard import (
    DASHBOARD_TOKEN_TTL_SECONDS,
    DashboardSessionRequest,
    DashboardSessionResponse,
    DeliveryStatus,
    ListWebhookDeliveriesResponse,
    WebhookDelivery,
    WebhookDeliveryResponse,
)
from weir.protocol.errors import APIError, ErrorCode, input_error, not_found
from weir.store.tables import WebhookDeliveryRow
from weir.webhooks import deliveries
from weir.webhooks.config import read_hooks
from weir.webhooks.outbox import PENDING

router = APIRouter(tags=["dashboard"])
ADMIN_ROLE = "admin"
MAX_DELIVERIES = 100


@router.post("/dashboard/session", response_model=DashboardSessionResponse,
             summary="Sign in to the dashboard: the API secret, or an admin user's token, for a short server token")
async def dashboard_session(
    request: Request, response: Response, body: DashboardSessionRequest,
    _: None = Depends(api_key_holder("DashboardSession")),
) -> DashboardSessionResponse:
    weir = services(request)
    if body.api_secret is not None:
        if not hmac.compare_digest(body.api_secret.encode(), weir.api_secret.encode()):
            raise APIError(ErrorCode.AUTH_FAILED, "api_secret is wrong")
        who = "api_secret"
    else:
        caller = await authenticate(request)
        if caller.is_server or caller.user_id is None or caller.is_anonymous or caller.user_role != ADMIN_ROLE:
            raise APIError(ErrorCode.NOT_ALLOWED, "send api_secret, or sign in as a user with the admin role")
        who = caller.user_id
    token = create_token(weir.api_secret, None, expiration=DASHBOARD_TOKEN_TTL_SECONDS)
    response.headers["cache-control"] = "no-store"
    return DashboardSessionResponse(token=token, expires_in=DASHBOARD_TOKEN_TTL_SECONDS, signed_in_as=who)


def _delivery(row: WebhookDeliveryRow) -> WebhookDelivery:
    pending = row.status == PENDING
    return WebhookDelivery.model_validate(
        {**{name: getattr(row, name) for name in WebhookDelivery.model_fields},
         "next_attempt_at": row.next_attempt_at if pending else None}
    )


@router.get("/app/webhook_deliveries", response_model=ListWebhookDeliveriesResponse,
            summary="The event outbox, newest first: each delivery's status, attempts and last error")
async def list_webhook_deliveries(
    request: Request,
    endpoint_id: Annotated[str | None, Query(max_length=64)] = None,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_DELIVERIES)] = 25,
    _: Caller = Depends(server_caller("ListWebhookDeliveries")),
) -> ListWebhookDeliveriesResponse:
    async with services(request).db.read() as session:
        rows = await deliveries.recent(session, endpoint_id=endpoint_id, status=status, limit=limit)
    return ListWebhookDeliveriesResponse(deliveries=[_delivery(row) for row in rows])


@router.post("/app/event_hooks/{endpoint_id}/test", response_model=WebhookDeliveryResponse, status_code=201,
             summary="Send an app.test event to one event destination, through the outbox")
async def test_event_hook(
    request: Request, endpoint_id: str, _: Caller = Depends(server_caller("TestEventHook")),
) -> WebhookDeliveryResponse:
    async with services(request).db.transaction() as session:
        hook = next((hook for hook in await read_hooks(session) if hook.id == endpoint_id), None)
        if hook is None:
            raise not_found(f"event hook {endpoint_id}")
        if not hook.enabled:
            raise input_error("endpoint_id", "this event hook is disabled: enable it first")
        row = deliveries.enqueue_test(session, hook)
        await session.flush()
        return WebhookDeliveryResponse(delivery=_delivery(row))


@router.post("/app/webhook_deliveries/{delivery_id}/retry", response_model=WebhookDeliveryResponse,
             summary="Send a failed delivery again (same X-WEBHOOK-ID; attempts count on)")
async def retry_webhook_delivery(
    request: Request, delivery_id: str, _: Caller = Depends(server_caller("RetryWebhookDelivery")),
) -> WebhookDeliveryResponse:
    async with services(request).db.transaction() as session:
        row = await session.get(WebhookDeliveryRow, delivery_id, with_for_update=True)
        if row is None:
            raise not_found(f"webhook delivery {delivery_id}")
        if not deliveries.retry(row):
            raise input_error("delivery_id", f"only a failed delivery can be retried (this one is {row.status})")
        await session.flush()
        return WebhookDeliveryResponse(delivery=_delivery(row))
