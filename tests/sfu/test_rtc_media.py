"""The media plane end to end: aiortc clients publish real VP8 and Opus through an ``RtcRoom`` and decode
each other's media, all over 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiortc.codecs
import pylibsrtp
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.rtp import RTCP_PSFB_PLI, RtcpPsfbPacket, is_rtcp

from tests.sfu.rtc_peers import LOOPBACK, Peer, eventually
from weir.sfu.rtc import IceConfig, RtcRoom, Subscription, TrackInfo
from weir.sfu.rtcp import Fir, Nack, Pli, SenderReport, parse_compound
from weir.sfu.rtp import RtpHeader

FRAMES = 15  # decoded frames that prove a stream works (half a second of video)


@pytest.fixture
async def room() -> AsyncIterator[RtcRoom]:
    room = RtcRoom("default:media", LOOPBACK)
    yield room
    await room.close()


@pytest.fixture
async def peers(room: RtcRoom) -> AsyncIterator[Callable[..., Any]]:
    made: list[Peer] = []

    async def make(*names: str, publish: bool = True) -> list[Peer]:
        new = [Peer(room, name) for name in names]
        made.extend(new)
        for peer in new:
            await peer.join()
        for peer in new:
            if publish:
                await peer.publish()
        return new

    yield make
    for peer in made:
        await peer.close()


def decoded(receiver: Peer, *senders: Peer, track_types: tuple[str, ...] = ("audio", "video")) -> bool:
    return all(receiver.received(s, t) >= FRAMES for s in senders for t in track_types)


async def test_two_participants_decode_each_others_audio_and_video(peers: Callable[..., Any]) -> None:
    alice, bob = await peers("alice", "bob")
    await alice.subscribe(bob)
    await bob.subscribe(alice)
    await eventually(lambda: decoded(alice, bob) and decoded(bob, alice), what="both ways")
    assert alice.states == bob.states == ["connected"]
    published = {(t.session_id, t.track_type, t.codec) for t in alice.published}
    assert published == {(s, t, c) for s in ("alice", "bob") for t, c in (("audio", "opus"), ("video", "VP8"))}
    assert {(t.session_id, t.track_type, t.codec) for t in bob.published} == published


async def test_three_participants_each_decode_both_others(peers: Callable[..., Any]) -> None:
    trio = await peers("ann", "ben", "cat")
    for peer in trio:
        await peer.subscribe(*(other for other in trio if other is not peer))
    await eventually(
        lambda: all(decoded(p, *(o for o in trio if o is not p)) for p in trio), timeout_s=15, what="all six pairs"
    )


async def test_only_subscribed_tracks_are_forwarded(room: RtcRoom, peers: Callable[..., Any]) -> None:
    (alice,) = await peers("alice")
    bob, carol = await peers("bob", "carol", publish=False)
    await bob.subscribe(alice, track_types=("audio",))
    await eventually(lambda: bob.received(alice, "audio") >= FRAMES, what="audio")
    slots = {slot.track.key: slot for slot in bob.participant._down.slots}
    assert set(slots) == {("alice", "audio")}  # no video m-section was even offered
    video = room.track(("alice", "video"))
    assert video is not None and video.receiver.plis_sent == 0  # nobody asked for a keyframe: nobody watches
    assert carol.participant._down.slots == [] and carol.frames == {}

    await bob.subscribe(alice, track_types=("video",))
    await eventually(lambda: bob.received(alice, "video") >= FRAMES, what="video after switching")
    audio_slot = slots[("alice", "audio")]
    sent = audio_slot.downtrack.packets_sent
    await asyncio.sleep(0.3)
    assert not audio_slot.active and audio_slot.downtrack.packets_sent == sent  # audio stopped at once
    assert [(m.direction) for m in _offered(bob)] == ["inactive", "sendonly"]


def _offered(peer: Peer) -> list[Any]:
    from weir.rtc.sdp import parse

    return parse(peer.subscriber_pc.remoteDescription.sdp).media


async def test_a_participant_removed_mid_call_is_unpublished_and_the_others_are_told(
    room: RtcRoom, peers: Callable[..., Any]
) -> None:
    alice, bob = await peers("alice", "bob")
    await bob.subscribe(alice)
    await eventually(lambda: decoded(bob, alice), what="media")
    await room.remove_participant("alice")
    await eventually(lambda: len(bob.unpublished) == 2, what="unpublished events")
    assert {(t.session_id, t.track_type) for t in bob.unpublished} == {("alice", "audio"), ("alice", "video")}
    assert room.track(("alice", "video")) is None and [p.session_id for p in room.participants()] == ["bob"]
    await eventually(lambda: [m.direction for m in _offered(bob)] == ["inactive", "inactive"], what="re-offer")
    assert alice.participant.state == "closed" and alice.states[-1] == "closed"
    assert not alice.unpublished  # a participant that left is told nothing more


async def test_a_client_that_closes_its_connections_is_unpublished(room: RtcRoom, peers: Callable[..., Any]) -> None:
    alice, bob = await peers("alice", "bob")
    await bob.subscribe(alice)
    await eventually(lambda: decoded(bob, alice), what="media")
    await alice.publisher_pc.close()  # DTLS close_notify: the client is gone
    await eventually(lambda: len(bob.unpublished) == 2, what="unpublished events")
    assert alice.states == ["connected", "closed"] and room.track(("alice", "audio")) is None
    with pytest.raises(ValueError, match="join again"):
        await alice.participant.update_subscriptions([])


async def test_a_client_that_never_connects_fails_and_is_unpublished(peers: Callable[..., Any]) -> None:
    room = RtcRoom("default:timeout", IceConfig(host_addresses=("127.0.0.1",), connect_timeout_s=1))
    (watcher,) = await peers("watcher", publish=False)
    ghost = Peer(room, "ghost")
    watcher.room = room
    await ghost.join()
    await Peer.join(watcher)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        ghost.publisher_pc.addTransceiver("audio", direction="sendonly")
        offer = await ghost.publisher_pc.createOffer()  # never applied: ghost has no ICE agent running
        sdp = offer.sdp + f"a=candidate:1 1 udp 2130706431 127.0.0.1 {silent.getsockname()[1]} typ host\r\n"
        await ghost.participant.set_publisher_offer(sdp, [TrackInfo("ghost", "audio", mid="0")])
        await eventually(lambda: ghost.states == ["failed"], what="failure")
    await eventually(lambda: [t.track_type for t in watcher.unpublished] == ["audio"], what="unpublished")
    await ghost.close()
    await room.close()


async def test_malformed_rtp_and_rtcp_disturb_nobody(room: RtcRoom, peers: Callable[..., Any]) -> None:
    alice, bob, carol = await peers("alice", "bob", "carol")
    await bob.subscribe(alice)
    await carol.subscribe(alice)
    await eventually(lambda: decoded(bob, alice) and decoded(carol, alice), what="media")
    # authenticated but malformed, from alice's own connections
    junk_rtp = [b"\x80\x60\x00\x01" + bytes(8) + b"\xff", bytes([0x90, 96]) + bytes(10) + b"\xbe\xde\x00\x09",
                bytes([0xa0, 96]) + bytes(10) + b"\x00\x00\xff"]
    junk_rtcp = [b"\x80\xc8\x00\x06" + bytes(8), b"\x81\xcd\x00\x09" + bytes(12), b"\x80\xc9\x00\x01" + bytes(40)]
    publisher = alice.publisher_pc.getTransceivers()[0].sender.transport
    for data in junk_rtp + junk_rtcp:
        try:
            await publisher._send_rtp(data)
        except pylibsrtp.Error:
            pass  # too broken for libsrtp to protect: never leaves alice
    # and unauthenticated, from a stranger, at every port the SFU has
    ports = [c.port for p in room.participants() for t in (p.publisher, p.subscriber)
             for c in t.link.connection.local_candidates]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        for port in ports:
            for data in (b"", b"\x80", b"\x80\xc8" + bytes(50), b"\x17\xfe\xfd" + bytes(30), b"\x00\x01\x00\x08"):
                stranger.sendto(data, ("127.0.0.1", port))
    before = bob.received(alice, "video"), carol.received(alice, "video")
    await eventually(
        lambda: (bob.received(alice, "video") > before[0] + FRAMES
                 and carol.received(alice, "video") > before[1] + FRAMES),
        what="media after the junk",
    )
    router = alice.participant._router
    assert router.malformed + router.unroutable >= 2 and router.malformed_rtcp >= 1
    assert all(p.participant.state == "connected" for p in (alice, bob, carol))


async def test_pli_and_fir_from_a_subscriber_reach_the_publisher(room: RtcRoom, peers: Callable[..., Any]) -> None:
    (alice,) = await peers("alice")
    (bob,) = await peers("bob", publish=False)
    requests: list[int] = []
    sender = next(t.sender for t in alice.publisher_pc.getTransceivers() if t.kind == "video")
    original = sender._handle_rtcp_packet

    async def spy(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_PLI:
            requests.append(packet.media_ssrc)
        await original(packet)

    sender._handle_rtcp_packet = spy
    await bob.subscribe(alice, track_types=("video",))
    await eventually(lambda: bob.received(alice, "video") >= FRAMES, what="video")
    (slot,) = bob.participant._down.slots
    transport = bob.subscriber_pc.getTransceivers()[0].receiver.transport
    for packet in (Pli(1, slot.offered.ssrc), Fir(1, ((slot.offered.ssrc, 1),))):
        before = len(requests)
        await asyncio.sleep(0.55)  # the receiver sends at most one PLI per 500 ms
        await transport._send_rtp(bytes(packet))
        await eventually(lambda: len(requests) > before, what=f"{type(packet).__name__} as a PLI")  # noqa: B023
    assert set(requests) == {sender._ssrc}


async def test_a_nack_is_answered_from_the_buffer(room: RtcRoom, peers: Callable[..., Any]) -> None:
    (alice,) = await peers("alice")
    (bob,) = await peers("bob", publish=False)
    await bob.subscribe(alice, track_types=("video",))
    await eventually(lambda: bob.received(alice, "video") >= FRAMES, what="video")
    (slot,) = bob.participant._down.slots
    last = slot.downtrack.forwarder._munger.last_out_seq
    transport = bob.subscriber_pc.getTransceivers()[0].receiver.transport
    await transport._send_rtp(bytes(Nack(1, slot.offered.ssrc, ((last - 3) & 0xFFFF, (last - 2) & 0xFFFF))))
    await eventually(lambda: slot.downtrack.nack_hits == 2, what="retransmissions")


async def test_the_sfu_decodes_and_encodes_nothing(
    room: RtcRoom, peers: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every aiortc media object ever made belongs to a client, and Opus payloads arrive byte for byte."""
    made: dict[str, list[Any]] = {"pc": [], "receiver": [], "sender": [], "codec": []}

    def spy(cls: type, kind: str) -> None:
        original = cls.__init__  # type: ignore[misc]

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            made[kind].append(self)
            original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", init)

    spy(RTCPeerConnection, "pc")
    spy(RTCRtpReceiver, "receiver")
    spy(RTCRtpSender, "sender")
    for codec in (aiortc.codecs.Vp8Decoder, aiortc.codecs.Vp8Encoder, aiortc.codecs.OpusDecoder,
                  aiortc.codecs.OpusEncoder, aiortc.codecs.H264Decoder, aiortc.codecs.H264Encoder):
        spy(codec, "codec")
    alice, bob = await peers("alice", "bob", publish=False)
    sent: set[bytes] = set()
    received: list[bytes] = []
    await alice.publish(video=False)
    publisher = alice.publisher_pc.getTransceivers()[0].sender.transport
    send = publisher._send_rtp

    async def record_sent(data: bytes) -> None:
        if not is_rtcp(data):
            sent.add(RtpHeader.parse(data).payload)
        await send(data)

    publisher._send_rtp = record_sent
    await bob.subscribe(alice, track_types=("audio",))
    await eventually(lambda: bob.received(alice, "audio") >= FRAMES, what="audio")
    subscriber = bob.subscriber_pc.getTransceivers()[0].receiver.transport
    handle = subscriber._handle_rtp_data

    async def record_received(data: bytes, arrival_time_ms: int) -> None:
        received.append(RtpHeader.parse(data).payload)
        await handle(data, arrival_time_ms)

    subscriber._handle_rtp_data = record_received
    await eventually(lambda: len(received) >= 20, what="recorded packets")
    assert set(received) <= sent
    clients = {alice.publisher_pc, alice.subscriber_pc, bob.publisher_pc, bob.subscriber_pc}
    assert set(made["pc"]) <= clients
    ours = [r for pc in clients for r in pc.getReceivers()] + [s for pc in clients for s in pc.getSenders()]
    assert set(made["receiver"] + made["sender"]) <= set(ours)
    assert len(made["codec"]) <= 2  # alice's Opus encoder and bob's Opus decoder: the clients' own


