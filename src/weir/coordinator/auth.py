"""Who is calling: API key, JWT, user state and the rate limit, as FastAPI dependencies.

Every route declares its endpoint name (the one the rate-limit table uses) with ``caller(...)`` or
``server_caller(...)``.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request, Response
from starlette.requests import HTTPConnection

from weir.coordinator.revocation import check_not_revoked
from weir.coordinator.services import Services
from weir.domain.egress_tokens import is_egress
from weir.domain.tokens import TokenClaims, verify_token
from weir.logging_setup import bind_user
from weir.protocol.errors import APIError, ErrorCode
from weir.store.tables import UserRow
from weir.store.users import ensure_user, get_user

PLATFORM_HEADER = "X-Weir-Client"


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request."""

    claims: TokenClaims
    platform: str
    user_role: str | None = None

    @property
    def is_server(self) -> bool:
        return self.claims.is_server

    @property
    def is_anonymous(self) -> bool:
        return self.claims.is_anonymous

    @property
    def is_egress(self) -> bool:
        """A recording worker's hidden participant (``domain.egress_tokens``)."""
        return is_egress(self.claims)

    @property
    def user_id(self) -> str | None:
        return self.claims.user_id

    def require_call(self, cid: str) -> None:
        """Call tokens only work on the calls they name."""
        if not self.claims.allows_call(cid):
            raise APIError(ErrorCode.NOT_ALLOWED, f"this token is not valid for call {cid}")


def services(request: HTTPConnection) -> Services:
    weir: Services = request.app.state.weir
    return weir


def _bearer(request: HTTPConnection) -> str:
    header = request.headers.get("authorization", "").strip()
    if not header:
        raise APIError(ErrorCode.AUTH_FAILED, "missing Authorization header with a JWT")
    scheme, _, rest = header.partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest else header


def _platform(request: HTTPConnection, claims: TokenClaims) -> str:
    if claims.is_server:
        return "server"
    return _client_platform(request)


def _client_platform(request: HTTPConnection) -> str:
    client = request.headers.get(PLATFORM_HEADER, "").lower()
    for platform in ("android", "ios"):
        if platform in client:
            return platform
    return "web"


async def authenticate(request: HTTPConnection, token: str | None = None) -> Caller:
    """Check the API key and the JWT (from ``Authorization`` unless given) and load the user's state."""
    weir = services(request)
    _check_api_key(request)
    claims = verify_token(weir.api_secret, token if token is not None else _bearer(request))
    bind_user(claims.user_id)
    if claims.is_server or is_egress(claims):
        return Caller(claims, _platform(request, claims), claims.role)
    app_revoked = await weir.revocation.before(weir.db)
    if claims.is_anonymous:
        check_not_revoked(claims, app_revoked)
        return Caller(claims, _platform(request, claims), claims.role)
    assert claims.user_id is not None
    async with weir.db.read() as session:  # the common case reads; only a first-time user needs a write
        user = await get_user(session, claims.user_id)
    if user is None:
        async with weir.db.transaction() as session:
            user = await ensure_user(session, claims.user_id)
            # Inside the transaction: a refused token creates nothing (a hard-deleted user's old token).
            _check_user(user, claims, app_revoked)
    _check_user(user, claims, app_revoked)
    return Caller(claims, _platform(request, claims), user.role)


def _check_api_key(request: HTTPConnection) -> None:
    api_key = request.query_params.get("api_key") or request.headers.get("x-api-key")
    if not api_key:
        raise APIError(ErrorCode.API_KEY_NOT_FOUND, "api_key is missing (query parameter or X-Api-Key header)")
    if not hmac.compare_digest(api_key, services(request).api_key):
        raise APIError(ErrorCode.API_KEY_NOT_FOUND, "api_key not found")


