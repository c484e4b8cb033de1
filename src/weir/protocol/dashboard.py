"""The admin dashboard's own API: a short-lived server token for the signed-in operator, and the webhook outbox's
delivery log with test deliveries and retries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DASHBOARD_TOKEN_TTL_SECONDS = 3600
TEST_EVENT_TYPE = "app.test"
DeliveryStatus = Literal["pending", "delivered", "failed"]


class DashboardSessionRequest(BaseModel):
    """The API secret, sent once; without it the ``Authorization`` token must be an admin user's."""

    model_config = ConfigDict(extra="forbid")

    api_secret: str | None = Field(None, max_length=1024)


class DashboardSessionResponse(BaseModel):
    token: str = Field(description="A server token that expires after `expires_in` seconds")
    expires_in: int
    signed_in_as: str = Field(description="`api_secret`, or the admin user's id")


class WebhookDelivery(BaseModel):
    id: str = Field(description="The X-WEBHOOK-ID, the same on every attempt")
    endpoint_id: str
    url: str
    event_type: str
    status: DeliveryStatus
    attempts: int = Field(description="Attempts started so far, retries included")
    last_error: str | None
    created_at: datetime
    first_attempt_at: datetime | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When a pending delivery is due again")


class ListWebhookDeliveriesResponse(BaseModel):
    deliveries: list[WebhookDelivery]


class WebhookDeliveryResponse(BaseModel):
    delivery: WebhookDelivery
