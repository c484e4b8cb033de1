"""Storage selection, and the durable upload queue against a real GCS server that is down at first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_postgres_database
from tests.storage.servers import GCSEmulator, LocalServer
from weir.domain.clock import now
from weir.protocol.external_storage import CreateExternalStorageRequest
from weir.sealing import Sealer
from weir.storage.base import ObjectStore
from weir.storage.external import merge_config, sealed_config
from weir.storage.gcs import GCSStore
from weir.storage.registry import StoreRegistry, UnknownStorage, select_storage
from weir.storage.uploads import Upload, UploadWorker, backoff, enqueue, pending_uploads
from weir.store.calltypes import seed_builtin_call_types
from weir.store.db import Database
from weir.store.tables import CallTypeRow, ExternalStorageRow

SEALER = Sealer(b"8kGMhEvLlb1F0xFE-8R1bNxWNOtQ2o6HW9oBcx5E0qM=")


def test_selection_order() -> None:
    assert select_storage("mine", "the-type's") == "mine"
    assert select_storage(None, "the-type's") == "the-type's"
    assert select_storage("", "the-type's") == "the-type's"
    assert select_storage(None, None) is None
    assert select_storage("stream-s3", "the-type's") is None, "the seed's built-in name is the default store"
    assert select_storage(None, "weir") is None


def test_backoff_grows_to_a_cap() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff(40) == backoff(10_000) == timedelta(minutes=5)


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    drop: Callable[[], None] | None = None
    url = f"sqlite+aiosqlite:///{tmp_path / 'weir.db'}"
    if request.param == "postgres":
        url, drop = await asyncio.to_thread(fresh_postgres_database)
    db = Database(url)
    await db.start()
    yield db
    await db.close()
    if drop is not None:
        await asyncio.to_thread(drop)


async def add_storage(db: Database, name: str, server: LocalServer) -> None:
    body = CreateExternalStorageRequest(name=name, **server.request())
    config = merge_config(body, None, allow_private=True)
    async with db.transaction() as session:
        session.add(ExternalStorageRow(name=name, type=body.storage_type, bucket=body.bucket, path="queue/",
                                       config=sealed_config(config, SEALER), created_at=now(), updated_at=now()))


def no_default() -> ObjectStore:
    raise AssertionError("the default store is not used here")


async def test_unknown_storage_is_an_error(database: Database) -> None:
    with pytest.raises(UnknownStorage):
        await StoreRegistry(database, SEALER, no_default).resolve("nowhere")


async def test_a_call_types_storage_is_used_unless_the_request_names_one(
        database: Database, storage_servers: dict[str, LocalServer]) -> None:
    await add_storage(database, "type-store", storage_servers["gcs"])
    async with database.transaction() as session:
        await seed_builtin_call_types(session)
        (await session.get(CallTypeRow, "livestream")).external_storage = "type-store"  # type: ignore[union-attr]
    default = storage_servers["gcs"].store(path="default/")
    registry = StoreRegistry(database, SEALER, lambda: default)
    name, store = await registry.for_call("livestream", None)
    assert name == "type-store" and isinstance(store, GCSStore) and store is not default
    assert await registry.for_call("livestream", "stream-s3") == ("weir", default)
    assert await registry.for_call("default", None) == ("weir", default)
    with pytest.raises(UnknownStorage):
        await registry.for_call("default", "deleted-store")


@pytest.fixture
def gcs_not_started(tmp_path: Path) -> Iterator[GCSEmulator]:
    server = GCSEmulator(tmp_path)
    yield server
    server.close()


async def test_upload_waits_for_an_unreachable_store_and_survives_a_restart(
        database: Database, gcs_not_started: GCSEmulator, tmp_path: Path) -> None:
    await add_storage(database, "archive", gcs_not_started)
    registry = StoreRegistry(database, SEALER, no_default)
    recording = tmp_path / "recording.webm"
    recording.write_bytes(b"webm" * 5000)
    upload_id = await enqueue(database, recording, "archive", "call/1/recording.webm", "video/webm")
    first = UploadWorker(database, registry.resolve, first_backoff=timedelta(milliseconds=200))
    assert await first.run_once() == 1
    [row] = await pending_uploads(database)
    assert row.id == upload_id and row.attempts == 1 and row.last_error and "gcs" in row.last_error
    assert recording.read_bytes() == b"webm" * 5000, "the file stays local while the store is away"
    gcs_not_started.start()

    # A new worker (as after a restart) finds the row and finishes the upload now that S3 is back.
    done: list[Upload] = []

    async def uploaded(upload: Upload) -> None:
        done.append(upload)

    second = UploadWorker(database, registry.resolve, on_uploaded=uploaded, poll_seconds=0.1,
                          first_backoff=timedelta(milliseconds=200))
    second.start()
    try:
        deadline = time.monotonic() + 60
        while await pending_uploads(database):
            assert time.monotonic() < deadline, "the upload never completed"
            await asyncio.sleep(0.1)
    finally:
        await second.stop()
    assert [u.id for u in done] == [upload_id]
    assert not recording.exists(), "the local copy goes once the store has it"
    store = await registry.resolve("archive")
    url = await store.signed_url("call/1/recording.webm", timedelta(minutes=1))
    assert "/queue/call/1/recording.webm" in url
    assert httpx.get(url, timeout=30).content == b"webm" * 5000
