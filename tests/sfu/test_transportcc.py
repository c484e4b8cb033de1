"""Transport-cc feedback (RTCP RTPFB FMT 15): run-length and one- and two-bit vector chunks, small and large
receive deltas; malformed feedback raises RtcpError and nothing else."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.sfu.errors import RtcpError
from weir.sfu.rtcp import parse_compound
from weir.sfu.transportcc import TransportCc


def feedback(body_hex: str) -> bytes:
    body = bytes.fromhex(body_hex)
    body += bytes(-len(body) % 4)
    return struct.pack("!BBH", 0x8F, 205, len(body) // 4) + body


HEAD = "00000009" "00000005"  # sender and media SSRC


def test_a_run_chunk() -> None:
    # base 0xFFFE, 3 packets, reference 0x000102, feedback 7; run of 3 "small", deltas 4, 0, 255
    (parsed,) = parse_compound(feedback(HEAD + "fffe" "0003" "00010207" "2003" "0400ff"))
    assert parsed == TransportCc(9, 5, 0xFFFE, 0x102, 7, (4, 0, 255))


def test_vector_chunks_and_large_deltas() -> None:
    # 19 packets: a one-bit vector (1, 0, 1, then 11 lost), then a two-bit one (2, 0, 1, 2, 0, 0, 0) of which 5 count
    one_bit = f"{0x8000 | 0b10100000000000:04x}"
    two_bit = f"{0xC000 | 0b10000110000000:04x}"
    data = feedback(HEAD + "0010" "0013" "ffffff00" + one_bit + two_bit + "05" "07" "fff6" "02" "1000")
    (parsed,) = parse_compound(data)
    assert parsed == TransportCc(9, 5, 0x10, 0xFFFFFF, 0, (5, None, 7, *[None] * 11, -10, None, 2, 0x1000, None))


def test_a_run_of_losses_needs_no_deltas() -> None:
    (parsed,) = parse_compound(feedback(HEAD + "0001" "0005" "00000001" "0005"))
    assert parsed.deltas == (None,) * 5


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (HEAD + "0001" "0002", "header truncated"),
        (HEAD + "0001" "0003" "00000001" "2001", "chunks cover 1 of 3 packets"),
        (HEAD + "0001" "0003" "00000001" "2003" "0102", "two small deltas of three"),
        (HEAD + "0001" "0002" "00000001" "4002" "0001", "one large delta of two"),
        (HEAD + "0001" "0001" "00000001" "6001" "0000", "reserved status in a run"),
        (HEAD + "0001" "0001" "00000001" f"{0xC000 | 3 << 12:04x}" "0000", "reserved status in a vector"),
    ],
)
def test_malformed_feedback_raises_rtcp_error(body: str, why: str) -> None:
    with pytest.raises(RtcpError):
        parse_compound(feedback(body))


deltas = st.lists(st.one_of(st.none(), st.integers(0, 255), st.integers(-(2**15), 2**15 - 1)), max_size=300)
feedbacks = st.builds(TransportCc, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 0xFFFF),
                      st.integers(0, 0xFFFFFF), st.integers(0, 255), deltas.map(tuple))


@given(feedbacks)
def test_build_then_parse_round_trips(packet: TransportCc) -> None:
    assert parse_compound(bytes(packet)) == [packet]


def test_long_runs_are_split_and_the_builder_refuses_what_the_wire_cannot_carry() -> None:
    packet = TransportCc(1, 2, 3, 4, 5, (None,) * 9000 + (1,) * 20)
    data = bytes(packet)
    assert len(data) < 60 and parse_compound(data) == [packet]
    with pytest.raises(ValueError):
        bytes(TransportCc(1, 2, 3, 4, 5, (1 << 15,)))
    with pytest.raises(ValueError):
        bytes(TransportCc(1, 2, 3, 4, 5, (None,) * 65536))


@given(st.binary(max_size=200))
def test_random_bodies_parse_or_raise_rtcp_error(body: bytes) -> None:
    with contextlib.suppress(RtcpError):
        parse_compound(feedback(body.hex()))


@given(feedbacks, st.data())
def test_damaged_feedback_parses_or_raises_rtcp_error(packet: TransportCc, data: st.DataObject) -> None:
    """A real feedback with bytes changed or cut: the parser reaches its chunk and delta paths."""
    wire = bytearray(bytes(packet))
    for _ in range(data.draw(st.integers(1, 4))):
        wire[data.draw(st.integers(4, len(wire) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(20, len(wire)))
    wire = wire[:cut - (cut % 4)]
    wire[2:4] = struct.pack("!H", len(wire) // 4 - 1)
    with contextlib.suppress(RtcpError):
        parse_compound(bytes(wire))
