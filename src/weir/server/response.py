"""What every SDK call returns (``WeirResponse``) or raises (``WeirAPIError``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx


class Data(dict[str, Any]):
    """A JSON object whose keys also read as attributes: ``response.data.call.cid``.

    Keys named like a dict method (``items``, ``keys``…) are read with ``data["items"]``.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _wrap(value: Any) -> Any:
    if isinstance(value, dict):
        return Data({k: _wrap(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


@dataclass(frozen=True)
class RateLimit:
    """The ``X-RateLimit-*`` headers of one response."""

    limit: int
    remaining: int
    reset: datetime


def rate_limit(headers: httpx.Headers) -> RateLimit | None:
    """The rate-limit headers, or None when the server sent none (rate limiting off)."""
    try:
        limit, remaining, reset = (int(headers[f"X-RateLimit-{name}"]) for name in ("Limit", "Remaining", "Reset"))
    except (KeyError, ValueError):
        return None
    return RateLimit(limit, remaining, datetime.fromtimestamp(reset, tz=UTC))


class WeirResponse:
    """A successful answer: ``.data`` (the JSON body), ``.status_code``, ``.headers`` and ``.rate_limit()``."""

    def __init__(self, status_code: int, headers: httpx.Headers, data: dict[str, Any]) -> None:
        self.status_code = status_code
        self.headers = headers
        self.data: Data = _wrap(data)

    def rate_limit(self) -> RateLimit | None:
        return rate_limit(self.headers)

    def __repr__(self) -> str:
        return f"WeirResponse(status_code={self.status_code}, data={dict(self.data)!r})"


class WeirAPIError(Exception):
    """A non-2xx answer: Weir's error body as ``.code``, ``.message``, ``.body``, plus ``.status_code``."""

    def __init__(self, status_code: int, headers: httpx.Headers, body: dict[str, Any]) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body
        code = body.get("code")
        self.code: int | None = code if isinstance(code, int) else None
        self.message: str = str(body.get("message") or f"HTTP {status_code}")
        super().__init__(f"{self.message} (status {status_code}, code {self.code})")

    @property
    def exception_fields(self) -> dict[str, str]:
        """Which request fields were wrong, for a 400."""
        fields = self.body.get("exception_fields")
        return fields if isinstance(fields, dict) else {}

    def rate_limit(self) -> RateLimit | None:
        return rate_limit(self.headers)


def parse(response: httpx.Response) -> WeirResponse:
    """Turn an HTTP answer into a ``WeirResponse``, raising ``WeirAPIError`` unless it is 2xx."""
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {"message": response.text}
    if not isinstance(body, dict):
        body = {"message": response.text}
    if not response.is_success:
        raise WeirAPIError(response.status_code, response.headers, body)
    return WeirResponse(response.status_code, response.headers, body)
