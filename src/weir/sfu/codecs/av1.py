"""AV1 RTP payloads (AOMedia "RTP Payload Format for AV1", section 4): the aggregation header, the OBU elements
behind it, their OBU types and layer ids, and keyframe detection.

::

     0 1 2 3 4 5 6 7
    |Z|Y| W |N|-|-|-|   aggregation header
    then OBU elements: each but the last of W (all of them when W is 0) prefixed by its leb128 length

    OBU header: |F| type (4) |X|S|R|, then |TID (3)|SID (2)|-|-|-| if X

Z: the first element continues an OBU from the previous packet; N: the packet starts a coded video sequence,
which begins with a keyframe. A packet also counts as a keyframe start when an OBU it begins is a sequence
header (type 1), for senders that leave N clear.
"""

from __future__ import annotations

from weir.sfu.errors import Av1Error

__all__ = ["OBU_SEQUENCE_HEADER", "Av1Payload", "is_keyframe"]

OBU_SEQUENCE_HEADER = 1
_MAX_LEB128_BYTES = 8


def _leb128(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, position after it)."""
    value = 0
    for index in range(_MAX_LEB128_BYTES):
        if pos >= end:
            raise Av1Error("OBU element length is truncated")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, pos
    raise Av1Error("OBU element length longer than 8 bytes")


class Av1Payload:
    __slots__ = ("continues", "continued", "element_count", "keyframe", "new_sequence", "obu_types", "spatial_id",
                 "temporal_id")

    continued: bool  # Z: the first element is the rest of an OBU begun earlier
    continues: bool  # Y: the last element goes on in the next packet
    element_count: int  # W: 0 when every element carries its length
    new_sequence: bool  # N
    obu_types: tuple[int, ...]  # types of the OBUs that begin in this packet
    temporal_id: int  # of the first OBU beginning here with an extension header; -1 without one
    spatial_id: int
    keyframe: bool

    @classmethod
    def parse(cls, data: bytes, offset: int = 0, end: int = -1) -> Av1Payload:
        if end < 0:
            end = len(data)
        if offset >= end:
            raise Av1Error("empty AV1 payload")
        self = cls.__new__(cls)
        header = data[offset]
        self.continued = bool(header & 0x80)
        self.continues = bool(header & 0x40)
        self.element_count = header >> 4 & 0x03
        self.new_sequence = bool(header & 0x08)
        self.temporal_id = self.spatial_id = -1
        types: list[int] = []
        pos = offset + 1
        index = 0
        while pos < end:
            last = self.element_count and index == self.element_count - 1
            if last:
                size = end - pos
            else:
                size, pos = _leb128(data, pos, end)
                if size == 0 or pos + size > end:
                    raise Av1Error(f"OBU element of {size} bytes overruns the packet")
            if index or not self.continued:
                self._obu_header(data, pos, pos + size, types)
            pos += size
            index += 1
            if last:
                break
        if index == 0:
            raise Av1Error("AV1 payload without OBU elements")
        if self.element_count and index != self.element_count:
            raise Av1Error(f"{index} OBU elements where the header says {self.element_count}")
        self.obu_types = tuple(types)
        self.keyframe = self.new_sequence or OBU_SEQUENCE_HEADER in types
        return self

    def _obu_header(self, data: bytes, pos: int, end: int, types: list[int]) -> None:
        byte = data[pos]
        if byte & 0x80:
            raise Av1Error("OBU forbidden bit is set")
        types.append(byte >> 3 & 0x0F)
        if byte & 0x04 and self.temporal_id < 0:
            if pos + 2 > end:
                raise Av1Error("OBU extension header is truncated")
            extension = data[pos + 1]
            self.temporal_id, self.spatial_id = extension >> 5, extension >> 3 & 0x03


def is_keyframe(data: bytes, start: int, end: int) -> bool:
    """Does this packet start an AV1 keyframe (a new coded video sequence, or a sequence header)?"""
    if start >= end:
        raise Av1Error("empty AV1 payload")
    if data[start] & 0x08:  # N: no need to walk the elements
        return True
    return Av1Payload.parse(data, start, end).keyframe
