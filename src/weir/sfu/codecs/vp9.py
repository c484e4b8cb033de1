"""The VP9 RTP payload descriptor (RFC 9628 section 4.2): layer indices, picture id, and keyframe detection.

::

     0 1 2 3 4 5 6 7
    |I|P|L|F|B|E|V|Z|   required
    |M| PICTURE ID  |   if I (M set: 15-bit picture id, one more byte)
    |TID|U| SID |D  |   if L
    |   TL0PICIDX   |   if L and not F (non-flexible mode)
    |P_DIFF       |N|   if F and P, repeated while N (at most 3)
    | SS ...        |   if V: scalability structure

A keyframe is the first packet (B) of a picture that is not inter-predicted (P clear) in the base spatial layer
(SID 0, or no layer indices).
"""

from __future__ import annotations

from weir.sfu.errors import Vp9Error

__all__ = ["Vp9Descriptor", "is_keyframe"]

_MAX_P_DIFF = 3


def _need(pos: int, end: int, what: str) -> None:
    if pos > end:
        raise Vp9Error(f"VP9 descriptor lacks its {what}")


class Vp9Descriptor:
    """The fields of one descriptor; offsets are positions in the parsed buffer, -1 when absent."""

    __slots__ = (
        "end_of_frame",
        "flexible",
        "inter_layer_dependent",
        "inter_predicted",
        "keyframe",
        "picture_id",
        "picture_id_bits",
        "picture_id_offset",
        "reference_diffs",
        "sid",
        "size",
        "spatial_layers",
        "start_of_frame",
        "switching_up",
        "tid",
        "tl0picidx",
        "tl0picidx_offset",
    )

    size: int
    inter_predicted: bool
    flexible: bool
    start_of_frame: bool
    end_of_frame: bool
    picture_id: int
    picture_id_bits: int  # 0, 7 or 15
    picture_id_offset: int
    tid: int
    sid: int
    switching_up: bool
    inter_layer_dependent: bool
    tl0picidx: int
    tl0picidx_offset: int
    reference_diffs: tuple[int, ...]  # P_DIFFs (flexible mode)
    spatial_layers: tuple[tuple[int, int], ...]  # (width, height) per spatial layer from the SS, if it has them
    keyframe: bool

    @classmethod
    def parse(cls, data: bytes, offset: int = 0, end: int = -1) -> Vp9Descriptor:
        """Parse the descriptor at ``data[offset:end]`` (``end`` -1: the end of ``data``)."""
        if end < 0:
            end = len(data)
        if offset >= end:
            raise Vp9Error("empty VP9 payload")
        self = cls.__new__(cls)
        first = data[offset]
        pos = offset + 1
        self.inter_predicted = bool(first & 0x40)
        self.flexible = bool(first & 0x10)
        self.start_of_frame = bool(first & 0x08)
        self.end_of_frame = bool(first & 0x04)
        self.picture_id = self.picture_id_offset = self.tl0picidx = self.tl0picidx_offset = -1
        self.picture_id_bits = 0
        self.tid = self.sid = -1
        self.switching_up = self.inter_layer_dependent = False
        self.reference_diffs = ()
        self.spatial_layers = ()
        if first & 0x80:
            _need(pos + 1, end, "picture id")
            self.picture_id_offset = pos
            if data[pos] & 0x80:
                _need(pos + 2, end, "second picture id byte")
                self.picture_id = (data[pos] & 0x7F) << 8 | data[pos + 1]
                self.picture_id_bits = 15
                pos += 2
            else:
                self.picture_id = data[pos]
                self.picture_id_bits = 7
                pos += 1
        if first & 0x20:
            _need(pos + 1, end, "layer indices")
            byte = data[pos]
            pos += 1
            self.tid, self.switching_up, self.sid = byte >> 5, bool(byte & 0x10), byte >> 1 & 0x07
            self.inter_layer_dependent = bool(byte & 0x01)
            if not self.flexible:
                _need(pos + 1, end, "TL0PICIDX")
                self.tl0picidx_offset = pos
                self.tl0picidx = data[pos]
                pos += 1
        if self.flexible and self.inter_predicted:
            diffs = []
            while True:
                _need(pos + 1, end, "reference index")
                byte = data[pos]
                pos += 1
                diffs.append(byte >> 1)
                if not byte & 0x01:
                    break
                if len(diffs) == _MAX_P_DIFF:
                    raise Vp9Error("more than 3 reference indices")
            self.reference_diffs = tuple(diffs)
        if first & 0x02:
            pos = self._scalability_structure(data, pos, end)
        self.size = pos - offset
        self.keyframe = self.start_of_frame and not self.inter_predicted and self.sid <= 0
        return self

    def _scalability_structure(self, data: bytes, pos: int, end: int) -> int:
        _need(pos + 1, end, "scalability structure")
        byte = data[pos]
        pos += 1
        layers = (byte >> 5) + 1
        if byte & 0x10:
            _need(pos + 4 * layers, end, "layer resolutions")
            self.spatial_layers = tuple(
                (data[p] << 8 | data[p + 1], data[p + 2] << 8 | data[p + 3]) for p in range(pos, pos + 4 * layers, 4)
            )
            pos += 4 * layers
        if byte & 0x08:
            _need(pos + 1, end, "picture group count")
            groups = data[pos]
            pos += 1
            for _ in range(groups):
                _need(pos + 1, end, "picture group")
                references = data[pos] >> 2 & 0x03
                pos += 1 + references
                _need(pos, end, "picture group references")
        return pos


def is_keyframe(data: bytes, start: int, end: int) -> bool:
    """Does this packet start a VP9 keyframe? Only a frame's first, intra-coded packet is parsed in full."""
    if start >= end:
        raise Vp9Error("empty VP9 payload")
    if data[start] & 0x48 != 0x08:  # B set, P clear
        return False
    return Vp9Descriptor.parse(data, start, end).keyframe
