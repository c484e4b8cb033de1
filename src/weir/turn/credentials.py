"""Time-limited TURN credentials in coturn's REST API form (``use-auth-secret``).

The username is ``<expiry unix time>:<user id>`` and the password is ``base64(HMAC-SHA1(secret, username))``.
coturn recomputes the password from the secret it shares with the coordinator and refuses a username whose
expiry has passed, so a credential needs no database and stops working on its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from weir.protocol.sfu_edges import IceServer

SEPARATOR = ":"  # coturn's default rest-api-separator


def derive_turn_secret(api_secret: str) -> str:
    """The shared secret coturn is given when none is configured: bound to the API secret, never equal to it."""
    return hmac.new(api_secret.encode(), b"weir-turn-rest-secret", hashlib.sha256).hexdigest()


def rest_credentials(secret: str, user_id: str, ttl_seconds: int, now: float | None = None) -> tuple[str, str]:
    """(username, password) valid for ``ttl_seconds`` from ``now``."""
    expiry = int(now if now is not None else time.time()) + ttl_seconds
    username = f"{expiry}{SEPARATOR}{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def turn_urls(host: str, port: int) -> list[str]:
    """``turn:`` URLs over TCP and UDP. TCP comes first: aiortc uses only the first TURN URL, and a client that
    has UDP reaches the SFU directly, so the relay it most needs is the one that works without UDP."""
    bracketed = f"[{host}]" if ":" in host else host
    return [f"turn:{bracketed}:{port}?transport={transport}" for transport in ("tcp", "udp")]


def turn_ice_server(secret: str, host: str, port: int, user_id: str, ttl_seconds: int) -> IceServer:
    username, password = rest_credentials(secret, user_id, ttl_seconds)
    return IceServer(urls=turn_urls(host, port), username=username, password=password)
