"""Each external backend against its real local server: put, exists, a signed URL fetched over HTTP, delete."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.storage.servers import LocalServer
from weir.storage.base import StorageError


async def test_put_signed_url_exists_delete(storage_server: LocalServer, tmp_path: Path) -> None:
    store = storage_server.store(path="recordings/")
    source = tmp_path / "clip.mp4"
    payload = uuid.uuid4().bytes * 1000
    source.write_bytes(payload)
    key = f"default/{uuid.uuid4().hex}/clip.mp4"
    assert not await store.exists(key)

    await store.put(key, source, "video/mp4")
    assert await store.exists(key)
    url = await store.signed_url(key, timedelta(minutes=5))
    assert "/recordings/" + key in httpx.URL(url).path
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200 and response.content == payload

    await store.delete(key)
    assert not await store.exists(key)
    await store.delete(key)  # a missing key is no error


async def test_unreachable_store_raises_storage_error(storage_server: LocalServer, tmp_path: Path) -> None:
    source = tmp_path / "f.txt"
    source.write_text("x")
    store = storage_server.store(url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(StorageError):
        await store.put("k.txt", source, "text/plain")
