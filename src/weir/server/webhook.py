"""Receiving Weir webhooks: check ``X-SIGNATURE`` and parse the event.

    from weir.server.webhook import verify_and_parse_webhook

    event = verify_and_parse_webhook(raw_body, request.headers["X-SIGNATURE"], api_secret)
    if event.type == "call.ended": ...

Verify the raw bytes as received, before any JSON decoding. ``X-WEBHOOK-ID`` stays the same across retries:
use it to drop repeats.
"""

from __future__ import annotations

import json

from weir.protocol.events import EVENT_MODELS, Event
from weir.webhooks.signature import verify


class WebhookSignatureError(ValueError):
    """The body does not carry a valid signature for this API secret."""


def verify_webhook_signature(body: bytes | str, signature: str, api_secret: str) -> bool:
    """True when ``signature`` is the hex HMAC-SHA256 of ``body`` keyed with ``api_secret``."""
    return verify(body.encode() if isinstance(body, str) else body, signature, api_secret)


def parse_webhook(body: bytes | str) -> Event:
    """The event as its typed model; unknown types (newer servers) parse as a plain ``Event``, extra fields kept."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("a webhook body is a JSON object")
    return EVENT_MODELS.get(str(data.get("type")), Event).model_validate(data)


def verify_and_parse_webhook(body: bytes | str, signature: str, api_secret: str) -> Event:
    """``parse_webhook`` after ``verify_webhook_signature``; raises ``WebhookSignatureError`` on a bad signature."""
    if not verify_webhook_signature(body, signature, api_secret):
        raise WebhookSignatureError("invalid webhook signature")
    return parse_webhook(body)
