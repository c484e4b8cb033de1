"""Apple Push Notification service over HTTP/2 with token-based (.p8 key) authentication.

The provider token is an ES256 JWT (``kid`` = key id, ``iss`` = team id, ``iat``); Apple rejects tokens older
than an hour and throttles fresher ones, so it is reused and renewed every 50 minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from weir.destinations import outbound_client
from weir.push.outcome import DELIVERED, Outcome, SendResult, http_failure

PRODUCTION_HOST = "https://api.push.apple.com"
SANDBOX_HOST = "https://api.sandbox.push.apple.com"
TOKEN_LIFETIME = 50 * 60
# Reasons that mean the device token will never work again.
DEAD_TOKEN_REASONS = {"Unregistered", "BadDeviceToken"}


def check_signing_key(pem: str) -> None:
    """Raise ``ValueError`` unless ``pem`` is an unencrypted P-256 private key (Apple's .p8 format)."""
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("is not an unencrypted PEM private key (.p8)") from None
    if not isinstance(key, EllipticCurvePrivateKey) or not isinstance(key.curve, SECP256R1):
        raise ValueError("is not a P-256 (ES256) key")


@dataclass(frozen=True)
class ApnsCredentials:
    key: str  # PEM
    key_id: str
    team_id: str
    topic: str  # the app's bundle id
    host: str


def http2_client(allow_private: bool, timeout: float = 10.0) -> httpx.AsyncClient:
    """HTTP/2 only: ALPN over https, prior knowledge (h2c) over http."""
    return outbound_client(allow_private, http1=False, http2=True, timeout=timeout)


class ApnsClient:
    """Sends APNs requests for one auth key and app."""

    def __init__(self, credentials: ApnsCredentials, http: httpx.AsyncClient,
                 clock: Callable[[], float] = time.time) -> None:
        self.credentials, self.http, self.clock = credentials, http, clock
        self._token: str | None = None
        self._issued_at = 0.0

    def provider_token(self) -> str:
        if self._token is None or self.clock() - self._issued_at >= TOKEN_LIFETIME:
            self._issued_at = self.clock()
            self._token = jwt.encode({"iss": self.credentials.team_id, "iat": int(self._issued_at)},
                                     self.credentials.key, algorithm="ES256",
                                     headers={"kid": self.credentials.key_id})
        return self._token

    async def send(self, token: str, request: dict[str, Any]) -> SendResult:
        """``request`` is what ``payload.apns_request`` built: push_type, priority, expiration and body."""
        voip = request["push_type"] == "voip"
        headers = {
            "authorization": f"bearer {self.provider_token()}",
            "apns-topic": self.credentials.topic + (".voip" if voip else ""),
            "apns-push-type": request["push_type"],
            "apns-priority": str(request["priority"]),
            "apns-expiration": str(request["expiration"]),
        }
        url = f"{self.credentials.host.rstrip('/')}/3/device/{quote(token, safe='')}"
        response = await self.http.post(url, json=request["body"], headers=headers)
        if response.status_code == 200:
            return DELIVERED
        reason = _reason(response)
        detail = f"apns {response.status_code} {reason}".strip()
        if response.status_code == 410 or reason in DEAD_TOKEN_REASONS:
            return SendResult(Outcome.UNREGISTERED, detail)
        if reason == "ExpiredProviderToken":
            self._token = None
            return SendResult(Outcome.RETRY, detail)
        return http_failure(response.status_code, detail, response.headers.get("retry-after"))


def _reason(response: httpx.Response) -> str:
    try:
        return str(response.json().get("reason") or "")
    except (ValueError, AttributeError):
        return ""
