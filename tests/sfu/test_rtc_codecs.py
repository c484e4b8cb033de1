"""Codec pass-through and RTX with real aiortc peers through an ``RtcRoom`` on 127.0.0.1: H.264 published,
forwarded untouched and decoded; RTX negotiated both ways and repairing 5% loss on either side of the SFU; Opus
with RED from a publisher that prefers it, cut to its primary blocks for an aiortc subscriber (which has no RED)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc.codecs.opus import OpusEncoder
from aiortc.rtcdtlstransport import RTCCertificate

from tests.sfu.lossy import LossyPath
from tests.sfu.rtc_peers import LOOPBACK, Peer, eventually
from tests.sfu.test_red import red_payload
from weir.client.media.synthetic import ToneTrack
from weir.rtc.sdp import parse
from weir.sfu.rtc import RtcParticipant, RtcRoom, TrackInfo
from weir.sfu.rtc.negotiate import remote_transport
from weir.sfu.rtc.transport import PeerTransport
from weir.sfu.rtp import build_packet

FRAMES = 15


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Peer, Peer]]:
    """A publisher and a subscriber in a fresh room, joined, neither publishing yet."""
    room = RtcRoom("default:codecs", LOOPBACK)
    alice, bob = Peer(room, "alice"), Peer(room, "bob")
    await alice.join()
    await bob.join()
    yield alice, bob
    for peer in (alice, bob):
        await peer.close()
    await room.close()


async def test_h264_is_passed_through_and_decoded(pair: tuple[Peer, Peer]) -> None:
    alice, bob = pair
    await alice.publish(audio=False, video_codec="video/H264")
    (track,) = alice.participant.published
    assert track.codec.name == "H264"
    assert track.codec.fmtp_params()["packetization-mode"] == "1"
    await bob.subscribe(alice, track_types=("video",))
    await eventually(lambda: bob.received(alice, "video") >= FRAMES, what="decoded H.264")
    offered = parse(bob.subscriber_pc.remoteDescription.sdp).media[0]
    assert [c.name for c in offered.codecs] == ["H264", "rtx"]
    assert offered.codecs[0].fmtp == track.codec.fmtp  # the publisher's format, profile-level-id and all
    assert track.receiver.malformed == 0
    # the SFU told keyframes from the rest (without a detector every packet would count as one)
    highest = track.receiver._layers[0].highest
    buffered = [p for p in map(lambda seq: track.receiver.lookup(0, seq), range(highest - 1023, highest + 1)) if p]
    assert any(p.keyframe for p in buffered) and not all(p.keyframe for p in buffered)


async def test_rtx_repairs_loss_on_both_sides_of_the_sfu(pair: tuple[Peer, Peer]) -> None:
    alice, bob = pair
    await alice.publish(audio=False)
    await bob.subscribe(alice, track_types=("video",))
    await eventually(lambda: bob.received(alice, "video") >= FRAMES, what="video before the loss")
    (track,) = alice.participant.published
    (slot,) = bob.participant._down.slots
    assert track.section.rtx is not None and track.section.rtx_ssrc is not None  # the publisher's RTX, accepted
    assert slot.downtrack.rtx is slot.rtx is not None  # the subscriber kept the offered RTX
    upstream = LossyPath(alice.publisher_pc, 0.05, seed=7)
    downstream = LossyPath(bob.subscriber_pc, 0.05, seed=8)
    start = bob.received(alice, "video")
    await eventually(
        lambda: bob.received(alice, "video") >= start + 150 and upstream.dropped_rtp >= 5
        and downstream.lost_rtp >= 5,
        timeout_s=30, what="5 s of video through the loss",
    )
    # upstream: the publisher answered the SFU's NACKs with RTX, which the SFU unwrapped into the gaps it had
    assert upstream.rtx_sent > 0 and track.receiver.rtx_repaired > 0, (upstream.rtx_sent, track.receiver.rtx_repaired)
    # downstream: the SFU answered the subscriber's NACKs with RTX packets only, and most losses were repaired
    assert downstream.rtx_received >= downstream.lost_rtp // 2, (downstream.lost_rtp, downstream.rtx_received)
    assert downstream.recovered == 0  # nothing came back under its original numbers
    assert slot.rtx is not None and slot.rtx.sent >= downstream.rtx_received


class RedPublisher:
    """A browser-like Opus publisher that prefers RED: each packet carries the previous frame as a redundant
    block. aiortc cannot send RED, so this one is raw, like ``SimulcastPublisher``: Weir's transport as the
    client's ICE and DTLS, aiortc's Opus encoder, and RED packets built here."""

    SSRC, OPUS_PT, RED_PT = 4000, 111, 63

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.primaries: set[bytes] = set()  # every Opus frame sent, as the primary block of a RED packet
        self._task: asyncio.Task[None] | None = None
        self.transport = PeerTransport(
            LOOPBACK, RTCCertificate.generateCertificate(), controlling=True, on_rtp=lambda _: None,
            on_rtcp=lambda _: None, on_state=lambda _: None,
        )

    async def publish(self, participant: RtcParticipant) -> None:
        await self.transport.gather()
        local = self.transport.local("actpass")
        lines = [
            "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
            f"m=audio 9 UDP/TLS/RTP/SAVPF {self.RED_PT} {self.OPUS_PT}", "c=IN IP4 0.0.0.0",
            f"a=ice-ufrag:{local.ufrag}", f"a=ice-pwd:{local.pwd}",
            f"a=fingerprint:{local.fingerprint[0]} {local.fingerprint[1]}", "a=setup:actpass", "a=mid:0",
            "a=sendonly", "a=rtcp-mux", f"a=rtpmap:{self.OPUS_PT} opus/48000/2",
            f"a=fmtp:{self.OPUS_PT} minptime=10;useinbandfec=1;usedtx=1", f"a=rtpmap:{self.RED_PT} red/48000/2",
            f"a=fmtp:{self.RED_PT} {self.OPUS_PT}/{self.OPUS_PT}", f"a=ssrc:{self.SSRC} cname:red",
            *(f"a=candidate:{c}" for c in local.candidates),
        ]
        answer = await participant.set_publisher_offer("\r\n".join(lines) + "\r\n",
                                                       [TrackInfo(self.session_id, "audio", mid="0")])
        remote = remote_transport(parse(answer))
        assert parse(answer).media[0].formats == [str(self.RED_PT), str(self.OPUS_PT)]
        await self.transport.apply_remote(remote, "server" if remote.setup == "active" else "client")
        await eventually(lambda: self.transport.state == "connected", what="the RED publisher connected")
        self._task = asyncio.ensure_future(self._send())

    async def _send(self) -> None:
        encoder, tone = OpusEncoder(), ToneTrack()
        previous = b""
        for seq in range(1 << 30):
            payloads, timestamp = encoder.encode(await tone.recv())
            for payload in payloads:
                red = red_payload(payload, *([(960, previous)] if previous else []), block_pt=self.OPUS_PT)
                self.primaries.add(payload)
                self.transport.send_rtp(build_packet(payload_type=self.RED_PT, sequence_number=seq & 0xFFFF,
                                                     timestamp=timestamp, ssrc=self.SSRC, payload=red))
                previous = payload

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        await self.transport.close()


async def test_red_is_cut_to_its_primary_blocks_for_a_subscriber_without_red(pair: tuple[Peer, Peer]) -> None:
    alice, bob = pair
    publisher = RedPublisher("carol")
    try:
        await publisher.publish(await alice.room.add_participant("carol", "user-carol"))
        await bob.subscribe(publisher, track_types=("audio",))  # type: ignore[arg-type]
        await eventually(lambda: len(bob.subscriber_pc.getReceivers()) == 1, what="the audio m-section")
        receiver = bob.subscriber_pc.getReceivers()[0]
        arrived: list[tuple[int, bytes]] = []
        handle = receiver._handle_rtp_packet

        async def record(packet: Any, arrival_time_ms: int) -> None:
            arrived.append((packet.payload_type, packet.payload))
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = record
        await eventually(lambda: bob.received(publisher, "audio") >= 25, what="decoded audio")  # type: ignore[arg-type]
        (slot,) = bob.participant._down.slots
        assert slot.offered.red is not None  # offered RED, which aiortc's answer dropped
        assert arrived and {pt for pt, _ in arrived} == {slot.offered.codec.payload_type}
        assert all(payload in publisher.primaries for _, payload in arrived)  # each one a primary block alone
    finally:
        await publisher.close()