def _check_user(user: UserRow, claims: TokenClaims, app_revoked: datetime | None) -> None:
    if user.deleted_at is not None:
        raise APIError(ErrorCode.AUTH_FAILED, "user was deleted")
    if user.deactivated_at is not None:
        raise APIError(ErrorCode.USER_DEACTIVATED, "user is deactivated")
    check_not_revoked(claims, user.revoke_tokens_issued_before, app_revoked)


def _client_key(request: HTTPConnection, caller: Caller | None) -> str | None:
    """Whose per-client limit a request counts against: the authenticated user (never a header the client
    chooses); without a user of its own (anonymous tokens, the API key alone), the client's address."""
    if caller is not None and caller.is_server:
        return None
    if caller is not None and not caller.is_anonymous and caller.user_id is not None:
        return caller.user_id
    return f"ip:{request.client.host if request.client else '-'}"


async def _rate_limit(
    request: HTTPConnection, endpoint: str, caller: Caller | None, platform: str
) -> dict[str, str]:
    """Count the request; a 429 when over a limit, else the X-RateLimit-* headers for the answer."""
    weir = services(request)
    if not weir.settings.rate_limits_enabled:
        return {}
    state = await weir.limiter.hit(endpoint, platform, _client_key(request, caller))
    headers = state.headers()
    if state.exceeded:
        raise APIError(ErrorCode.RATE_LIMITED, f"too many requests to {endpoint}, try again later", headers=headers)
    return headers


async def _count(request: Request, response: Response, endpoint: str, caller: Caller) -> None:
    response.headers.update(await _rate_limit(request, endpoint, caller, caller.platform))


async def admit_socket(ws: HTTPConnection, who: Caller, open_sockets: int) -> None:
    """A user's coordinator WebSocket connects count as ``VideoConnect`` requests, and a user keeps at most
    ``ws_max_connections_per_user`` sockets open at once."""
    await _rate_limit(ws, "VideoConnect", who, who.platform)
    limit = services(ws).settings.ws_max_connections_per_user
    if open_sockets >= limit:
        raise APIError(ErrorCode.RATE_LIMITED, f"at most {limit} open WebSockets per user: close one first")


def caller(endpoint: str) -> Callable[[Request, Response], Awaitable[Caller]]:
    """Dependency: any valid token (server, user, call or anonymous)."""

    async def dependency(request: Request, response: Response) -> Caller:
        who = await authenticate(request)
        await _count(request, response, endpoint, who)
        return who

    dependency.__name__ = f"caller_{endpoint}"
    return dependency


def api_key_holder(endpoint: str) -> Callable[[Request, Response], Awaitable[None]]:
    """Dependency: the API key alone (CreateGuest is how a client without a token gets one); no JWT is read."""

    async def dependency(request: Request, response: Response) -> None:
        _check_api_key(request)
        response.headers.update(await _rate_limit(request, endpoint, None, _client_platform(request)))

    dependency.__name__ = f"api_key_holder_{endpoint}"
    return dependency


def server_caller(endpoint: str) -> Callable[[Request, Response], Awaitable[Caller]]:
    """Dependency: server tokens only."""

    async def dependency(request: Request, response: Response) -> Caller:
        who = await authenticate(request)
        if not who.is_server:
            raise APIError(ErrorCode.NOT_ALLOWED, f"{endpoint} is a server-side endpoint: use a server token")
        await _count(request, response, endpoint, who)
        return who

    dependency.__name__ = f"server_caller_{endpoint}"
    return dependency


def user_caller(endpoint: str) -> Callable[[Request, Response], Awaitable[Caller]]:
    """Dependency: a server token or a (non-anonymous) user token."""

    async def dependency(request: Request, response: Response) -> Caller:
        who = await authenticate(request)
        if who.is_anonymous:
            raise APIError(ErrorCode.NOT_ALLOWED, f"anonymous users cannot call {endpoint}")
        await _count(request, response, endpoint, who)
        return who

    dependency.__name__ = f"user_caller_{endpoint}"
    return dependency


__all__ = ["Caller", "admit_socket", "api_key_holder", "caller", "server_caller", "user_caller", "services"]
