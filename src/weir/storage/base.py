"""The one interface every storage backend implements; egress workers and the coordinator see only this."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Protocol

DEFAULT_STORAGE = "weir"  # the built-in store's name (registry.py; here so a light import finds it)


class StorageError(Exception):
    """A backend refused or could not be reached; the caller keeps its local file and retries later."""


class ObjectStore(Protocol):
    """A flat namespace of objects named by '/'-separated keys (e.g. `<call_type>/<call_id>/<session>/<file>`)."""

    async def put(self, key: str, source: Path, content_type: str) -> None:
        """Store the file at `source` under `key`, replacing any object already there."""

    async def signed_url(self, key: str, expires_in: timedelta) -> str:
        """A URL anyone holding it can GET the object from until it expires."""

    async def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under `key`."""
