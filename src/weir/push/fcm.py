"""Firebase Cloud Messaging, HTTP v1 API.

Authentication is the OAuth 2.0 JWT-bearer grant: an RS256 JWT signed with the service account's private key is
exchanged at the account's ``token_uri`` for an access token, which is cached until shortly before it expires.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from weir.push.outcome import DELIVERED, Outcome, SendResult, http_failure

FCM_HOST = "https://fcm.googleapis.com"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600
REFRESH_MARGIN = 60  # seconds before expiry at which a cached access token is replaced


@dataclass(frozen=True)
class ServiceAccount:
    project_id: str
    client_email: str
    private_key: str  # PEM
    private_key_id: str
    token_uri: str


def parse_service_account(text: str) -> ServiceAccount:
    """The fields FCM needs from a service account key file; ``ValueError`` says what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise ValueError("is not a service account key file (type must be 'service_account')")
    missing = [k for k in ("project_id", "client_email", "private_key")
               if not data.get(k) or not isinstance(data[k], str)]
    if missing:
        raise ValueError(f"lacks {', '.join(missing)}")
    try:
        key = load_pem_private_key(data["private_key"].encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("has a private_key that is not an unencrypted PEM key") from None
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("has a private_key that is not an RSA key")
    token_uri = data.get("token_uri") or GOOGLE_TOKEN_URI
    if not isinstance(token_uri, str) or not token_uri.startswith(("https://", "http://")):
        raise ValueError("has a token_uri that is not an http(s) URL")
    return ServiceAccount(data["project_id"], data["client_email"], data["private_key"],
                          str(data.get("private_key_id") or ""), token_uri)


def _fcm_error(response: httpx.Response) -> tuple[str, str]:
    """(error code, message) from an FCM error body: the FcmError detail's ``errorCode``, else ``status``."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return "", response.text[:200]
    codes = [d.get("errorCode") for d in error.get("details") or [] if isinstance(d, dict) and d.get("errorCode")]
    return (str(codes[0]) if codes else str(error.get("status") or "")), str(error.get("message") or "")


class FcmClient:
    """Sends FCM v1 messages for one service account."""

    def __init__(self, account: ServiceAccount, http: httpx.AsyncClient, host: str = FCM_HOST,
                 clock: Callable[[], float] = time.time) -> None:
        self.account, self.http, self.clock = account, http, clock
        self.url = f"{host.rstrip('/')}/v1/projects/{account.project_id}/messages:send"
        self._token: str | None = None
        self._token_expires = 0.0
        self._granting = asyncio.Lock()  # concurrent sends share one grant

    def assertion(self) -> str:
        issued = int(self.clock())
        claims = {"iss": self.account.client_email, "scope": SCOPE, "aud": self.account.token_uri,
                  "iat": issued, "exp": issued + ASSERTION_LIFETIME}
        headers = {"kid": self.account.private_key_id} if self.account.private_key_id else None
        return jwt.encode(claims, self.account.private_key, algorithm="RS256", headers=headers)

    async def access_token(self) -> str:
        async with self._granting:
            if self._token is None or self.clock() >= self._token_expires - REFRESH_MARGIN:
                response = await self.http.post(self.account.token_uri,
                                                data={"grant_type": GRANT_TYPE, "assertion": self.assertion()})
                if response.status_code != 200:
                    raise TokenError(response.status_code, response.text[:200])
                body = response.json()
                self._token = str(body["access_token"])
                self._token_expires = self.clock() + float(body.get("expires_in", ASSERTION_LIFETIME))
            return self._token

    async def send(self, token: str, message: dict[str, Any]) -> SendResult:
        try:
            access = await self.access_token()
        except TokenError as exc:
            return http_failure(exc.status, f"firebase token grant refused ({exc.status}): {exc.detail}")
        response = await self.http.post(self.url, json={"message": {**message, "token": token}},
                                        headers={"Authorization": f"Bearer {access}"})
        if response.status_code == 200:
            return DELIVERED
        code, text = _fcm_error(response)
        detail = f"fcm {response.status_code} {code}: {text}".strip()
        if response.status_code == 404 or code == "UNREGISTERED":
            return SendResult(Outcome.UNREGISTERED, detail)
        if response.status_code == 401:
            self._token = None  # revoked or expired early: grant a new one on the retry
            return SendResult(Outcome.RETRY, detail)
        return http_failure(response.status_code, detail, response.headers.get("retry-after"))


class TokenError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status, self.detail = status, detail