async def test_audio_levels_and_the_dominant_speaker_come_from_the_header_extension(
    room: RtcRoom, peers: Callable[..., Any]
) -> None:
    levels: list[dict[str, float]] = []
    speakers: list[str] = []

    async def on_levels(value: dict[str, float]) -> None:
        levels.append(value)

    async def on_speaker(session_id: str) -> None:
        speakers.append(session_id)

    room.on_audio_levels, room.on_dominant_speaker = on_levels, on_speaker
    loud, quiet = await peers("loud", "quiet", publish=False)
    await loud.publish(video=False, amplitude=0.5)
    await quiet.publish(video=False, amplitude=0.0)
    await eventually(lambda: speakers == ["loud"], what="the dominant speaker")
    await eventually(lambda: bool(levels) and levels[-1].get("loud", 0) > 0.2, what="levels")
    assert levels[-1]["quiet"] == 0.0


async def test_muting_pauses_forwarding_and_unmuting_resumes_it(room: RtcRoom, peers: Callable[..., Any]) -> None:
    (alice,) = await peers("alice")
    (bob,) = await peers("bob", publish=False)
    await bob.subscribe(alice)
    await eventually(lambda: decoded(bob, alice), what="media")
    slots = {slot.track.key[1]: slot for slot in bob.participant._down.slots}
    alice.participant.set_muted("video", True)
    assert {t.track_type: t.muted for t in alice.participant.tracks} == {"audio": False, "video": True}
    video_sent, audio_sent = slots["video"].downtrack.packets_sent, slots["audio"].downtrack.packets_sent
    await asyncio.sleep(0.4)
    assert slots["video"].downtrack.packets_sent == video_sent and slots["audio"].downtrack.packets_sent > audio_sent
    alice.participant.set_muted("video", False)
    frames = bob.received(alice, "video")
    await eventually(lambda: bob.received(alice, "video") > frames + FRAMES, what="video after unmuting")


