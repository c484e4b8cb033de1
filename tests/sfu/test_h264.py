"""H.264 RTP payloads: NAL unit types of single, STAP-A and FU-A packets, keyframes, fmtp compatibility."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.sfu.codecs.h264 import IDR, SPS, is_keyframe, nal_types, same_format
from weir.sfu.errors import H264Error

PPS, SLICE, SEI = 8, 1, 6


def nal(kind: int, body: bytes = b"\x88\x84") -> bytes:
    return bytes((0x60 | kind,)) + body


def stap_a(*units: bytes) -> bytes:
    return b"\x78" + b"".join(len(u).to_bytes(2, "big") + u for u in units)


def fu_a(kind: int, *, start: bool, end: bool = False) -> bytes:
    return bytes((0x7C, (0x80 if start else 0) | (0x40 if end else 0) | kind)) + b"\x00" * 10


def keyframe(data: bytes) -> bool:
    return is_keyframe(data, 0, len(data))


@pytest.mark.parametrize(
    ("payload", "types", "key"),
    [
        (nal(IDR), (IDR,), True),
        (nal(SPS), (SPS,), True),
        (nal(SLICE), (SLICE,), False),
        (stap_a(nal(SPS), nal(PPS)), (SPS, PPS), True),
        (stap_a(nal(SEI), nal(IDR)), (SEI, IDR), True),
        (stap_a(nal(SEI), nal(SLICE)), (SEI, SLICE), False),
        (fu_a(IDR, start=True), (IDR,), True),
        (fu_a(IDR, start=False, end=True), (), False),
        (fu_a(SLICE, start=True), (SLICE,), False),
    ],
)
def test_nal_types_and_keyframes(payload: bytes, types: tuple[int, ...], key: bool) -> None:
    assert nal_types(payload) == types
    assert keyframe(payload) is key


def test_parse_within_bounds() -> None:
    data = b"hdr" + stap_a(nal(SPS), nal(PPS)) + b"tail"
    assert nal_types(data, 3, len(data) - 4) == (SPS, PPS)
    assert is_keyframe(data, 3, len(data) - 4)


@pytest.mark.parametrize("data", [b"", b"\x78", b"\x78\x00", b"\x78\x00\x05\x67", b"\x78\x00\x00", b"\x7c"])
def test_truncated_payloads_raise_h264_error(data: bytes) -> None:
    with pytest.raises(H264Error):
        nal_types(data)
    with pytest.raises(H264Error):
        keyframe(data)


def test_same_format_compares_packetization_mode_and_profile_not_level() -> None:
    base = {"packetization-mode": "1", "profile-level-id": "42e01f"}
    assert same_format(base, {"packetization-mode": "1", "profile-level-id": "42E034"})
    assert not same_format(base, {"packetization-mode": "0", "profile-level-id": "42e01f"})
    assert not same_format(base, {"packetization-mode": "1", "profile-level-id": "640c1f"})
    assert same_format({}, {"packetization-mode": "0", "profile-level-id": "42000a"})


@given(st.binary(max_size=32))
def test_random_bytes_parse_or_raise_h264_error(data: bytes) -> None:
    with contextlib.suppress(H264Error):
        types = nal_types(data)
        assert keyframe(data) == any(t in (IDR, SPS) for t in types)


@given(st.lists(st.tuples(st.integers(1, 23), st.binary(max_size=8)), min_size=1, max_size=5))
def test_built_stap_a_packets_parse_back(units: list[tuple[int, bytes]]) -> None:
    payload = stap_a(*(nal(kind, body) for kind, body in units))
    assert nal_types(payload) == tuple(kind for kind, _ in units)
    assert keyframe(payload) == any(kind in (IDR, SPS) for kind, _ in units)

