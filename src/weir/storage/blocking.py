"""What the external backends share: their clients block, so each call runs in a thread, and whatever a client
raises becomes a ``StorageError`` naming the backend."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from weir.storage.base import StorageError

T = TypeVar("T")
CONNECT_TIMEOUT = 5.0  # seconds: an unreachable store fails fast; the upload queue retries later
READ_TIMEOUT = 120.0


async def blocking(backend: str, call: Callable[[], T]) -> T:
    try:
        return await asyncio.to_thread(call)
    except Exception as exc:
        raise StorageError(f"{backend}: {type(exc).__name__}: {exc}"[:500]) from exc


def prefix_of(path: str) -> str:
    """A configured path as a key prefix: no leading '/', one trailing '/' ("" for none)."""
    path = path.strip("/")
    return path + "/" if path else ""
