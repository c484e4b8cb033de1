"""RTX (RFC 4588): publishers' RTX packets unwrapped into the gaps they repair, and NACKs answered with RTX
packets on down-tracks whose subscriber negotiated RTX."""

import contextlib
from types import SimpleNamespace
from typing import cast

from aiortc.rtcdtlstransport import RtpRouter
from aiortc.rtp import RtpPacket
from hypothesis import given
from hypothesis import strategies as st

from tests.sfu.packets import vp8_payload
from tests.sfu.test_receiver import Layer, feed, parsed, setup, subscribe
from weir.rtc.sdp import Codec
from weir.sfu.downtrack import NACK_INTERVAL_NS
from weir.sfu.errors import RtpError, RtxError
from weir.sfu.packet import HEADROOM
from weir.sfu.rtc.model import Layer as AnnouncedLayer
from weir.sfu.rtc.model import TrackInfo
from weir.sfu.rtc.negotiate import MID_URI, REPAIRED_RID_URI, RID_URI, AcceptedSection
from weir.sfu.rtc.router import PublisherRouter
from weir.sfu.rtc.subscriber import SubscriberSide
from weir.sfu.rtc.track import PublishedTrack
from weir.sfu.rtc.transport import PeerTransport
from weir.sfu.rtcp import Nack, parse_compound
from weir.sfu.rtp import RtpHeader, build_packet
from weir.sfu.rtx import OSN_SIZE, RtxStream, original_sequence_number

RTX_PT, RTX_SSRC = 97, 0x5EED


def rtx_of(original: bytes, rtx_seq: int) -> bytes:
    """The RTX packet a publisher sends for ``original``."""
    header = RtpHeader.parse(original)
    return build_packet(
        payload_type=RTX_PT, sequence_number=rtx_seq, timestamp=header.timestamp, ssrc=RTX_SSRC,
        marker=header.marker, payload=original[2:4] + header.payload,
    )


def test_an_rtx_packet_fills_the_gap_it_repairs_and_is_forwarded_as_the_original() -> None:
    receiver, upstream, _ = setup(layers=1)
    downtrack, sent = subscribe(receiver, 0, start_seq=500)
    layer = Layer(0, 65534, 0, 0)
    packets = layer.frame(keyframe=True, packets=4)  # 65534, 65535, 0, 1
    feed(receiver, layer, [packets[0], packets[2], packets[3]])
    assert [parse_compound(p) for p in upstream] == [[Nack(1, 100, (65535,))]]  # to the media SSRC
    assert receiver.receive_rtx(rtx_of(packets[1], 9), 0, 0) is not None
    assert (receiver.rtx_received, receiver.rtx_repaired) == (1, 1)
    assert [g[0] for g in parsed(sent)] == [500, 502, 503, 501]  # the late original in its place
    assert sent[-1][12:] == packets[1][12:]  # byte for byte the original payload
    assert receiver.receive_rtx(rtx_of(packets[1], 10), 0, 0) is None  # had it already
    assert (receiver.rtx_received, receiver.rtx_repaired, len(sent)) == (2, 1, 4)
    feed(receiver, layer, layer.frame())
    assert [parse_compound(p) for p in upstream][-1] == [Nack(1, 100, (65535,))]  # still the media SSRC


def test_malformed_and_padding_only_rtx_packets_forward_nothing() -> None:
    receiver, _, _ = setup(layers=1)
    _, sent = subscribe(receiver, 0)
    layer = Layer(0, 0, 0, 0)
    feed(receiver, layer, layer.frame(keyframe=True))
    one_byte = build_packet(payload_type=RTX_PT, sequence_number=1, timestamp=0, ssrc=RTX_SSRC, payload=b"\x00")
    probe = build_packet(payload_type=RTX_PT, sequence_number=2, timestamp=0, ssrc=RTX_SSRC, padding=200)
    osn_only = build_packet(payload_type=RTX_PT, sequence_number=3, timestamp=0, ssrc=RTX_SSRC, payload=b"\x00\x05")
    for data in (one_byte, probe, osn_only, b"\x80\x61"):
        assert receiver.receive_rtx(data, 0, 0) is None
    assert (receiver.malformed, receiver.rtx_received, receiver.rtx_repaired, len(sent)) == (2, 2, 0, 1)


