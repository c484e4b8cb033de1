"""Tokens of the egress workers: the hidden participant's call token and the workers' internal channel token.

The participant token is a call token (HS256, API secret) for the user ``!egress`` with ``"egress": true``; the
coordinator joins its bearer as a hidden participant (never listed, counted or announced). Only whoever holds the
API secret can sign one: Weir itself, or the app's own server, which may do anything anyway.
"""

from __future__ import annotations

import time

import jwt

from weir.domain.tokens import LEEWAY_SECONDS, TokenClaims

EGRESS_USER_ID = "!egress"
WORKER_AUDIENCE = "weir-egress-worker"
WORKER_TOKEN_TTL_SECONDS = 60


def create_egress_token(secret: str, call_cid: str, egress_id: str, ttl_seconds: int = 6 * 3600) -> str:
    issued = int(time.time())
    claims = {"user_id": EGRESS_USER_ID, "call_cids": [call_cid], "egress": True, "egress_id": egress_id,
              "iat": issued - LEEWAY_SECONDS, "exp": issued + ttl_seconds}
    return jwt.encode(claims, secret, algorithm="HS256")


def is_egress(claims: TokenClaims) -> bool:
    return claims.user_id == EGRESS_USER_ID and claims.extra.get("egress") is True \
        and isinstance(claims.extra.get("egress_id"), str) and claims.call_cids is not None


def create_worker_token(secret: str) -> str:
    issued = int(time.time())
    return jwt.encode({"aud": WORKER_AUDIENCE, "iat": issued, "exp": issued + WORKER_TOKEN_TTL_SECONDS},
                      secret, algorithm="HS256")


def verify_worker_token(secret: str, token: str) -> bool:
    try:
        jwt.decode(token, secret, algorithms=["HS256"], audience=WORKER_AUDIENCE, leeway=LEEWAY_SECONDS)
    except jwt.PyJWTError:
        return False
    return True
