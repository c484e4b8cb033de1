import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.sfu.errors import RtcpError
from weir.sfu.rtcp import (
    Bye,
    Fir,
    Nack,
    Pli,
    ReceiverReport,
    Remb,
    ReportBlock,
    SenderReport,
    TransportCc,
    parse_compound,
)

BLOCK = ReportBlock(
    ssrc=5, fraction_lost=12, packets_lost=-3, highest_sequence=70000, jitter=40, last_sr=7, delay_since_last_sr=9
)


def test_a_hand_made_compound_packet_parses_in_order() -> None:
    sr = bytes.fromhex(
        "81c8000c" "00000001" "0102030405060708" "0000abcd" "00000010" "00000400"
        "00000005" "0c" "fffffd" "00011170" "00000028" "00000007" "00000009"
    )
    sdes = bytes.fromhex("81ca0003" "00000001" "0103616263" "000000")
    pli = bytes.fromhex("81ce0002" "00000001" "00000002")
    packets = parse_compound(sr + sdes + pli)
    assert packets == [SenderReport(1, 0x0102030405060708, 0xABCD, 16, 1024, (BLOCK,)), Pli(1, 2)]


def test_nack_items_expand_to_sequence_numbers() -> None:
    data = bytes.fromhex("81cd0004" "00000001" "00000002" "0064" "8001" "ffff" "0001")
    (nack,) = parse_compound(data)
    assert nack == Nack(1, 2, (100, 101, 116, 65535, 0))


def test_nack_packing_groups_numbers_across_the_wrap() -> None:
    nack = Nack(1, 2, (65534, 65535, 0, 14, 15, 40))
    data = bytes(nack)
    assert data[12:] == bytes.fromhex("fffe" "8003" "000f" "0000" "0028" "0000")
    assert parse_compound(data) == [Nack(1, 2, (65534, 65535, 0, 14, 15, 40))]


def test_fir_remb_transport_cc_and_bye() -> None:
    fir = bytes(Fir(9, ((5, 3), (6, 4))))
    remb = bytes(Remb(9, 1_500_000, (5, 6)))
    tcc = bytes.fromhex("8fcd0006" "00000009" "00000005" "0100" "0003" "000102" "07" "2003" "010203" "000000")
    bye = bytes(Bye((5,), b"gone"))
    assert parse_compound(fir + remb + tcc + bye) == [
        Fir(9, ((5, 3), (6, 4))),
        Remb(9, 1_500_000 >> 3 << 3, (5, 6)),
        TransportCc(9, 5, 256, 0x102, 7, (1, 2, 3)),
        Bye((5,), b"gone"),
    ]


def test_unknown_types_and_other_feedback_are_skipped() -> None:
    app = bytes.fromhex("80cc0002" "00000001" "61626364")
    rtpfb_other = bytes.fromhex("83cd0002" "00000001" "00000002")
    psfb_other = bytes.fromhex("82ce0002" "00000001" "00000002")
    not_remb = bytes.fromhex("8fce0004" "00000001" "00000000" "41424344" "00000000")
    rr = bytes(ReceiverReport(3))
    assert parse_compound(app + rtpfb_other + psfb_other + not_remb + rr) == [ReceiverReport(3)]