def test_nacks_are_answered_with_rtx_packets_once_negotiated() -> None:
    receiver, _, _ = setup(layers=1)
    downtrack, sent = subscribe(receiver, 0, start_seq=65535)
    layer = Layer(0, 0, 0, 0)
    feed(receiver, layer, layer.frame(keyframe=True, packets=3))
    assert downtrack.handle_nack([0]) == 1 and sent[3] == sent[1]  # without RTX: the very packet again
    downtrack.rtx = RtxStream(RTX_SSRC, RTX_PT, start_seq=65535)
    assert downtrack.handle_nack([65535, 0], NACK_INTERVAL_NS) == 2
    for rtx, original, rtx_seq in ((sent[4], sent[0], 65535), (sent[5], sent[1], 0)):
        header = RtpHeader.parse(bytes(rtx))
        assert (header.ssrc, header.payload_type, header.sequence_number) == (RTX_SSRC, RTX_PT, rtx_seq)
        first = RtpHeader.parse(bytes(original))
        assert (header.timestamp, header.marker) == (first.timestamp, first.marker)
        assert original_sequence_number(header) == first.sequence_number
        assert header.payload[OSN_SIZE:] == first.payload
    assert downtrack.rtx.sent == 2


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.booleans(), st.binary(max_size=40))
def test_wrapped_packets_unwrap_to_the_original(seq: int, ts: int, marker: bool, payload: bytes) -> None:
    original = bytearray(build_packet(payload_type=96, sequence_number=seq, timestamp=ts, ssrc=7, marker=marker,
                                      payload=vp8_payload() + payload))
    header = RtpHeader.parse(bytes(RtxStream(RTX_SSRC, RTX_PT).wrap(original)))
    assert original_sequence_number(header) == seq
    assert (header.timestamp, header.marker, header.ssrc) == (ts, marker, RTX_SSRC)
    assert header.payload[OSN_SIZE:] == bytes(original[12:])


@given(st.binary(max_size=40))
def test_random_bytes_give_an_osn_or_a_packet_error(data: bytes) -> None:
    with contextlib.suppress(RtpError, RtxError):
        header = RtpHeader.parse(data)
        assert 0 <= original_sequence_number(header) <= 0xFFFF


def simulcast_track() -> PublishedTrack:
    vp8 = Codec(96, "VP8", 90_000)
    section = AcceptedSection("0", "video", vp8, ("q", "f"), {MID_URI: 1, RID_URI: 2, REPAIRED_RID_URI: 3}, None,
                              Codec(RTX_PT, "rtx", 90_000, 0, "apt=96"))
    info = TrackInfo("alice", "video", "0", (AnnouncedLayer("q", 320, 180, 1), AnnouncedLayer("f", 1280, 720, 2)))
    return PublishedTrack(info, section, upstream=lambda _: None, sender_ssrc=1)


def test_simulcast_rtx_is_routed_by_its_repaired_rid() -> None:
    track = simulcast_track()
    router = PublisherRouter(lambda *_: None)
    router.set_tracks([track])
    layer = Layer(1, 0, 0, 0)  # the "f" layer
    packets = [bytearray(p) for p in layer.frame(keyframe=True, packets=3)]
    media = [build_packet(payload_type=96, sequence_number=n, timestamp=0, ssrc=300, payload=p[12:],
                          extensions=[(1, b"0"), (2, b"f")]) for n, p in enumerate(packets)]
    router.on_rtp(media[0])
    router.on_rtp(media[2])
    repair = build_packet(payload_type=RTX_PT, sequence_number=40, timestamp=0, ssrc=RTX_SSRC,
                          payload=b"\x00\x01" + RtpHeader.parse(media[1]).payload, extensions=[(1, b"0"), (3, b"f")])
    router.on_rtp(repair)
    assert (track.receiver.rtx_received, track.receiver.rtx_repaired) == (1, 1)
    repaired = track.receiver.lookup(1, 1)
    assert repaired is not None and bytes(repaired.frame[len(HEADROOM):]) == RtpHeader.parse(media[1]).payload
    assert track.receiver.lookup(0, 1) is None
    router.on_rtp(repair)  # now by its SSRC: a duplicate
    assert (track.receiver.rtx_received, track.receiver.rtx_repaired, router.unroutable) == (2, 1, 0)


def test_each_video_a_subscriber_gets_has_an_rtx_payload_type_that_aiortc_can_route() -> None:
    """aiortc routes an RTX packet by its payload type alone (it registers only the media SSRC of each receiver):
    RTX payload types shared by two videos would have every retransmission dropped."""
    side = SubscriberSide(cast(PeerTransport, SimpleNamespace(send_rtp=lambda _: None)))
    slots = [side.add(simulcast_track(), 1, False) for _ in range(3)]
    aiortc = RtpRouter()
    receivers = [object() for _ in slots]
    for slot, receiver in zip(slots, receivers, strict=True):
        assert slot.offered.rtx is not None and slot.rtx is not None
        aiortc.register_receiver(receiver, ssrcs=[slot.offered.ssrc],  # type: ignore[arg-type]
                                 payload_types=[slot.offered.codec.payload_type, slot.offered.rtx.payload_type])
    for slot, receiver in zip(slots, receivers, strict=True):
        assert slot.rtx is not None
        resend = RtpPacket.parse(bytes(slot.rtx.wrap(bytearray(build_packet(
            payload_type=slot.offered.codec.payload_type, sequence_number=5, timestamp=0, ssrc=slot.offered.ssrc,
            payload=vp8_payload())))))
        assert aiortc.route_rtp(resend) is receiver
