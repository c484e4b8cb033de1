"""``X-SIGNATURE``: the hex HMAC-SHA256 of the raw request body, keyed with the API secret."""

from __future__ import annotations

import hashlib
import hmac


def sign(body: bytes, api_secret: str) -> str:
    return hmac.new(api_secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str, api_secret: str) -> bool:
    """True when ``signature`` is ``body``'s signature; compared in constant time."""
    return hmac.compare_digest(sign(body, api_secret).encode(), signature.strip().lower().encode())
