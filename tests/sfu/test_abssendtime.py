"""abs-send-time on forwarded video: an RFC 8285 one-byte extension block inserted behind the fixed header."""

from __future__ import annotations

import pytest

from weir.sfu.abssendtime import AbsSendTimeSink
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
