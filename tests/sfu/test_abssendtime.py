"""abs-send-time on forwarded video: an RFC 8285 one-byte extension block inserted behind the fixed header, and
announced (with goog-remb) in the SFU's subscriber offers."""

from __future__ import annotations

import pytest

from weir.sfu.abssendtime import ABS_SEND_TIME_ID, ABS_SEND_TIME_URI, AbsSendTimeSink
from weir.sfu.rtc.negotiate import FEEDBACK, OfferedSlot, subscriber_offer
from weir.sfu.rtc.sdp import Codec, parse
from weir.sfu.rtc.transport import LocalTransport
from weir.sfu.rtp import RtpHeader, build_packet


def test_a_plain_packet_gets_the_send_time_in_6_18_fixed_point_seconds() -> None:
    sent: list[bytearray] = []
    sink = AbsSendTimeSink(sent.append, 3, now_ns=lambda: 1_500_000_000)
    sink(bytearray(build_packet(payload_type=96, sequence_number=7, timestamp=9, ssrc=5, payload=b"vp8")))
    header = RtpHeader.parse(bytes(sent[0]))
    assert (header.sequence_number, header.ssrc, header.payload) == (7, 5, b"vp8")
    assert header.extensions() == {3: (3 << 17).to_bytes(3, "big")}  # 1.5 s = 0x60000 in 6.18


def test_a_packet_that_has_extensions_already_is_left_alone() -> None:
    sent: list[bytearray] = []
    packet = bytearray(build_packet(payload_type=96, sequence_number=1, timestamp=1, ssrc=1, payload=b"x",
                                    extensions=[(4, b"0")]))
    AbsSendTimeSink(sent.append, 3)(packet)
    assert sent == [packet] and RtpHeader.parse(bytes(packet)).extensions() == {4: b"0"}


def test_the_id_must_fit_a_one_byte_header() -> None:
    with pytest.raises(ValueError):
        AbsSendTimeSink(lambda _: None, 15)


def test_subscriber_offers_announce_it_and_goog_remb_on_video_only() -> None:
    local = LocalTransport("sfuU", "p" * 22, ("sha-256", "AA"), "actpass", ())
    audio = OfferedSlot("0", "audio", Codec(111, "opus", 48_000, 2), 1, "s", "s|audio", True)
    video = OfferedSlot("1", "video", Codec(96, "VP8", 90_000, feedback=list(FEEDBACK)), 2, "s", "s|video", True,
                        abs_send_time_id=ABS_SEND_TIME_ID)
    parsed = parse(subscriber_offer([audio, video], local, session_id=1, version=1))
    assert parsed.media[0].extensions == {}
    assert parsed.media[1].extensions == {ABS_SEND_TIME_URI: ABS_SEND_TIME_ID}
    assert "goog-remb" in parsed.media[1].codecs[0].feedback
