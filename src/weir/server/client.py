"""``Client`` and ``AsyncClient``: configuration, server-token auth and the HTTP transport.

Both take the same arguments; any left as None is read from ``WEIR_API_KEY``, ``WEIR_API_SECRET`` and
``WEIR_URL``, then (for the key and secret) from ``credentials.json`` in ``data_dir`` when one is given.
A request refused with 429 is retried, up to ``max_retries`` times, once its rate-limit window has reset.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from weir import __version__
from weir.domain.tokens import create_token
from weir.protocol.events import Event
from weir.server.operations import AppOperations, Operation, R
from weir.server.response import WeirResponse, parse, rate_limit
from weir.server.storage import StorageOperations
from weir.server.video import Video
from weir.server.webhook import verify_and_parse_webhook, verify_webhook_signature

DEFAULT_URL = "http://127.0.0.1:3030"
API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
# Bounds on the wait before retrying a 429, in seconds.
RETRY_WAIT_MIN = 0.05
RETRY_WAIT_MAX = 60.0
CLIENT_HEADER = f"weir-python-server/{__version__}"


@dataclass(frozen=True)
class Config:
    api_key: str
    api_secret: str
    base_url: str

    @classmethod
    def resolve(cls, api_key: str | None, api_secret: str | None, base_url: str | None,
                data_dir: str | Path | None) -> Config:
        """Arguments first, then ``WEIR_*`` variables, then the server's credentials file in ``data_dir``."""
        api_key = api_key or os.environ.get("WEIR_API_KEY")
        api_secret = api_secret or os.environ.get("WEIR_API_SECRET")
        if (not api_key or not api_secret) and data_dir is not None:
            path = Path(data_dir) / "credentials.json"
            if path.is_file():
                stored = json.loads(path.read_text())
                api_key = api_key or stored.get("api_key")
                api_secret = api_secret or stored.get("api_secret")
        if not api_key or not api_secret:
            where = "pass api_key/api_secret, set WEIR_API_KEY/WEIR_API_SECRET"
            if data_dir is not None:
                where += f", or start the server with data dir {data_dir}"
            raise ValueError(f"Weir credentials missing: {where}")
        url = (base_url or os.environ.get("WEIR_URL") or DEFAULT_URL).rstrip("/")
        return cls(api_key, api_secret, url)

    def http_options(self, timeout: float) -> dict[str, Any]:
        """What the httpx client needs: base URL, the API key, a server token, the client header."""
        return {
            "base_url": self.base_url + API_PREFIX,
            "params": {"api_key": self.api_key},
            "headers": {"Authorization": f"Bearer {create_token(self.api_secret)}", "X-Weir-Client": CLIENT_HEADER},
            "timeout": timeout,
        }


def _request_args(operation: Operation) -> dict[str, Any]:
    args: dict[str, Any] = {"method": operation.method, "url": operation.path, "params": operation.params}
    if operation.body is not None:
        args["json"] = operation.body
    return args


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait before retrying, or None when the answer is not a 429."""
    if response.status_code != 429:
        return None
    limit = rate_limit(response.headers)
    wait = limit.reset.timestamp() - time.time() if limit else 1.0
    return min(max(wait, RETRY_WAIT_MIN), RETRY_WAIT_MAX)


class _Base(AppOperations[R], StorageOperations[R]):
    """What both clients share: configuration, the operations, ``client.video`` and token signing."""

    def __init__(self, api_key: str | None = None, api_secret: str | None = None, base_url: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, *, data_dir: str | Path | None = None,
                 max_retries: int = DEFAULT_MAX_RETRIES, verify: ssl.SSLContext | str | bool = True) -> None:
        """``verify``: how to check an https server's certificate, as httpx takes it: an ``ssl.SSLContext``
        (e.g. ``ssl.create_default_context(cafile=...)`` for a private CA), a CA bundle path, or True/False."""
        config = Config.resolve(api_key, api_secret, base_url, data_dir)
        self.api_key = config.api_key
        self.base_url = config.base_url
        self.max_retries = max_retries
        self._secret = config.api_secret
        self._open({**config.http_options(timeout), "verify": verify})
        super().__init__(self._request)
        self.video: Video[R] = Video(self._request)

    def _open(self, options: dict[str, Any]) -> None:
        raise NotImplementedError

    def _request(self, operation: Operation) -> R:
        raise NotImplementedError

    def create_token(self, user_id: str, expiration: int | None = None, call_cids: Iterable[str] | None = None,
                     role: str | None = None) -> str:
        """A user token (signed locally, no request); ``expiration`` is in seconds."""
        return create_token(self._secret, user_id, expiration=expiration,
                            call_cids=None if call_cids is None else list(call_cids), role=role)

    def create_call_token(self, user_id: str, call_cids: Iterable[str], role: str | None = None,
                          expiration: int | None = None) -> str:
        """A token valid only for ``call_cids``, where its holder has call role ``role``."""
        return self.create_token(user_id, expiration=expiration, call_cids=call_cids, role=role)

    def verify_signature(self, body: bytes | str, signature: str) -> bool:
        """Whether a webhook's ``X-SIGNATURE`` matches its raw body (HMAC-SHA256 with the API secret)."""
        return verify_webhook_signature(body, signature, self._secret)

    def verify_and_parse_webhook(self, body: bytes | str, signature: str) -> Event:
        """The webhook's event, once its signature is checked (``WebhookSignatureError`` otherwise)."""
        return verify_and_parse_webhook(body, signature, self._secret)


class Client(_Base[WeirResponse]):
    """Blocking client: every operation returns a ``WeirResponse`` or raises ``WeirAPIError``."""

    def _open(self, options: dict[str, Any]) -> None:
        self._http = httpx.Client(**options)

    def _request(self, operation: Operation) -> WeirResponse:
        response = self._http.request(**_request_args(operation))
        for _ in range(self.max_retries):
            if (wait := _retry_after(response)) is None:
                break
            time.sleep(wait)
            response = self._http.request(**_request_args(operation))
        return parse(response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


class AsyncClient(_Base[Coroutine[Any, Any, WeirResponse]]):
    """Asyncio client: every operation returns an awaitable ``WeirResponse`` or raises ``WeirAPIError``."""

    def _open(self, options: dict[str, Any]) -> None:
        self._http = httpx.AsyncClient(**options)

    async def _request(self, operation: Operation) -> WeirResponse:
        response = await self._http.request(**_request_args(operation))
        for _ in range(self.max_retries):
            if (wait := _retry_after(response)) is None:
                break
            await asyncio.sleep(wait)
            response = await self._http.request(**_request_args(operation))
        return parse(response)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()
