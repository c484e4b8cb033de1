"""RTMP ingress through ``weir serve``'s ingress worker: ffmpeg publishes H.264/AAC with a user token as the
stream key, a Weir SDK subscriber decodes both tracks, and the H.264 arrives as ffmpeg encoded it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiortc.codecs.h264 import H264PayloadDescriptor
from aiortc.rtp import RtpPacket

from tests.client.media_helpers import MEDIA_WAIT
from tests.conftest import RunningServer
from tests.ingress.conftest import FFMPEG, encoded_source, publish_args, run
from tests.sfu.rtc_peers import eventually
from weir.client import Call, SfuParticipantSource, StreamVideo
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


async def test_rtmp_publisher_reaches_a_subscriber_unchanged(
        server: RunningServer, clients: Clients, uid: Callable[[str], str], tmp_path: Path) -> None:
    viewer_id, host_id = uid("viewer"), uid("host")
    viewer = await clients(viewer_id)
    call = viewer.make_call("default", uid("show"))
    await call.get_or_create()
    seen = await ingress_events(call)
    address = call.state.value.rtmp_ingress or ""
    assert address.startswith("rtmp://127.0.0.1:") and address.endswith(f"/default/{call.id}")
    await call.join()

    flv, sent = await encoded_source(tmp_path, 4)
    publishing = asyncio.ensure_future(run(*publish_args(flv, f"{address}/{server.token(host_id)}")))
    packets: list[RtpPacket] = []

    def publisher() -> Any:
        return next((p for p in call.state.value.other_participants if p.user_id == host_id), None)

    await eventually(lambda: publisher() is not None and publisher().participant_source == SfuParticipantSource.RTMP,
                     MEDIA_WAIT, "the RTMP publisher joining with source rtmp")
    await eventually(lambda: bool(call.subscriber_transceivers()), MEDIA_WAIT, "a subscription")
    tap_video(call, packets)
    session_id = publisher().session_id
    await eventually(lambda: call.received_frames(session_id, "video") > 10, MEDIA_WAIT, "decoded video")
    await eventually(lambda: call.received_frames(session_id, "audio") > 10, MEDIA_WAIT, "decoded audio")
    assert call.received_video_size(session_id, "video") == (320, 240)
    tap_video(call, packets)

    code, output = await publishing
    assert code == 0, output
    await eventually(lambda: publisher() is None, MEDIA_WAIT, "the publisher leaving once ffmpeg unpublished")
    await eventually(lambda: any(isinstance(e, IngressStoppedEvent) for e in seen), MEDIA_WAIT, "ingress.stopped")
    started = next(e for e in seen if isinstance(e, IngressStartedEvent))
    assert (started.user_id, started.publisher_type, started.client_name) == (host_id, "rtmp", "FFmpeg")
    assert started.version and started.client_ip == "127.0.0.1"
    assert not any(isinstance(e, IngressErrorEvent) for e in seen)

    # every slice the subscriber received is byte for byte one that ffmpeg encoded: nothing was re-encoded
    encoded = set(nal_units(sent.read_bytes()))
    received = [unit for unit in nal_units(received_stream(packets)) if unit[0] & 0x1F in (1, 5)]
    assert len(received) >= 30, f"only {len(received)} slices arrived"
    assert all(unit in encoded for unit in received)
    await call.leave()