def test_padding_on_the_last_packet() -> None:
    data = bytes.fromhex("a0c90002" "00000003" "00000004")  # RR, no blocks, 4 bytes of padding
    assert parse_compound(data) == [ReceiverReport(3)]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (bytes.fromhex("41c90001" "00000003"), "version 1"),
        (bytes.fromhex("80c90001" "00000003" "00"), "trailing bytes"),
        (bytes.fromhex("81c90007" "00000003"), "length past the datagram"),
        (bytes.fromhex("81c90001" "00000003"), "a report block announced, none present"),
        (bytes.fromhex("80c80001" "00000003"), "sender info truncated"),
        (bytes.fromhex("80c90000"), "RR without its SSRC"),
        (bytes.fromhex("a0c90001" "00000000"), "padding count 0"),
        (bytes.fromhex("a0c90000"), "padding bit on an empty body"),
        (bytes.fromhex("a0c90001" "00000009"), "padding longer than the body"),
        (bytes.fromhex("82cb0001" "00000001"), "BYE announces 2 SSRCs"),
        (bytes.fromhex("81cb0002" "00000001" "09616263"), "BYE reason overruns"),
        (bytes.fromhex("81cd0001" "00000001"), "feedback without its media SSRC"),
        (bytes.fromhex("84ce0003" "00000001" "00000000" "00000005"), "FIR entry of 4 bytes"),
        (bytes.fromhex("8fce0004" "00000001" "00000000" "52454d42" "02000000"), "REMB with 2 SSRCs missing"),
        (bytes.fromhex("8fcd0003" "00000001" "00000002" "00000000"), "transport-cc truncated"),
    ],
)
def test_malformed_rtcp_raises_rtcp_error(data: bytes, why: str) -> None:
    with pytest.raises(RtcpError):
        parse_compound(data)


def test_serialisers_refuse_what_the_wire_cannot_carry() -> None:
    with pytest.raises(ValueError):
        bytes(ReceiverReport(1, (BLOCK,) * 32))
    with pytest.raises(ValueError):
        bytes(Bye((1,), b"x" * 256))
    with pytest.raises(ValueError):
        bytes(Remb(1, 1 << 90, ()))
    with pytest.raises(ValueError):
        bytes(Remb(1, 1, tuple(range(256))))


def parse_everything(data: bytes) -> None:
    with contextlib.suppress(RtcpError):
        parse_compound(data)


@given(st.binary(max_size=120))
def test_random_bytes_parse_or_raise_rtcp_error(data: bytes) -> None:
    parse_everything(data)


@given(
    st.lists(
        st.tuples(st.integers(0, 0x3F), st.sampled_from([200, 201, 202, 203, 204, 205, 206]), st.binary(max_size=40)),
        min_size=1, max_size=4,
    )
)
def test_random_bodies_behind_valid_headers(parts: list[tuple[int, int, bytes]]) -> None:
    """Well-formed common headers with random bodies: the fuzzer reaches every packet parser."""
    data = b"".join(
        struct.pack("!BBH", 0x80 | flags, pt, len(body) // 4) + body[: len(body) // 4 * 4] for flags, pt, body in parts
    )
    parse_everything(data)


u32 = st.integers(0, 2**32 - 1)
blocks = st.builds(
    ReportBlock, u32, st.integers(0, 255), st.integers(-(2**23), 2**23 - 1), u32, u32, u32, u32
)
serialisable = st.one_of(
    st.builds(SenderReport, u32, st.integers(0, 2**64 - 1), u32, u32, u32, st.lists(blocks, max_size=31).map(tuple)),
    st.builds(ReceiverReport, u32, st.lists(blocks, max_size=31).map(tuple)),
    st.builds(Bye, st.lists(u32, max_size=31).map(tuple), st.binary(max_size=255)),
    st.builds(Nack, u32, u32, st.lists(st.integers(0, 65535), unique=True, max_size=60).map(sorted).map(tuple)),
    st.builds(Pli, u32, u32),
    st.builds(Fir, u32, st.lists(st.tuples(u32, st.integers(0, 255)), max_size=10).map(tuple)),
    st.builds(
        Remb, u32,
        st.tuples(st.integers(0, 2**18 - 1), st.integers(0, 45)).map(lambda me: me[0] << me[1]),
        st.lists(u32, max_size=20).map(tuple),
    ),
)


@given(st.lists(serialisable, min_size=1, max_size=4))
def test_serialise_then_parse_round_trips(packets: list[object]) -> None:
    data = b"".join(bytes(p) for p in packets)  # type: ignore[call-overload]
    assert parse_compound(data) == packets
