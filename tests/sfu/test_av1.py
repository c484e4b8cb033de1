"""AV1 RTP payloads: the aggregation header, OBU elements with and without length fields, OBU types and layer
ids, and keyframes."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.sfu.codecs.av1 import OBU_SEQUENCE_HEADER, Av1Payload, is_keyframe
from weir.sfu.errors import Av1Error

FRAME = 6


def obu(kind: int, body: bytes = b"\x01\x02", *, tid: int = -1, sid: int = 0) -> bytes:
    if tid < 0:
        return bytes((kind << 3,)) + body
    return bytes((kind << 3 | 0x04, tid << 5 | sid << 3)) + body


def leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def packet(*elements: bytes, z: bool = False, y: bool = False, n: bool = False, counted: bool = True) -> bytes:
    """Elements counted in W (the last without a length) when ``counted`` and at most 3, else all with lengths."""
    w = len(elements) if counted and len(elements) <= 3 else 0
    header = bytes(((0x80 if z else 0) | (0x40 if y else 0) | w << 4 | (0x08 if n else 0),))
    body = b"".join(leb128(len(e)) + e for e in (elements[:-1] if w else elements))
    return header + body + (elements[-1] if w else b"")


def test_a_new_sequence_with_a_sequence_header() -> None:
    data = packet(obu(OBU_SEQUENCE_HEADER), obu(FRAME, tid=1, sid=2), n=True)
    parsed = Av1Payload.parse(data)
    assert (parsed.element_count, parsed.new_sequence, parsed.continued, parsed.continues) == (2, True, False, False)
    assert parsed.obu_types == (OBU_SEQUENCE_HEADER, FRAME)
    assert (parsed.temporal_id, parsed.spatial_id) == (1, 2)
    assert parsed.keyframe and is_keyframe(data, 0, len(data))


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (packet(obu(FRAME)), False),
        (packet(obu(FRAME), n=True), True),  # N alone says so
        (packet(obu(OBU_SEQUENCE_HEADER), obu(FRAME), counted=False), True),  # a sender that leaves N clear
        (packet(bytes((OBU_SEQUENCE_HEADER << 3,)) + b"\x00", obu(FRAME), z=True), False),  # a continuation
        (packet(b"\x99\x98", obu(OBU_SEQUENCE_HEADER), z=True, y=True), True),
    ],
)
def test_keyframes(data: bytes, key: bool) -> None:
    assert Av1Payload.parse(data).keyframe is key
    assert is_keyframe(data, 0, len(data)) is key


def test_elements_with_length_fields_and_a_continuation() -> None:
    data = packet(b"\x99" * 200, obu(FRAME), obu(FRAME), obu(FRAME), z=True, counted=False)
    parsed = Av1Payload.parse(data)
    assert parsed.element_count == 0 and parsed.obu_types == (FRAME, FRAME, FRAME)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00", b"\x20\x05\x30", b"\x00\x80", b"\x00\x05\x30", b"\x00" + b"\xff" * 9, b"\x10\x80",
     b"\x10\x34", b"\x30\x02\x30\x00"],
)
def test_malformed_payloads_raise_av1_error(data: bytes) -> None:
    with pytest.raises(Av1Error):
        Av1Payload.parse(data)


@given(st.binary(max_size=24))
def test_random_bytes_parse_or_raise_av1_error(data: bytes) -> None:
    with contextlib.suppress(Av1Error):
        parsed = Av1Payload.parse(data)
        assert is_keyframe(data, 0, len(data)) is parsed.keyframe


@given(st.lists(st.tuples(st.integers(1, 8), st.binary(min_size=1, max_size=130)), min_size=1, max_size=5),
       st.booleans())
def test_built_payloads_parse_back(obus: list[tuple[int, bytes]], counted: bool) -> None:
    data = packet(*(obu(kind, body) for kind, body in obus), counted=counted)
    assert Av1Payload.parse(data).obu_types == tuple(kind for kind, _ in obus)
