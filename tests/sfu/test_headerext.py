"""The header extensions on forwarded media: abs-send-time and the transport-wide sequence number, in one RFC 8285
one-byte block behind the fixed header, announced in the SFU's subscriber offers; and the send history that
remembers when each numbered packet went."""

from __future__ import annotations

import pytest

from weir.rtc.sdp import Codec, parse
from weir.sfu.headerext import (
    ABS_SEND_TIME_ID,
    ABS_SEND_TIME_URI,
    TRANSPORT_CC_ID,
    TRANSPORT_CC_URI,
    ExtensionSink,
    SendHistory,
)
from weir.sfu.rtc.negotiate import FEEDBACK, TRANSPORT_CC, OfferedSlot, kept_transport_cc, subscriber_offer
from weir.sfu.rtc.transport import LocalTransport
from weir.sfu.rtp import RtpHeader, build_packet

LOCAL = LocalTransport("sfuU", "p" * 22, ("sha-256", "AA"), "actpass", ())


def plain(seq: int = 7) -> bytearray:
    return bytearray(build_packet(payload_type=96, sequence_number=seq, timestamp=9, ssrc=5, payload=b"vp8"))


def test_a_plain_packet_gets_the_send_time_in_6_18_fixed_point_seconds() -> None:
    sent: list[bytearray] = []
    sink = ExtensionSink(sent.append, 3, now_ns=lambda: 1_500_000_000)
    sink(plain())
    header = RtpHeader.parse(bytes(sent[0]))
    assert (header.sequence_number, header.ssrc, header.payload) == (7, 5, b"vp8")
    assert header.extensions() == {3: (3 << 17).to_bytes(3, "big")}  # 1.5 s = 0x60000 in 6.18


def test_with_a_history_each_packet_is_numbered_and_remembered() -> None:
    sent: list[bytearray] = []
    history = SendHistory(bits=4)
    history.next_seq = 0xFFFF  # the 16-bit number wraps on the wire, not in the history
    clock = iter(range(1_000_000, 10_000_000, 1_000_000))
    sink = ExtensionSink(sent.append, 3, 5, history, now_ns=lambda: next(clock))
    for seq in range(3):
        sink(plain(seq))
    numbers = [RtpHeader.parse(bytes(p)).extensions()[5] for p in sent]
    assert numbers == [b"\xff\xff", b"\x00\x00", b"\x00\x01"]
    assert RtpHeader.parse(bytes(sent[1])).extensions()[3] == (2_000_000 * 2**18 // 10**9).to_bytes(3, "big")
    assert history.next_seq == 0x10002
    index = 0x10000 & history.mask
    assert (history.sent_ns[index], history.sizes[index]) == (2_000_000, len(sent[1]))


def test_transport_cc_alone_and_not_yet_answered() -> None:
    sent: list[bytearray] = []
    sink = ExtensionSink(sent.append, 0, TRANSPORT_CC_ID)
    sink(plain())
    assert RtpHeader.parse(bytes(sent[0])).extensions() == {}  # no history yet: sent as it came
    sink.history = SendHistory()
    sink(plain())
    assert RtpHeader.parse(bytes(sent[1])).extensions() == {TRANSPORT_CC_ID: b"\x00\x01"}


def test_the_history_unwraps_reported_numbers_near_the_latest_sent() -> None:
    history = SendHistory(bits=4)
    history.next_seq = 0x10005  # 0x10004 is the latest sent
    assert history.unwrap(0x0004) == 0x10004
    assert history.unwrap(0xFFFF) == 0xFFFF
    assert history.unwrap(0xFFF5) == 0xFFF5  # 16 sent since: the oldest the ring still holds
    assert history.unwrap(0xFFF4) is None  # gone from the ring
    assert history.unwrap(0x0005) is None  # not sent yet
    assert SendHistory().unwrap(0) is None  # nothing sent


def test_a_packet_that_has_extensions_already_is_left_alone() -> None:
    sent: list[bytearray] = []
    packet = bytearray(build_packet(payload_type=96, sequence_number=1, timestamp=1, ssrc=1, payload=b"x",
                                    extensions=[(4, b"0")]))
    ExtensionSink(sent.append, 3, 5, SendHistory())(packet)
    assert sent == [packet] and RtpHeader.parse(bytes(packet)).extensions() == {4: b"0"}


def test_ids_must_fit_a_one_byte_header_and_one_is_needed() -> None:
    with pytest.raises(ValueError):
        ExtensionSink(lambda _: None, 15)
    with pytest.raises(ValueError):
        ExtensionSink(lambda _: None, 1, 15)
    with pytest.raises(ValueError):
        ExtensionSink(lambda _: None, 0, 0)


def test_subscriber_offers_announce_transport_cc_everywhere_and_abs_send_time_on_video() -> None:
    audio = OfferedSlot("0", "audio", Codec(111, "opus", 48_000, 2, feedback=[TRANSPORT_CC]), 1, "s", "s|audio",
                        True, transport_cc_id=TRANSPORT_CC_ID)
    video = OfferedSlot("1", "video", Codec(96, "VP8", 90_000, feedback=[*FEEDBACK, TRANSPORT_CC]), 2, "s",
                        "s|video", True, abs_send_time_id=ABS_SEND_TIME_ID, transport_cc_id=TRANSPORT_CC_ID)
    offer = subscriber_offer([audio, video], LOCAL, session_id=1, version=1)
    parsed = parse(offer)
    assert parsed.media[0].extensions == {TRANSPORT_CC_URI: TRANSPORT_CC_ID}
    assert parsed.media[1].extensions == {ABS_SEND_TIME_URI: ABS_SEND_TIME_ID, TRANSPORT_CC_URI: TRANSPORT_CC_ID}
    assert {"goog-remb", TRANSPORT_CC} <= set(parsed.media[1].codecs[0].feedback)
    assert parsed.media[0].codecs[0].feedback == [TRANSPORT_CC]
    # an answer like Chromium's keeps both; one like aiortc's drops the extension, or the feedback
    assert kept_transport_cc(parsed, [audio, video]) == {"0", "1"}
    without_extension = parse(offer.replace(f"a=extmap:{TRANSPORT_CC_ID} {TRANSPORT_CC_URI}\r\n", ""))
    assert kept_transport_cc(without_extension, [audio, video]) == set()
    without_feedback = parse(offer.replace("a=rtcp-fb:96 transport-cc\r\n", ""))
    assert kept_transport_cc(without_feedback, [audio, video]) == {"0"}
