"""Recordings go to the external storage the start request names: the coordinator queues the worker's files for
upload, and ``call.recording_ready`` follows the upload with the external store's signed URL."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import av
import httpx
import pytest

from tests.client.media_helpers import AV, MEDIA_WAIT
from tests.conftest import RunningServer
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import running_sfu
from tests.storage.servers import LocalServer
from weir.client import Call, StreamVideo, StreamVideoOptions, User
from weir.protocol.events import CallRecordingReadyEvent
from weir.server import AsyncClient, WeirAPIError
from weir.storage.uploads import pending_uploads
from weir.store.db import Database


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-rec-s3"), egress_workers=1,
                     allow_private_destinations=True) as running:  # moto listens on 127.0.0.1
        yield running


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIR_ICE_HOST_ADDRESSES", "127.0.0.1")


async def frames_at(url: str) -> int:
    async with httpx.AsyncClient() as web:
        response = await web.get(url)
    assert response.status_code == 200, response.text
    with av.open(io.BytesIO(response.content), "r") as container:
        return len(list(container.decode(container.streams[0])))


async def create_storage(server: RunningServer, request: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", params={"api_key": server.api_key},
                                 headers={"Authorization": server.token(), "stream-auth-type": "jwt"}) as api:
        made = await api.post("/external_storage", json=request)
        assert made.status_code == 201, made.text


@asynccontextmanager
async def publisher(server: RunningServer, user_id: str, call_id: str) -> AsyncIterator[Call]:
    alice = StreamVideo.create(server.api_key, user=User.regular(user_id), user_token=server.token(user_id),
                               options=StreamVideoOptions(coordinator_rpc_url=server.base_url))
    try:
        await alice.connect()
        call = alice.make_call("default", call_id)
        await call.join(create=True, connect_options=AV)
        yield call
    finally:
        await alice.disconnect()


async def record(server: RunningServer, call: Call, storage: str) -> Path:
    """An individual recording of ``call`` into ``storage``, a few seconds long; the worker's folder."""
    async with AsyncClient(server.api_key, server.api_secret, server.base_url) as weir:
        recording = weir.video.call("default", call.id)
        started = await recording.start_recording("individual", recording_external_storage=storage)
        folder: Path = server.data_dir / "egress" / started.data["egress_id"]
        await eventually(lambda: len(list(folder.glob("*"))) >= 2, MEDIA_WAIT, "the worker writing both tracks")
        await asyncio.sleep(2)
        await recording.stop_recording()
    return folder


async def test_an_individual_recording_reaches_the_named_s3_storage(
        server: RunningServer, storage_servers: dict[str, LocalServer], uid: Callable[[str], str]) -> None:
    moto = storage_servers["s3"]
    name = uid("rec-s3")
    await create_storage(server, {"name": name, **moto.request()})
    async with publisher(server, uid("alice"), uid("rec")) as call:
        ready: list[CallRecordingReadyEvent] = []
        call.events.on(CallRecordingReadyEvent, ready.append)
        async with AsyncClient(server.api_key, server.api_secret, server.base_url) as weir:
            with pytest.raises(WeirAPIError, match="recording_external_storage") as unknown:
                await weir.video.call("default", call.id).start_recording(
                    "individual", recording_external_storage=uid("nowhere"))
            assert unknown.value.status_code == 400
        folder = await record(server, call, name)
        await eventually(lambda: len(ready) >= 2, MEDIA_WAIT, "call.recording_ready after each upload")
        urls = [event.call_recording["url"] for event in ready]
        assert all(url.startswith(moto.url) for url in urls), urls  # moto's presigned URLs
        frames = [await frames_at(url) for url in urls]
        assert all(count > 10 for count in frames), frames
        listed = await call.list_recordings()
        assert sorted(r.filename for r in listed) == sorted(e.call_recording["filename"] for e in ready)
        assert all(r.url.startswith(moto.url) for r in listed)
        assert not folder.exists()  # the uploaded files left the coordinator's disk


async def test_deleting_a_recording_whose_upload_waits_drops_the_upload(
        server: RunningServer, uid: Callable[[str], str]) -> None:
    name = uid("rec-down")
    await create_storage(server, {"name": name, "storage_type": "s3", "bucket": "nowhere", "aws_s3": {
        "s3_region": "us-east-1", "s3_api_key": "k", "s3_secret": "s",
        "s3_custom_endpoint_url": "http://127.0.0.1:9"}})  # the discard port: every upload fails and waits
    async with publisher(server, uid("alice"), uid("rec")) as call:
        folder = await record(server, call, name)
        await eventually(lambda: bool(queued(server)), MEDIA_WAIT, "the uploads queued")
        listed = await call.list_recordings()
        assert len(listed) == 2 and all(folder.joinpath(r.filename).is_file() for r in listed)  # kept for the retry
        for recording in listed:
            await call.delete_recording(recording.session_id, recording.filename)
        assert queued(server) == []
        assert not any(folder.iterdir())


def queued(server: RunningServer) -> list[str]:
    """The local paths waiting in the upload queue."""
    async def read() -> list[str]:
        db = Database(server.database_url)
        try:
            return [row.local_path for row in await pending_uploads(db)]
        finally:
            await db.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its own event loop, beside the test's
        return pool.submit(asyncio.run, read()).result()
