"""Weir's server-side Python SDK: ``Client`` (blocking) and ``AsyncClient`` (asyncio) over the REST API.

    from weir.server import Client

    client = Client()  # WEIR_API_KEY, WEIR_API_SECRET, WEIR_URL
    client.upsert_users({"id": "alice", "name": "Alice"})
    call = client.video.call("default", "standup")
    response = call.get_or_create(data={"created_by_id": "alice", "members": [{"user_id": "alice"}]})
    print(response.data.call.cid, response.rate_limit())
"""

from weir.server.client import AsyncClient, Client
from weir.server.response import RateLimit, WeirAPIError, WeirResponse
from weir.server.webhook import WebhookSignatureError, parse_webhook, verify_webhook_signature

__all__ = [
    "AsyncClient", "Client", "RateLimit", "WebhookSignatureError", "WeirAPIError", "WeirResponse", "parse_webhook",
    "verify_webhook_signature",
]
