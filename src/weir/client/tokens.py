"""The user's token: the one given, or what ``token_loader`` returns, reloaded once it has expired."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

from weir.client.errors import VideoError

TokenLoader = Callable[[str], Awaitable[str]]
OnTokenUpdated = Callable[[str], Awaitable[None] | None]


class TokenManager:
    def __init__(self, user_id: Callable[[], str], token: str | None, loader: TokenLoader | None,
                 on_updated: OnTokenUpdated | None) -> None:
        self._user_id, self._token, self._loader, self._on_updated = user_id, token, loader, on_updated
        self._lock = asyncio.Lock()

    @property
    def can_refresh(self) -> bool:
        return self._loader is not None

    async def get(self) -> str:
        """The current token, loading the first one when only a ``token_loader`` was given."""
        if self._token is None:
            return await self.refresh(None)
        return self._token

    async def refresh(self, stale: str | None) -> str:
        """A new token to replace ``stale``; callers racing on the same stale token share one load."""
        async with self._lock:
            if self._token is not None and self._token != stale:
                return self._token
            if self._loader is None:
                raise VideoError("the token is missing or expired and no token_loader was given")
            await self.set(await self._loader(self._user_id()))
            assert self._token is not None
            return self._token

    async def set(self, token: str) -> None:
        """Adopt ``token`` (a loaded one, or a guest's) and tell ``on_token_updated``."""
        self._token = token
        if self._on_updated is not None:
            result = self._on_updated(token)
            if inspect.isawaitable(result):
                await result
