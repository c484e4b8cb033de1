"""Recording through a real worker process: individual recording of an aiortc publisher, files at signed URLs."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import signal
import struct
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload
from aiortc.rtp import RtpPacket
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from tests.client.media_helpers import AV, MEDIA_WAIT
from tests.conftest import RunningServer, assert_error
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import running_sfu
from weir.client import Call, StreamVideo, WeirAPIError
from weir.egress.composite.quality import frame_size
from weir.server import AsyncClient
from weir.store.tables import EgressJobRow

pytestmark = pytest.mark.usefixtures("loopback_ice")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Its recording worker lacks composite's programs (it takes its environment at start-up): this module
    records tracks only, and a composite recording here fails (tests/egress records composites)."""
    with contextlib.ExitStack() as stack:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("PATH", str(Path(sys.executable).parent))
            env.delenv("WEIR_EGRESS_TOOLS", raising=False)
            env.delenv("WEIR_CHROMIUM", raising=False)
            running = stack.enter_context(running_sfu("sqlite", tmp_path_factory.mktemp("weir-rec"),
                                                      egress_workers=1, egress_lease_seconds=3))
        yield running


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIR_ICE_HOST_ADDRESSES", "127.0.0.1")


def http(server: RunningServer, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url + "/api/v1", params={"api_key": server.api_key},
                             headers={"Authorization": token}, timeout=20)


async def recordings(api: httpx.AsyncClient, cid: str) -> list[dict[str, Any]]:
    response = await api.get(f"/video/call/{cid.replace(':', '/')}/recordings")
    response.raise_for_status()
    return response.json()["recordings"]  # type: ignore[no-any-return]


Clients = Callable[..., Awaitable[StreamVideo]]


def path(cid: str) -> str:
    return "/video/call/" + cid.replace(":", "/")


async def files_of(api: httpx.AsyncClient, cid: str, count: int) -> list[dict[str, Any]]:
    """The call's recordings once there are ``count`` of them."""
    deadline = asyncio.get_running_loop().time() + MEDIA_WAIT
    while len(found := await recordings(api, cid)) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{count} recording files never arrived"
        await asyncio.sleep(0.3)
    return found


async def fetched(url: str) -> av.container.InputContainer:
    async with httpx.AsyncClient() as web:
        body = (await web.get(url)).content
    return av.open(io.BytesIO(body), "r")


async def decoded_frames(url: str) -> tuple[str, int]:
    """The kind of the file's one stream and how many frames PyAV decodes from it."""
    with await fetched(url) as container:
        stream = container.streams[0]
        return stream.type, len(list(container.decode(stream)))


async def video_frames(url: str, kind: str = "video") -> list[bytes]:
    """The file's frames (or audio packets) as stored."""
    with await fetched(url) as container:
        return [bytes(packet) for packet in container.demux(**{kind: 0}) if packet.size]


def read_raw(data: bytes) -> tuple[dict[str, Any], list[tuple[int, RtpPacket]]]:
    """Weir's raw recording format (docs/recording.md): a header line, then (length, arrival, RTP packet)."""
    assert data.startswith(b"WEIRRAW1\n")
    line_end = data.index(b"\n", 9)
    header, offset, packets = json.loads(data[9:line_end]), line_end + 1, []
    while offset < len(data):
        length, arrival = struct.unpack_from(">IQ", data, offset)
        packets.append((arrival, RtpPacket.parse(data[offset + 12:offset + 12 + length])))
        offset += 12 + length
    return header, packets


async def writing(directory: Path) -> None:
    """Until the worker writes both of the publisher's tracks, and a little more."""
    await eventually(lambda: len(list(directory.glob("*"))) >= 2, MEDIA_WAIT, "the worker writing both tracks")
    await asyncio.sleep(2)


async def publishing(clients: Clients, uid: Callable[[str], str]) -> Call:
    alice = await clients(uid("alice"))
    call = alice.make_call("default", uid("rec"))
    await call.join(create=True, connect_options=AV)
    return call