async def test_racing_offers_apply_only_the_latest_answer(room: RtcRoom, peers: Callable[..., Any]) -> None:
    (alice,) = await peers("alice")
    (bob,) = await peers("bob", publish=False)
    await bob.participant.update_subscriptions([Subscription("alice", "audio")])
    await bob.participant.update_subscriptions([Subscription("alice", "audio"), Subscription("alice", "video")])
    await eventually(lambda: decoded(bob, alice), what="media")
    down = bob.participant._down
    assert down.negotiation_id == 2 and all(slot.attached for slot in down.slots)
    stale = bob.subscriber_pc.localDescription.sdp
    await bob.participant.set_subscriber_answer(stale.replace("a=recvonly", "a=inactive"), 1)  # ignored
    assert all(slot.attached for slot in down.slots)


async def test_bad_signaling_input_is_refused_and_changes_nothing(room: RtcRoom, peers: Callable[..., Any]) -> None:
    (alice,) = await peers("alice", publish=False)
    participant = alice.participant
    alice.publisher_pc.addTransceiver("audio", direction="sendonly")
    offer = (await alice.publisher_pc.createOffer()).sdp
    for sdp, tracks in [
        ("v=0\r\nnonsense", [TrackInfo("alice", "audio", mid="0")]),
        (offer, [TrackInfo("alice", "video", mid="0")]),  # the kind does not match
        (offer, [TrackInfo("alice", "audio", mid="7")]),
        (offer, [TrackInfo("mallory", "audio", mid="0")]),
        (offer, [TrackInfo("alice", "audio", mid="0"), TrackInfo("alice", "audio", mid="0")]),
    ]:
        with pytest.raises(ValueError):
            await participant.set_publisher_offer(sdp, tracks)
    with pytest.raises(ValueError):
        await participant.update_subscriptions([Subscription("bob", "hologram")])
    with pytest.raises(ValueError):
        await participant.add_ice_candidate("publisher", {"candidate": "candidate:nonsense"})
    with pytest.raises(ValueError):
        await participant.add_ice_candidate("sideways", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await room.add_participant("alice", "again")
    assert participant.tracks == [] and room.track(("alice", "audio")) is None
    assert participant.publisher.state == "new" and alice.published == []


async def test_subscribers_get_the_publishers_sender_reports_in_their_own_numbering(
    room: RtcRoom, peers: Callable[..., Any]
) -> None:
    (alice,) = await peers("alice")
    (bob,) = await peers("bob", publish=False)
    await bob.subscribe(alice, track_types=("video",))
    await eventually(lambda: bob.received(alice, "video") >= FRAMES, what="video")
    (slot,) = bob.participant._down.slots
    transport = bob.subscriber_pc.getTransceivers()[0].receiver.transport
    reports: list[SenderReport] = []
    timestamps: list[int] = []
    handle_rtcp, handle_rtp = transport._handle_rtcp_data, transport._handle_rtp_data

    async def record_rtcp(data: bytes) -> None:
        reports.extend(p for p in parse_compound(data) if isinstance(p, SenderReport))
        await handle_rtcp(data)

    async def record_rtp(data: bytes, arrival_time_ms: int) -> None:
        timestamps.append(RtpHeader.parse(data).timestamp)
        await handle_rtp(data, arrival_time_ms)

    transport._handle_rtcp_data, transport._handle_rtp_data = record_rtcp, record_rtp
    await eventually(lambda: bool(reports), timeout_s=5, what="a sender report")
    report = reports[0]
    assert report.ssrc == slot.offered.ssrc and 0 < report.packet_count <= slot.downtrack.packets_sent
    # within a second of the media, either way (a report can map a moment just before the first packet recorded)
    assert min(abs((report.rtp_timestamp - ts + 2**31) % 2**32 - 2**31) for ts in timestamps) < 90_000
