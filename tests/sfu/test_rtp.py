import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.sfu.errors import RtpError
from weir.sfu.rtp import ONE_BYTE_PROFILE, TWO_BYTE_PROFILE, RtpHeader, build_packet, rewrite_ids, write_fixed_header

# V=2 P=1 X=1 CC=2, M=1 PT=111, seq 0xBEEF, ts 0x01020304, SSRC 0xCAFEBABE, CSRCs 7 and 8,
# one-byte extensions: id 1 = 0x85 (1 byte), a padding byte, id 3 = "ab" (2 bytes), payload "opus", 3 bytes padding.
HAND_MADE = bytes.fromhex(
    "b2efbeef01020304cafebabe"
    "0000000700000008"
    "bede0002" "1085" "00" "31" "6162" "0000"
    "6f707573"
    "000003"
)


def test_a_hand_made_packet_parses_field_by_field() -> None:
    header = RtpHeader.parse(HAND_MADE)
    assert header.marker is True
    assert header.payload_type == 111
    assert header.sequence_number == 0xBEEF
    assert header.timestamp == 0x01020304
    assert header.ssrc == 0xCAFEBABE
    assert header.csrcs == (7, 8)
    assert header.ext_profile == ONE_BYTE_PROFILE
    assert header.extensions() == {1: b"\x85", 3: b"ab"}
    assert header.payload == b"opus"
    assert header.padding_size == 3


def test_two_byte_extensions_allow_empty_and_long_values() -> None:
    data = build_packet(
        payload_type=96, sequence_number=1, timestamp=2, ssrc=3, payload=b"p",
        extensions=[(1, b""), (200, bytes(20))],
    )
    header = RtpHeader.parse(data)
    assert header.ext_profile == TWO_BYTE_PROFILE
    assert header.extensions() == {1: b"", 200: bytes(20)}
    assert header.payload == b"p"


def test_one_byte_id_15_stops_the_walk() -> None:
    block = bytes((0x10, 0x01, 0xF0, 0x20, 0x02))  # id 1 = 0x01, then id 15: nothing after it is read
    data = build_packet(payload_type=96, sequence_number=1, timestamp=2, ssrc=3)
    data = bytes((data[0] | 0x10,)) + data[1:] + struct.pack("!HH", ONE_BYTE_PROFILE, 2) + block + bytes(3)
    assert RtpHeader.parse(data).extensions() == {1: b"\x01"}


def test_unknown_extension_profiles_yield_no_elements() -> None:
    data = bytearray(build_packet(payload_type=96, sequence_number=1, timestamp=2, ssrc=3, extensions=[(1, b"x")]))
    data[12:14] = b"\x12\x34"
    assert RtpHeader.parse(bytes(data)).extensions() == {}


def test_a_packet_without_extensions_or_padding() -> None:
    header = RtpHeader.parse(build_packet(payload_type=0, sequence_number=0, timestamp=0, ssrc=0, payload=b"abc"))
    assert (header.ext_profile, header.csrcs, header.padding_size, header.payload) == (-1, (), 0, b"abc")


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "shorter than the fixed header"),
        (bytes.fromhex("40000000000000000000000000"), "version 1"),
        (bytes.fromhex("81000000000000000000000000"), "one CSRC announced, none present"),
        (bytes.fromhex("900000000000000000000000bede00"), "extension header truncated"),
        (bytes.fromhex("900000000000000000000000bede0001"), "extension words missing"),
        (bytes.fromhex("a00000000000000000000000"), "padding bit with no bytes"),
        (bytes.fromhex("a0000000000000000000000000000000"), "padding count 0"),
        (bytes.fromhex("a0000000000000000000000000000005"), "padding longer than the payload"),
    ],
)
def test_malformed_headers_raise_rtp_error(data: bytes, why: str) -> None:
    with pytest.raises(RtpError):
        RtpHeader.parse(data)


@pytest.mark.parametrize(
    "block",
    [
        bytes.fromhex("bede0001" "13000000"),  # one-byte id 1 of 4 bytes in a 4-byte block
        bytes.fromhex("10000001" "0105aaaa"),  # two-byte id 1 of 5 bytes
        bytes.fromhex("10000001" "00000107"),  # two padding bytes, then id 1 of 7 bytes
        bytes.fromhex("10000001" "000000" "09"),  # two-byte id 9 without its length byte
    ],
)
def test_overrunning_extension_elements_raise_rtp_error(block: bytes) -> None:
    data = bytes.fromhex("900000000000000000000000") + block
    header = RtpHeader.parse(data)
    with pytest.raises(RtpError):
        header.extensions()


