"""RTMP and SRT ingress through ``weir serve``'s ingress worker: ffmpeg publishes H.264/AAC with a user token as
the stream key (at the end of SRT's stream id), a Weir SDK subscriber decodes both tracks, and the H.264 arrives
as ffmpeg encoded it; bad keys, garbage and a frozen encoder are refused or ended."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiortc.codecs.h264 import H264PayloadDescriptor
from aiortc.rtp import RtpPacket

from tests.client.media_helpers import MEDIA_WAIT
from tests.conftest import RunningServer
from tests.ingress.conftest import FFMPEG, encoded_source, publish_args, run
from tests.sfu.rtc_peers import eventually
from weir.client import Call, StreamVideo
from weir.protocol.events import Event, IngressErrorEvent, IngressStartedEvent, IngressStoppedEvent

pytestmark = [pytest.mark.usefixtures("loopback_ice"),
              pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is installed by scripts/egress-tools.sh")]
Clients = Callable[..., Awaitable[StreamVideo]]


def nal_units(stream: bytes) -> list[bytes]:
    """The NAL units of an H.264 byte stream (start codes 00 00 01 / 00 00 00 01)."""
    units = []
    for part in stream.split(b"\x00\x00\x01"):
        unit = part[:-1] if part.endswith(b"\x00") else part
        if unit:
            units.append(unit)
    return units


def tap_video(call: Call, packets: list[RtpPacket]) -> None:
    """Keep every H.264 RTP packet the subscriber receives, before aiortc decodes it."""
    for transceiver in call.subscriber_transceivers():
        receiver = transceiver.receiver
        if transceiver.kind != "video" or getattr(receiver, "tapped", False):
            continue
        original = receiver._handle_rtp_packet

        async def tapped(packet: RtpPacket, arrival_time_ms: int, original: Any = original) -> None:
            packets.append(packet)
            await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = tapped
        receiver.tapped = True


def received_stream(packets: list[RtpPacket]) -> bytes:
    """The H.264 byte stream the packets carry, in sequence order (loopback: nothing lost)."""
    ordered = sorted({p.sequence_number: p for p in packets}.values(), key=lambda p: p.sequence_number)
    return b"".join(H264PayloadDescriptor.parse(p.payload)[1] for p in ordered if p.payload)


async def ingress_events(call: Call) -> list[Event]:
    seen: list[Event] = []
    for kind in (IngressStartedEvent, IngressStoppedEvent, IngressErrorEvent):
        call.events.on(kind, seen.append)
    return seen


async def stream_through(protocol: str, server: RunningServer, clients: Clients, uid: Callable[[str], str],
                         tmp_path: Path) -> list[Event]:
    """ffmpeg publishes over ``protocol`` to the address the call gives; a viewer decodes video and audio, and
    every H.264 slice it receives is byte for byte one that ffmpeg encoded. The ingress events seen."""
    viewer_id, host_id = uid("viewer"), uid("host")
    viewer = await clients(viewer_id)
    call = viewer.make_call("default", uid("show"))
    await call.get_or_create()
    seen = await ingress_events(call)
    address = (await call.get()).call.ingress.model_dump()[protocol]["address"]
    assert address.startswith(f"{protocol}://127.0.0.1:") and f"default/{call.id}" in address
    if protocol == "rtmp":
        assert call.state.value.rtmp_ingress == address
    await call.join()

    flv, sent = await encoded_source(tmp_path, 4)
    key = server.token(host_id)
    url, muxer = (f"{address}/{key}", "flv") if protocol == "rtmp" else (address + key, "mpegts")
    publishing = asyncio.ensure_future(run(*publish_args(flv, url, muxer)))
    packets: list[RtpPacket] = []

    def publisher() -> Any:
        return next((p for p in call.state.value.other_participants if p.user_id == host_id), None)

    await eventually(lambda: publisher() is not None and publisher().participant_source == protocol,
                     MEDIA_WAIT, f"the publisher joining with source {protocol}")
    await eventually(lambda: bool(call.subscriber_transceivers()), MEDIA_WAIT, "a subscription")
    tap_video(call, packets)
    session_id = publisher().session_id
    await eventually(lambda: call.received_frames(session_id, "video") > 10, MEDIA_WAIT, "decoded video")
    await eventually(lambda: call.received_frames(session_id, "audio") > 10, MEDIA_WAIT, "decoded audio")
    assert call.received_video_size(session_id, "video") == (320, 240)
    tap_video(call, packets)

    code, output = await publishing
    assert code == 0, output
    await eventually(lambda: publisher() is None, MEDIA_WAIT, "the publisher leaving once ffmpeg ended")
    await eventually(lambda: any(isinstance(e, IngressStoppedEvent) for e in seen), MEDIA_WAIT, "ingress.stopped")
    started = next(e for e in seen if isinstance(e, IngressStartedEvent))
    assert (started.user_id, started.publisher_type, started.client_ip) == (host_id, protocol, "127.0.0.1")
    assert not any(isinstance(e, IngressErrorEvent) for e in seen)

    # nothing was re-encoded
    encoded = set(nal_units(sent.read_bytes()))
    received = [unit for unit in nal_units(received_stream(packets)) if unit[0] & 0x1F in (1, 5)]
    assert len(received) >= 30, f"only {len(received)} slices arrived"
    assert all(unit in encoded for unit in received)
    await call.leave()
    return seen


async def test_rtmp_publisher_reaches_a_subscriber_unchanged(
        server: RunningServer, clients: Clients, uid: Callable[[str], str], tmp_path: Path) -> None:
    seen = await stream_through("rtmp", server, clients, uid, tmp_path)
    started = next(e for e in seen if isinstance(e, IngressStartedEvent))
    assert started.client_name == "FFmpeg" and started.version


async def test_srt_publisher_reaches_a_subscriber_unchanged(
        server: RunningServer, clients: Clients, uid: Callable[[str], str], tmp_path: Path) -> None:
    await stream_through("srt", server, clients, uid, tmp_path)


async def a_call(clients: Clients, uid: Callable[[str], str]) -> Call:
    call = (await clients(uid("viewer"))).make_call("default", uid("show"))
    await call.get_or_create()
    return call


async def test_bad_keys_and_addresses_are_refused_with_the_reason(
        server: RunningServer, clients: Clients, uid: Callable[[str], str], tmp_path: Path) -> None:
    call = await a_call(clients, uid)
    address = call.state.value.rtmp_ingress or ""
    off = uid("off")
    async with httpx.AsyncClient(base_url=server.base_url, params={"api_key": server.api_key},
                                 headers={"Authorization": server.token(None)}) as api:
        response = await api.post(f"/api/v1/video/call/default/{off}", json={
            "data": {"created_by_id": uid("owner"), "settings_override": {"ingress": {"enabled": False}}}})
        assert response.status_code == 200, response.text
    flv, _ = await encoded_source(tmp_path, 1)
    refusals = [
        (f"{address.rsplit('/', 1)[0]}/{off}/{server.token(uid('host'))}", "ingress is turned off"),
        (f"{address}/{server.token(uid('late'), expiration=-60)}", "token has expired"),
        (f"{address}/not-a-token", "the stream key is refused"),
        (f"{address}/{server.token(None)}", "must be a user's token"),
        (f"{address.rsplit('/', 1)[0]}/no-such-call/{server.token(uid('host'))}", "cannot join call"),
        (f"{address}/extra/{server.token(uid('host'))}", "publish to <address>/<call_type>/<call_id>"),
    ]
    for url, reason in refusals:
        code, output = await run(*publish_args(flv, url))
        assert code != 0 and reason in output, (url, output)
    # SRT has no words for the reason: the connection is closed at once
    srt = (await call.get()).call.ingress.srt.address
    code, output = await run(*publish_args(flv, srt + server.token(uid("late"), expiration=-60), "mpegts"))
    assert code != 0, output
    assert call.state.value.other_participants == ()


async def test_garbage_is_cut_off(server: RunningServer) -> None:
    port = int((server.app.state.weir.db.info["weir.ingress"].rtmp).rsplit(":", 1)[1])
    for garbage in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\x03" + bytes(1536) * 2 + b"\xff" * 64):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(garbage)
        await writer.drain()
        rest = await asyncio.wait_for(reader.read(), 10)  # the server closes the connection
        assert len(rest) <= 1 + 2 * 1536
        writer.close()


async def test_an_encoder_that_stops_sending_is_ended_with_an_error(
        server: RunningServer, clients: Clients, uid: Callable[[str], str], tmp_path: Path) -> None:
    call = await a_call(clients, uid)
    seen = await ingress_events(call)
    await call.join()
    host_id = uid("host")
    flv, _ = await encoded_source(tmp_path, 12)
    process = await asyncio.create_subprocess_exec(
        *publish_args(flv, f"{call.state.value.rtmp_ingress}/{server.token(host_id)}"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await eventually(lambda: any(isinstance(e, IngressStartedEvent) for e in seen), MEDIA_WAIT, "ingress.started")
        process.send_signal(signal.SIGSTOP)  # frozen: the connection stays open, nothing more comes
        await eventually(lambda: any(isinstance(e, IngressStoppedEvent) for e in seen), MEDIA_WAIT, "ingress.stopped")
        await eventually(lambda: not call.state.value.other_participants, MEDIA_WAIT, "the publisher leaving")
    finally:
        process.kill()
        await process.wait()
    error = next(e for e in seen if isinstance(e, IngressErrorEvent))
    assert (error.user_id, error.code) == (host_id, "disconnected")
