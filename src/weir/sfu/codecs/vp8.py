"""The VP8 RTP payload descriptor (RFC 7741 section 4.2): parse, and rewrite picture id and TL0PICIDX in place.

::

     0 1 2 3 4 5 6 7
    |X|R|N|S|R| PID |   required
    |I|L|T|K| RSV   |   if X
    |M| PictureID   |   if I (M set: 15-bit picture id, one more byte)
    |   TL0PICIDX   |   if L
    |TID|Y| KEYIDX  |   if T or K

A keyframe is the first packet of partition 0 (S set, PID 0) whose VP8 payload header has the P bit clear.
"""

from __future__ import annotations

import struct

from weir.sfu.errors import Vp8Error

__all__ = ["Vp8Descriptor", "write_ids"]

PICTURE_ID_7BIT = 7
PICTURE_ID_15BIT = 15
_PICTURE_ID_15 = struct.Struct("!H")


def _need(pos: int, end: int, what: str) -> None:
    """Raise unless the descriptor's bytes reach ``pos``."""
    if pos > end:
        raise Vp8Error(f"VP8 descriptor lacks its {what}")


class Vp8Descriptor:
    """The fields of one descriptor; offsets are positions in the parsed buffer, -1 when absent."""

    __slots__ = (
        "keyframe",
        "keyidx",
        "layer_sync",
        "non_reference",
        "partition_index",
        "picture_id",
        "picture_id_bits",
        "picture_id_offset",
        "size",
        "start_of_partition",
        "tid",
        "tl0picidx",
        "tl0picidx_offset",
    )

    size: int  # descriptor length in bytes
    non_reference: bool
    start_of_partition: bool
    partition_index: int
    picture_id: int
    picture_id_bits: int  # 0, 7 or 15
    picture_id_offset: int
    tl0picidx: int
    tl0picidx_offset: int
    tid: int
    layer_sync: bool
    keyidx: int
    keyframe: bool

    @classmethod
    def parse(cls, data: bytes, offset: int = 0, end: int = -1) -> Vp8Descriptor:
        """Parse the descriptor at ``data[offset:end]`` (``end`` -1: the end of ``data``)."""
        if end < 0:
            end = len(data)
        if offset >= end:
            raise Vp8Error("empty VP8 payload")
        self = cls.__new__(cls)
        first = data[offset]
        pos = offset + 1
        self.non_reference = bool(first & 0x20)
        self.start_of_partition = bool(first & 0x10)
        self.partition_index = first & 0x07
        self.picture_id = self.picture_id_offset = self.tl0picidx = self.tl0picidx_offset = -1
        self.tid = self.keyidx = -1
        self.picture_id_bits = 0
        self.layer_sync = False
        if first & 0x80:
            _need(pos + 1, end, "extension byte")
            flags = data[pos]
            pos += 1
            if flags & 0x80:
                _need(pos + 1, end, "picture id")
                self.picture_id_offset = pos
                if data[pos] & 0x80:
                    _need(pos + 2, end, "second picture id byte")
                    self.picture_id = (data[pos] & 0x7F) << 8 | data[pos + 1]
                    self.picture_id_bits = PICTURE_ID_15BIT
                    pos += 2
                else:
                    self.picture_id = data[pos]
                    self.picture_id_bits = PICTURE_ID_7BIT
                    pos += 1
            if flags & 0x40:
                _need(pos + 1, end, "TL0PICIDX")
                self.tl0picidx_offset = pos
                self.tl0picidx = data[pos]
                pos += 1
            if flags & 0x30:
                _need(pos + 1, end, "TID/KEYIDX byte")
                byte = data[pos]
                pos += 1
                if flags & 0x20:
                    self.tid = byte >> 6
                    self.layer_sync = bool(byte & 0x20)
                if flags & 0x10:
                    self.keyidx = byte & 0x1F
        self.size = pos - offset
        self.keyframe = False
        if self.start_of_partition and self.partition_index == 0:
            _need(pos + 1, end, "payload header at a partition start")
            self.keyframe = not data[pos] & 0x01
        return self


def write_ids(buf: bytearray, pid_offset: int, pid_bits: int, ext_pid: int, tl0_offset: int, ext_tl0: int) -> None:
    """Write picture id and TL0PICIDX in place, each only when its offset is not -1.

    The picture id keeps the width (7 or 15 bits) it had; values are truncated to that width.
    """
    if pid_offset >= 0:
        if pid_bits == PICTURE_ID_15BIT:
            _PICTURE_ID_15.pack_into(buf, pid_offset, 0x8000 | ext_pid & 0x7FFF)  # M bit, then the 15 bits
        else:
            buf[pid_offset] = ext_pid & 0x7F
    if tl0_offset >= 0:
        buf[tl0_offset] = ext_tl0 & 0xFF
