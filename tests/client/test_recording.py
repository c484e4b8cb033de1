"""Recording through a real worker process: individual recording of an aiortc publisher, files at signed URLs."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator

import av
import httpx
import pytest

from tests.client.media_helpers import AV, MEDIA_WAIT
from tests.conftest import RunningServer, assert_error
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import running_sfu

pytestmark = pytest.mark.usefixtures("loopback_ice")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-rec"), egress_workers=1,
                     egress_lease_seconds=3) as running:
        yield running


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIR_ICE_HOST_ADDRESSES", "127.0.0.1")


def http(server: RunningServer, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url + "/api/v1", params={"api_key": server.api_key},
                             headers={"Authorization": token}, timeout=20)


async def recordings(api: httpx.AsyncClient, cid: str) -> list[dict]:
    response = await api.get(f"/video/call/{cid.replace(':', '/')}/recordings")
    response.raise_for_status()
    return response.json()["recordings"]  # type: ignore[no-any-return]


async def test_individual_recording_gives_a_decodable_file_per_track(server: RunningServer, clients, uid) -> None:
    alice = await clients(uid("alice"))
    call = alice.make_call("default", uid("rec"))
    await call.join(create=True, connect_options=AV)
    cid = call.cid
    async with http(server, server.token()) as api:
        started = await api.post(f"/video/call/{cid.replace(':', '/')}/start_recording",
                                 json={"recording_type": "individual"})
        assert started.status_code == 201 or started.status_code == 200, started.text
        again = await api.post(f"/video/call/{cid.replace(':', '/')}/start_recording",
                               json={"recording_type": "individual"})
        assert_error(httpx.Response(again.status_code, content=again.content), 409)
        state = (await api.get(f"/video/call/{cid.replace(':', '/')}")).json()["call"]
        assert state["recording"] is True
        assert state["egress"]["individual_recording"]["status"] == "running"
        egress_dir = server.data_dir / "egress" / started.json()["egress_id"]
        await eventually(lambda: len(list(egress_dir.glob("*"))) >= 2, MEDIA_WAIT, "the worker writing both tracks")
        await asyncio.sleep(2)
        assert call.state.value.other_participants == ()  # the worker is hidden
        stopped = await api.post(f"/video/call/{cid.replace(':', '/')}/stop_recording")
        assert stopped.status_code == 200, stopped.text

        async def two_files() -> bool:
            return len(await recordings(api, cid)) == 2

        deadline = asyncio.get_running_loop().time() + MEDIA_WAIT
        while not await two_files():
            assert asyncio.get_running_loop().time() < deadline, "the recording files never arrived"
            await asyncio.sleep(0.3)
        files = await recordings(api, cid)
        kinds = set()
        for file in files:
            body = (await httpx.AsyncClient().get(file["url"])).content
            with av.open(io.BytesIO(body)) as container:
                stream = container.streams[0]
                kinds.add(stream.type)
                decoded = sum(1 for _ in container.decode(stream))
            assert decoded > 10, file["filename"]
        assert kinds == {"video", "audio"}
        tampered = (await httpx.AsyncClient().get(files[0]["url"].replace("signature=", "signature=0"))).status_code
        assert tampered == 403
        state = (await api.get(f"/video/call/{cid.replace(':', '/')}")).json()["call"]
        assert state["recording"] is False
