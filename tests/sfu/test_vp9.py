"""The VP9 payload descriptor: picture ids, layer indices, flexible-mode references, the scalability structure,
and keyframes."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.sfu.codecs.vp9 import Vp9Descriptor, is_keyframe
from weir.sfu.errors import Vp9Error


def descriptor(
    *, picture_id: int = -1, inter: bool = False, start: bool = True, end: bool = False, tid: int = -1,
    sid: int = 0, tl0: int = 0, flexible: bool = False, diffs: tuple[int, ...] = (),
) -> bytes:
    """A descriptor (with layer indices when ``tid`` >= 0) and a few payload bytes."""
    first = ((0x80 if picture_id >= 0 else 0) | (0x40 if inter else 0) | (0x20 if tid >= 0 else 0)
             | (0x10 if flexible else 0) | (0x08 if start else 0) | (0x04 if end else 0))
    out = bytearray((first,))
    if picture_id >= 0:
        out += bytes((0x80 | picture_id >> 8, picture_id & 0xFF))
    if tid >= 0:
        out.append(tid << 5 | sid << 1)
        if not flexible:
            out.append(tl0)
    if flexible and inter:
        out += bytes(d << 1 | (index < len(diffs) - 1) for index, d in enumerate(diffs))
    return bytes(out) + b"\x82\x49\x83"


def test_keyframe_with_15_bit_picture_id_and_layer_indices() -> None:
    data = descriptor(picture_id=0x1234, tid=0, sid=0, tl0=9)
    parsed = Vp9Descriptor.parse(data)
    assert (parsed.picture_id, parsed.picture_id_bits, parsed.picture_id_offset) == (0x1234, 15, 1)
    assert (parsed.tid, parsed.sid, parsed.tl0picidx, parsed.tl0picidx_offset, parsed.size) == (0, 0, 9, 4, 5)
    assert parsed.keyframe and is_keyframe(data, 0, len(data))


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({}, True),
        ({"inter": True}, False),  # P: inter-predicted
        ({"start": False}, False),  # not the first packet of the frame
        ({"tid": 0, "sid": 1}, False),  # an upper spatial layer
        ({"tid": 2, "sid": 0}, True),
    ],
)
def test_keyframes(options: dict[str, int], key: bool) -> None:
    data = descriptor(**options)  # type: ignore[arg-type]
    assert Vp9Descriptor.parse(data).keyframe is key
    assert is_keyframe(data, 0, len(data)) is key


def test_flexible_mode_reference_indices() -> None:
    parsed = Vp9Descriptor.parse(descriptor(picture_id=5, inter=True, tid=1, flexible=True, diffs=(1, 2, 3)))
    assert parsed.flexible and parsed.reference_diffs == (1, 2, 3) and parsed.tl0picidx == -1
    assert parsed.size == 1 + 2 + 1 + 3


def test_scalability_structure_with_resolutions_and_picture_groups() -> None:
    ss = bytes((0b001_1_1_000,)) + (320).to_bytes(2, "big") + (180).to_bytes(2, "big")
    ss += (640).to_bytes(2, "big") + (360).to_bytes(2, "big") + bytes((2, 0b000_1_01_00, 1, 0b001_0_00_00))
    data = bytes((0x0A,)) + ss + b"\x00"
    parsed = Vp9Descriptor.parse(data)
    assert parsed.spatial_layers == ((320, 180), (640, 360))
    assert parsed.size == 1 + len(ss) and parsed.keyframe


@pytest.mark.parametrize(
    "data",
    [b"", b"\x80", b"\x80\x80", b"\x20", b"\x28\x00", b"\x50", b"\x50\x03\x03\x03", b"\x02", b"\x02\x10\x00",
     b"\x02\x08", b"\x02\x08\x01\x0c"],
)
def test_truncated_descriptors_raise_vp9_error(data: bytes) -> None:
    with pytest.raises(Vp9Error):
        Vp9Descriptor.parse(data)


@given(st.binary(max_size=24))
def test_random_bytes_parse_or_raise_vp9_error(data: bytes) -> None:
    with contextlib.suppress(Vp9Error):
        parsed = Vp9Descriptor.parse(data)
        assert 1 <= parsed.size <= len(data)
        assert is_keyframe(data, 0, len(data)) is parsed.keyframe


@given(st.integers(0, 0x7FFF), st.integers(0, 7), st.integers(0, 255), st.booleans(), st.booleans())
def test_built_descriptors_parse_back(picture_id: int, tid: int, tl0: int, inter: bool, start: bool) -> None:
    parsed = Vp9Descriptor.parse(descriptor(picture_id=picture_id, tid=tid, tl0=tl0, inter=inter, start=start))
    assert (parsed.picture_id, parsed.tid, parsed.tl0picidx) == (picture_id, tid, tl0)
    assert parsed.keyframe is (start and not inter)