async def test_individual_recording_stores_each_track_as_sent(
    server: RunningServer, clients: Clients, uid: Callable[[str], str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: set[bytes] = set()  # every VP8 frame alice's encoders produce
    sent_audio: set[bytes] = set()  # and every Opus packet
    encode, encode_audio = Vp8Encoder.encode, OpusEncoder.encode

    def keep(self: Vp8Encoder, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        payloads, timestamp = encode(self, frame, force_keyframe)
        sent.add(b"".join(vp8_depayload(p) for p in payloads))
        return payloads, timestamp

    def keep_audio(self: OpusEncoder, frame: Any, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        payloads, timestamp = encode_audio(self, frame, force_keyframe)
        sent_audio.update(payloads)
        return payloads, timestamp

    monkeypatch.setattr(Vp8Encoder, "encode", keep)
    monkeypatch.setattr(OpusEncoder, "encode", keep_audio)
    call = await publishing(clients, uid)
    async with http(server, server.token()) as api:
        started = await api.post(path(call.cid) + "/start_recording", json={"recording_type": "individual"})
        assert started.status_code == 200, started.text
        assert_error(await api.post(path(call.cid) + "/start_recording", json={"recording_type": "individual"}),
                     409, 23)
        state = (await api.get(path(call.cid))).json()["call"]
        assert state["recording"] is True
        assert state["egress"]["individual_recording"]["status"] == "running"
        await writing(server.data_dir / "egress" / started.json()["egress_id"])
        assert call.state.value.other_participants == ()  # the worker is hidden
        assert call.subscriber_transceivers() == []  # and sends alice nothing
        assert call.state.value.is_recording
        await call.stop_recording()  # the client SDK (alice hosts the call)
        files = await files_of(api, call.cid, 2)
        assert [f.filename for f in await call.list_recordings()] == [f["filename"] for f in files]
        decoded = [await decoded_frames(f["url"]) for f in files]
        assert {kind for kind, _ in decoded} == {"video", "audio"}
        assert all(frames > 10 for _, frames in decoded), decoded
        (video,) = [f for f in files if f["filename"].endswith("_video.webm")]
        recorded = await video_frames(video["url"])
        assert len(recorded) > 10 and all(frame in sent for frame in recorded)  # remuxed, never re-encoded
        (audio,) = [f for f in files if f != video]
        recorded = await video_frames(audio["url"], "audio")
        assert len(recorded) > 10 and all(packet in sent_audio for packet in recorded)
        async with httpx.AsyncClient() as web:
            assert (await web.get(video["url"].replace("signature=", "signature=0"))).status_code == 403
        assert (await api.get(path(call.cid))).json()["call"]["recording"] is False
        await eventually(lambda: not call.state.value.recording, MEDIA_WAIT, "call.recording_stopped")
        await call.delete_recording(video["session_id"], video["filename"])
        assert [f.filename for f in await call.list_recordings()] == [f["filename"] for f in files if f != video]
        async with httpx.AsyncClient() as web:
            assert (await web.get(video["url"])).status_code == 404
        with pytest.raises(WeirAPIError, match="does not exist"):
            await call.delete_recording(video["session_id"], video["filename"])


async def test_a_killed_worker_fails_the_recording_and_keeps_a_playable_part(
    server: RunningServer, clients: Clients, uid: Callable[[str], str],
) -> None:
    call = await publishing(clients, uid)
    async with http(server, server.token()) as api, AsyncClient(server.api_key, server.api_secret,
                                                                 server.base_url) as weir:
        started = await weir.video.call("default", call.id).start_recording("individual")  # the server SDK
        await writing(server.data_dir / "egress" / started.data["egress_id"])
        assert call.state.value.is_recording
        (worker,) = server.app.state.egress.processes
        os.kill(worker.pid, signal.SIGKILL)
        files = await files_of(api, call.cid, 2)  # stored by the coordinator once the lease lapsed
        decoded = [await decoded_frames(f["url"]) for f in files]
        assert {kind for kind, _ in decoded} == {"video", "audio"}
        assert all(frames > 10 for _, frames in decoded), decoded  # cut off, but playable up to there
        await eventually(lambda: not call.state.value.is_recording, MEDIA_WAIT, "call.recording_failed")
        state = (await api.get(path(call.cid))).json()["call"]
        assert state["egress"]["individual_recording"]["status"] == "failed"
        assert state["recording"] is False
        assert call.state.value.status.is_active  # the call goes on


async def test_auto_on_raw_recording_from_the_first_join_until_the_last_leaves(
    server: RunningServer, clients: Clients, uid: Callable[[str], str],
) -> None:
    alice = await clients(uid("alice"))
    cid = f"default:{uid('auto')}"
    async with http(server, server.token()) as api:
        made = await api.post(path(cid), json={"data": {"created_by_id": alice.current_user.id, "settings_override": {
            "raw_recording": {"mode": "auto-on"}}}})
        assert made.status_code in (200, 201), made.text
        call = alice.make_call("default", cid.split(":")[1])
        jobs = server.data_dir / "egress"
        before = set(jobs.iterdir()) if jobs.is_dir() else set()
        await call.join(connect_options=AV)
        await eventually(lambda: call.state.value.is_recording, MEDIA_WAIT, "call.recording_started")
        await eventually(lambda: len(set(jobs.iterdir()) - before) == 1, MEDIA_WAIT, "the automatic job")
        (job,) = set(jobs.iterdir()) - before
        await writing(job)
        await call.leave()
        files = await files_of(api, cid, 2)
        assert {f["recording_type"] for f in files} == {"raw"}
        codecs: set[str] = set()
        for file in files:
            async with httpx.AsyncClient() as web:
                header, packets = read_raw((await web.get(file["url"])).content)
            (codec,) = [c for c in header["codecs"] if "rtx" not in c["mime_type"]]
            codecs.add(codec["mime_type"].lower())
            assert sum(1 for _, p in packets if p.payload_type == codec["payload_type"]) > 20
            assert [t for t, _ in packets] == sorted(t for t, _ in packets)  # arrival times, in order
        assert codecs == {"video/vp8", "audio/opus"}


async def test_refusals(server: RunningServer, clients: Clients, uid: Callable[[str], str]) -> None:
    cid = f"default:{uid('refused')}"
    async with http(server, server.token()) as api:
        await api.post(path(cid), json={"data": {"created_by_id": "owner", "settings_override": {
            "individual_recording": {"mode": "disabled"}}}})
        assert_error(await api.post(path(cid) + "/start_recording", json={"recording_type": "film"}), 400, 4)
        assert_error(await api.post(path(cid) + "/stop_recording"), 400, 4)
        assert_error(await api.delete(path(cid) + "/abc/recordings/nothing.webm"), 404, 16)
        assert_error(await api.post(path("default:" + uid("missing")) + "/start_recording"), 404, 16)
    async with http(server, server.token(uid("mallory"))) as user:
        refused = await user.post(path(cid) + "/start_recording", json={"recording_type": "individual"})
        assert_error(refused, 403, 17)
    async with http(server, server.token()) as api:
        assert (await recordings(api, cid)) == []
        assert (await api.get(path(cid))).json()["call"]["recording"] is False


async def test_composite_without_its_renderer_fails_cleanly(server: RunningServer, uid: Callable[[str], str]) -> None:
    cid = f"default:{uid('composite')}"
    async with http(server, server.token()) as api:
        await api.post(path(cid), json={"data": {"created_by_id": "owner"}})
        started = await api.post(path(cid) + "/start_recording")  # composite, the default type
        assert started.status_code == 200, started.text

        async def status() -> str:
            return str((await api.get(path(cid))).json()["call"]["egress"]["composite_recording"]["status"])

        deadline = asyncio.get_running_loop().time() + MEDIA_WAIT
        while await status() == "running":
            assert asyncio.get_running_loop().time() < deadline, "the composite job never ended"
            await asyncio.sleep(0.2)
        assert await status() == "failed"
        assert (await api.get(path(cid))).json()["call"]["recording"] is False
    engine = create_async_engine(server.database_url)
    async with engine.connect() as db:
        error = await db.scalar(select(EgressJobRow.error).where(EgressJobRow.call_cid == cid))
    await engine.dispose()
    assert "is missing: run scripts/" in str(error), error  # says what to install


def test_composite_frame_size_follows_the_quality() -> None:
    assert [frame_size(q) for q in ("360p", "480p", "720p", "1080p", "portrait-1080x1920")] == [
        (640, 360), (854, 480), (1280, 720), (1920, 1080), (1080, 1920)]
