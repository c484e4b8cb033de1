import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.sfu.packets import vp8_payload
from weir.sfu.codecs.vp8 import Vp8Descriptor, write_ids
from weir.sfu.errors import Vp8Error


def test_minimal_descriptor_of_a_keyframe() -> None:
    descriptor = Vp8Descriptor.parse(bytes((0x10, 0x00, 0x9D)))
    assert descriptor.size == 1
    assert descriptor.keyframe is True
    assert (descriptor.picture_id, descriptor.tl0picidx, descriptor.tid) == (-1, -1, -1)


def test_full_descriptor_with_15_bit_picture_id() -> None:
    data = bytes((0x90, 0xF0, 0x80 | 0x12, 0x34, 0x56, 0b10_1_00111, 0x01))
    descriptor = Vp8Descriptor.parse(data)
    assert descriptor.size == 6
    assert (descriptor.picture_id, descriptor.picture_id_bits, descriptor.picture_id_offset) == (0x1234, 15, 2)
    assert (descriptor.tl0picidx, descriptor.tl0picidx_offset) == (0x56, 4)
    assert (descriptor.tid, descriptor.layer_sync, descriptor.keyidx) == (2, True, 7)
    assert descriptor.keyframe is False  # P bit set in the payload header


def test_7_bit_picture_id_and_a_non_first_partition() -> None:
    descriptor = Vp8Descriptor.parse(bytes((0xA3, 0x80, 0x55, 0xAA)))
    assert (descriptor.picture_id, descriptor.picture_id_bits, descriptor.size) == (0x55, 7, 3)
    assert descriptor.non_reference is True
    assert (descriptor.start_of_partition, descriptor.partition_index, descriptor.keyframe) == (False, 3, False)


def test_keyidx_without_tid() -> None:
    descriptor = Vp8Descriptor.parse(bytes((0x80, 0x10, 0x05, 0xFF)))
    assert (descriptor.tid, descriptor.keyidx) == (-1, 5)


def test_parse_at_an_offset_within_a_bound() -> None:
    data = b"hdr" + vp8_payload(picture_id=300, tl0=9, keyframe=True) + b"pad"
    descriptor = Vp8Descriptor.parse(data, 3, len(data) - 3)
    assert (descriptor.picture_id, descriptor.picture_id_offset, descriptor.tl0picidx_offset) == (300, 5, 7)
    assert descriptor.keyframe is True


@pytest.mark.parametrize(
    "data",
    [b"", b"\x80", b"\x80\x80", b"\x80\x80\x80", b"\x80\x40", b"\x80\x20", b"\x10", b"\x90\x80\x01"],
)
def test_truncated_descriptors_raise_vp8_error(data: bytes) -> None:
    with pytest.raises(Vp8Error):
        Vp8Descriptor.parse(data)


def test_write_ids_keeps_the_field_widths() -> None:
    buf = bytearray(vp8_payload(picture_id=0x7FFF, tl0=255))
    write_ids(buf, 2, 15, 0x8000 + 3, 4, 256 + 4)  # both wrap
    descriptor = Vp8Descriptor.parse(bytes(buf))
    assert (descriptor.picture_id, descriptor.tl0picidx) == (3, 4)
    small = bytearray((0x80, 0x80, 0x7F, 0x00))
    write_ids(small, 2, 7, 130, -1, 0)
    assert small == bytearray((0x80, 0x80, 2, 0x00))
    tl0_only = bytearray(vp8_payload(tl0=1))
    write_ids(tl0_only, -1, 0, 0, 2, 300)
    assert Vp8Descriptor.parse(bytes(tl0_only)).tl0picidx == 44


@given(st.binary(max_size=16))
def test_random_bytes_parse_or_raise_vp8_error(data: bytes) -> None:
    with contextlib.suppress(Vp8Error):
        Vp8Descriptor.parse(data)


@given(st.integers(0, 0x7FFF), st.integers(0, 255), st.booleans())
def test_built_descriptors_parse_back(picture_id: int, tl0: int, keyframe: bool) -> None:
    descriptor = Vp8Descriptor.parse(vp8_payload(picture_id=picture_id, tl0=tl0, keyframe=keyframe))
    assert (descriptor.picture_id, descriptor.tl0picidx, descriptor.keyframe) == (picture_id, tl0, keyframe)
