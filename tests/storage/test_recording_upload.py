"""Recordings go to the external storage the start request names: the coordinator queues the worker's files for
upload, and ``call.recording_ready`` follows the upload with the external store's signed URL."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterator

import av
import httpx
import pytest

from tests.client.media_helpers import AV, MEDIA_WAIT
from tests.conftest import RunningServer
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import running_sfu
from tests.storage.servers import LocalServer
from weir.client import StreamVideo, StreamVideoOptions, User
from weir.protocol.events import CallRecordingReadyEvent
from weir.server import AsyncClient, WeirAPIError


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


async def test_an_individual_recording_reaches_the_named_s3_storage(
        server: RunningServer, storage_servers: dict[str, LocalServer], uid: Callable[[str], str]) -> None:
    moto = storage_servers["s3"]
    name = uid("rec-s3")
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", params={"api_key": server.api_key},
                                 headers={"Authorization": server.token(), "stream-auth-type": "jwt"}) as api:
        made = await api.post("/external_storage", json={"name": name, **moto.request()})
        assert made.status_code == 201, made.text
    user_id = uid("alice")
    alice = StreamVideo.create(server.api_key, user=User.regular(user_id), user_token=server.token(user_id),
                               options=StreamVideoOptions(coordinator_rpc_url=server.base_url))
    ready: list[CallRecordingReadyEvent] = []
    try:
        await alice.connect()
        call = alice.make_call("default", uid("rec"))
        await call.join(create=True, connect_options=AV)
        call.events.on(CallRecordingReadyEvent, ready.append)
        async with AsyncClient(server.api_key, server.api_secret, server.base_url) as weir:
            recording = weir.video.call("default", call.id)
            with pytest.raises(WeirAPIError, match="recording_external_storage") as unknown:
                await recording.start_recording("individual", recording_external_storage=uid("nowhere"))
            assert unknown.value.status_code == 400
            started = await recording.start_recording("individual", recording_external_storage=name)
            folder = server.data_dir / "egress" / started.data["egress_id"]
            await eventually(lambda: len(list(folder.glob("*"))) >= 2, MEDIA_WAIT, "the worker writing both tracks")
            await asyncio.sleep(2)
            await recording.stop_recording()
            await eventually(lambda: len(ready) >= 2, MEDIA_WAIT, "call.recording_ready after each upload")
        urls = [event.call_recording["url"] for event in ready]
        assert all(url.startswith(moto.url) for url in urls), urls  # moto's presigned URLs
        frames = [await frames_at(url) for url in urls]
        assert all(count > 10 for count in frames), frames
        listed = await call.list_recordings()
        assert sorted(r.filename for r in listed) == sorted(e.call_recording["filename"] for e in ready)
        assert all(r.url.startswith(moto.url) for r in listed)
        assert not folder.exists()  # the uploaded files left the coordinator's disk
    finally:
        await alice.disconnect()
