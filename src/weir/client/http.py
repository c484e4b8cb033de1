"""REST calls to the coordinator: the API key, the user's token, one retry with a fresh token on expiry."""

from __future__ import annotations

import ssl
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from weir import __version__
from weir.client.tokens import TokenManager
from weir.protocol.errors import ErrorCode
from weir.server.response import parse

M = TypeVar("M", bound=BaseModel)
CLIENT_HEADER = f"weir-python-client/{__version__}"


def _expired(response: httpx.Response) -> bool:
    if response.status_code != 401:
        return False
    try:
        return bool(response.json().get("code") == ErrorCode.TOKEN_EXPIRED)
    except ValueError:
        return False


class CoordinatorApi:
    def __init__(self, base_url: str, api_key: str, tokens: TokenManager, timeout: float,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._tokens = tokens
        self._http = httpx.AsyncClient(base_url=base_url, params={"api_key": api_key}, timeout=timeout,
                                       headers={"X-Weir-Client": CLIENT_HEADER}, verify=ssl_context or True)

    async def request(self, method: str, path: str, model: type[M], *, json: Any = None,
                      params: dict[str, Any] | None = None, auth: bool = True) -> M:
        """Send, parse the answer into ``model``; raise ``WeirAPIError`` for a refusal."""
        token = await self._tokens.get() if auth else None
        response = await self._send(method, path, token, json, params)
        if token is not None and _expired(response) and self._tokens.can_refresh:
            token = await self._tokens.refresh(token)
            response = await self._send(method, path, token, json, params)
        parse(response)  # raises WeirAPIError unless 2xx
        return model.model_validate(response.json() if response.content else {})

    async def _send(self, method: str, path: str, token: str | None, json: Any,
                    params: dict[str, Any] | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return await self._http.request(method, path, json=json, params=query, headers=headers)

    async def aclose(self) -> None:
        await self._http.aclose()
