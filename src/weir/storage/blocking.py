"""What the external backends share: their clients block, so each call runs in a thread of a pool of their own
(a long upload never takes the threads the event loop's default executor lends to DNS lookups and the rest),
and whatever a client raises becomes a ``StorageError`` naming the backend."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from weir.storage.base import StorageError

T = TypeVar("T")
CONNECT_TIMEOUT = 5.0  # seconds: an unreachable store fails fast; the upload queue retries later
READ_TIMEOUT = 120.0
_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="weir-storage")


async def blocking(backend: str, call: Callable[[], T]) -> T:
    try:
        return await asyncio.get_running_loop().run_in_executor(_THREADS, call)
    except Exception as exc:
        raise StorageError(f"{backend}: {type(exc).__name__}: {exc}"[:500]) from exc


def prefix_of(path: str) -> str:
    """A configured path as a key prefix: no leading '/', one trailing '/' ("" for none)."""
    path = path.strip("/")
    return path + "/" if path else ""