def test_build_rejects_what_the_wire_cannot_carry() -> None:
    with pytest.raises(ValueError):
        build_packet(payload_type=96, sequence_number=0, timestamp=0, ssrc=0, csrcs=range(16))
    with pytest.raises(ValueError):
        build_packet(payload_type=96, sequence_number=0, timestamp=0, ssrc=0, padding=256)
    with pytest.raises(ValueError):
        build_packet(payload_type=96, sequence_number=0, timestamp=0, ssrc=0, extensions=[(15, b"x")], two_byte=False)
    with pytest.raises(ValueError):
        build_packet(payload_type=96, sequence_number=0, timestamp=0, ssrc=0, extensions=[(0, b"x")], two_byte=True)


def test_rewrite_ids_changes_only_sequence_timestamp_and_ssrc() -> None:
    buf = bytearray(HAND_MADE)
    rewrite_ids(buf, 65536 + 7, 2**32 + 9, 0x11223344)
    header = RtpHeader.parse(bytes(buf))
    assert (header.sequence_number, header.timestamp, header.ssrc) == (7, 9, 0x11223344)
    assert buf[:2] == HAND_MADE[:2] and buf[12:] == HAND_MADE[12:]


def test_write_fixed_header_truncates_ext_numbers() -> None:
    buf = bytearray(12) + b"payload"
    write_fixed_header(buf, 0x80 | 100, 3 * 65536 + 65535, 2**33 + 5, 42)
    header = RtpHeader.parse(bytes(buf))
    assert (header.marker, header.payload_type, header.sequence_number, header.timestamp, header.ssrc) == (
        True, 100, 65535, 5, 42,
    )
    assert header.payload == b"payload"


def parse_everything(data: bytes) -> None:
    """Parse and read every field; only RtpError may escape."""
    try:
        header = RtpHeader.parse(data)
        _ = header.extensions(), header.payload, header.csrcs
    except RtpError:
        pass


@given(st.binary(max_size=120))
def test_random_bytes_parse_or_raise_rtp_error(data: bytes) -> None:
    parse_everything(data)


@given(st.integers(0, 0x3F), st.binary(min_size=11, max_size=80))
def test_random_bytes_behind_a_version_2_first_byte(flags: int, rest: bytes) -> None:
    """The fuzzer reaches the CSRC, extension and padding checks instead of stopping at the version."""
    parse_everything(bytes((0x80 | flags,)) + rest)


extension_lists = st.one_of(
    st.lists(st.tuples(st.integers(1, 14), st.binary(min_size=1, max_size=16)), max_size=5, unique_by=lambda e: e[0]),
    st.lists(st.tuples(st.integers(1, 255), st.binary(max_size=40)), max_size=5, unique_by=lambda e: e[0]),
)


@given(
    pt=st.integers(0, 127), seq=st.integers(0, 65535), ts=st.integers(0, 2**32 - 1), ssrc=st.integers(0, 2**32 - 1),
    marker=st.booleans(), csrcs=st.lists(st.integers(0, 2**32 - 1), max_size=15), extensions=extension_lists,
    payload=st.binary(max_size=64), padding=st.integers(0, 255),
)
def test_build_then_parse_round_trips(
    pt: int, seq: int, ts: int, ssrc: int, marker: bool, csrcs: list[int], extensions: list[tuple[int, bytes]],
    payload: bytes, padding: int,
) -> None:
    data = build_packet(
        payload_type=pt, sequence_number=seq, timestamp=ts, ssrc=ssrc, marker=marker, csrcs=csrcs,
        extensions=extensions, payload=payload, padding=padding,
    )
    header = RtpHeader.parse(data)
    assert (header.payload_type, header.sequence_number, header.timestamp, header.ssrc, header.marker) == (
        pt, seq, ts, ssrc, marker,
    )
    assert header.csrcs == tuple(csrcs)
    assert header.extensions() == dict(extensions)
    assert header.payload == payload
    assert header.padding_size == padding
    rebuilt = build_packet(
        payload_type=pt, sequence_number=seq, timestamp=ts, ssrc=ssrc, marker=marker, csrcs=header.csrcs,
        extensions=list(header.extensions().items()), payload=header.payload, padding=header.padding_size,
        two_byte=header.ext_profile == TWO_BYTE_PROFILE if extensions else None,
    )
    assert rebuilt == data
