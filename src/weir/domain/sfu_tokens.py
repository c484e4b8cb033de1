"""SFU tokens: short-lived HS256 JWTs that the coordinator's join hands out and the SFU checks.

They carry ``aud: "weir-sfu"``: the coordinator refuses tokens with an audience, so an SFU token never works as
an API token, and the SFU refuses tokens without it, so an API token never joins a call on the SFU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from weir.domain.tokens import LEEWAY_SECONDS

SFU_AUDIENCE = "weir-sfu"
DEFAULT_TTL_SECONDS = 300


class SfuTokenError(ValueError):
    """The token is not a valid SFU token; ``expired`` tells an expired one from a forged or malformed one."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class SfuGrant:
    """What an SFU token allows: one user's one session in one call, with the capabilities they had at join."""

    call_cid: str
    user_id: str
    session_id: str
    role: str
    capabilities: frozenset[str]
    expires_at: int
    hidden: bool = False  # a recording worker: not listed, counted or announced to the others
    source: str = "webrtc"  # how the participant publishes: webrtc, whip, rtmp, srt (``participant_source``)


def create_sfu_token(
    secret: str, *, call_cid: str, user_id: str, session_id: str, role: str, capabilities: list[str],
    ttl_seconds: int = DEFAULT_TTL_SECONDS, now: float | None = None, hidden: bool = False, source: str = "webrtc",
) -> str:
    issued = int(time.time() if now is None else now)
    claims = {
        "aud": SFU_AUDIENCE, "call_cid": call_cid, "user_id": user_id, "session_id": session_id, "role": role,
        "capabilities": sorted(capabilities), "iat": issued, "exp": issued + ttl_seconds,
    }
    if hidden:
        claims["hidden"] = True
    if source != "webrtc":
        claims["source"] = source
    return jwt.encode(claims, secret, algorithm="HS256")


def _text(claims: dict[str, object], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise SfuTokenError(f"token {name} must be a non-empty string")
    return value


def verify_sfu_token(secret: str, token: str, *, now: float | None = None, allow_expired: bool = False) -> SfuGrant:
    """Check the signature, audience, claims and expiry (unless ``allow_expired``: a fast reconnect)."""
    current = time.time() if now is None else now
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=SFU_AUDIENCE,
                            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
    except jwt.PyJWTError as error:
        raise SfuTokenError(f"not a valid SFU token: {error}") from error
    exp = claims.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise SfuTokenError("token exp must be an integer")
    capabilities = claims.get("capabilities")
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        raise SfuTokenError("token capabilities must be a list of strings")
    grant = SfuGrant(
        call_cid=_text(claims, "call_cid"), user_id=_text(claims, "user_id"), session_id=_text(claims, "session_id"),
        role=_text(claims, "role"), capabilities=frozenset(capabilities), expires_at=exp,
        hidden=claims.get("hidden") is True, source=str(claims.get("source") or "webrtc"),
    )
    if not allow_expired and exp < current - LEEWAY_SECONDS:
        raise SfuTokenError("SFU token has expired: join the call again for a new one", expired=True)
    return grant
