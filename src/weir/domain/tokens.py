"""HS256 JWTs signed with the API secret: user, call, server and anonymous tokens."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import jwt

from weir.protocol.errors import APIError, ErrorCode
from weir.protocol.limits import USER_ID_CHARACTERS

ANONYMOUS_USER_ID = "!anon"
# Clock skew tolerated between the token issuer and this server.
LEEWAY_SECONDS = 5


def create_token(
    secret: str,
    user_id: str | None = None,
    *,
    expiration: int | None = None,
    call_cids: list[str] | None = None,
    role: str | None = None,
    now: float | None = None,
) -> str:
    """A user token (``user_id``), a call token (plus ``call_cids``/``role``) or, with no user, a server token."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, object] = {}
    if user_id is not None:
        claims["user_id"] = user_id
        claims["iat"] = issued - LEEWAY_SECONDS
    if expiration is not None:
        claims["exp"] = issued + expiration
    if call_cids is not None:
        claims["call_cids"] = list(call_cids)
    if role is not None:
        claims["role"] = role
    return jwt.encode(claims, secret, algorithm="HS256")


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says about its bearer."""

    user_id: str | None
    issued_at: int | None = None
    call_cids: tuple[str, ...] | None = None
    role: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def is_server(self) -> bool:
        return self.user_id is None

    @property
    def is_anonymous(self) -> bool:
        return self.user_id == ANONYMOUS_USER_ID

    def allows_call(self, cid: str) -> bool:
        """Call tokens are scoped to their ``call_cids``; other tokens to every call."""
        return self.call_cids is None or cid in self.call_cids


def verify_token(secret: str, token: str, *, now: float | None = None) -> TokenClaims:
    """Check signature, ``exp`` and ``iat``; raise an ``APIError`` saying which failed."""
    current = time.time() if now is None else now
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise APIError(ErrorCode.TOKEN_SIGNATURE_INVALID, "token signature is invalid") from exc
    except jwt.PyJWTError as exc:
        raise APIError(ErrorCode.AUTH_FAILED, f"token is malformed: {exc}") from exc
    exp = claims.get("exp")
    if exp is not None:
        if not isinstance(exp, (int, float)):
            raise APIError(ErrorCode.AUTH_FAILED, "token exp must be a number")
        if exp < current - LEEWAY_SECONDS:
            raise APIError(ErrorCode.TOKEN_EXPIRED, "token has expired")
    iat = claims.get("iat")
    if iat is not None:
        if not isinstance(iat, (int, float)):
            raise APIError(ErrorCode.AUTH_FAILED, "token iat must be a number")
        if iat > current + LEEWAY_SECONDS:
            raise APIError(ErrorCode.TOKEN_NOT_VALID_YET, "token iat is in the future")
    user_id = claims.get("user_id")
    if user_id is not None and (not isinstance(user_id, str) or not re.fullmatch(USER_ID_CHARACTERS, user_id)):
        raise APIError(ErrorCode.AUTH_FAILED,
                       "token user_id must be 1 to 255 characters: letters, digits and @ _ - . !")
    cids = claims.get("call_cids")
    if cids is not None and (not isinstance(cids, list) or not all(isinstance(c, str) for c in cids)):
        raise APIError(ErrorCode.AUTH_FAILED, "token call_cids must be a list of strings")
    role = claims.get("role")
    if role is not None and not isinstance(role, str):
        raise APIError(ErrorCode.AUTH_FAILED, "token role must be a string")
    if user_id == ANONYMOUS_USER_ID and cids is None:
        raise APIError(ErrorCode.AUTH_FAILED, "anonymous tokens must name call_cids")
    known = {"user_id", "iat", "exp", "call_cids", "role"}
    return TokenClaims(
        user_id=user_id,
        issued_at=int(iat) if iat is not None else None,
        call_cids=tuple(cids) if cids is not None else None,
        role=role,
        extra={k: v for k, v in claims.items() if k not in known},
    )
