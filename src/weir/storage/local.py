"""``LocalStore``: Weir's own storage, a folder in the data dir whose files Weir serves at signed, expiring URLs.

A URL is ``<base>/api/v1/storage/local/<key>?expires=<unix time>&signature=<hex>``; the signature is an HMAC of
the key and expiry with a key derived from the API secret, so nothing is stored per URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from weir.storage.base import StorageError

URL_PATH = "/api/v1/storage/local/"


def _signing_key(secret: str) -> bytes:
    return hashlib.sha256(b"weir-local-storage:" + secret.encode()).digest()


def signature(secret: str, key: str, expires: int) -> str:
    return hmac.new(_signing_key(secret), f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()


def valid_signature(secret: str, key: str, expires: int, given: str, now: float | None = None) -> bool:
    current = time.time() if now is None else now
    expected = signature(secret, key, expires).encode()
    return expires >= current and hmac.compare_digest(expected, given.encode("utf-8", "replace"))


class LocalStore:
    """Objects are files under ``root``; keys are checked so none leaves it."""

    def __init__(self, root: Path, base_url: str, secret: str) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")
        self.secret = secret

    def path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in parts):
            raise StorageError(f"invalid object key {key!r}")
        return self.root.joinpath(*parts)

    async def put(self, key: str, source: Path, content_type: str) -> None:
        target = self.path(key)

        def copy() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            shutil.copyfile(source, partial)
            os.replace(partial, target)  # readers never see half a file

        try:
            await asyncio.to_thread(copy)
        except OSError as error:
            raise StorageError(f"could not store {key}: {error}") from error

    async def signed_url(self, key: str, expires_in: timedelta) -> str:
        self.path(key)
        expires = int(time.time() + expires_in.total_seconds())
        return (f"{self.base_url}{URL_PATH}{quote(key)}?expires={expires}"
                f"&signature={signature(self.secret, key, expires)}")

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)
