"""RTP packets (RFC 3550) and their header extensions (RFC 8285): parse, build, rewrite in place.

``RtpHeader.parse`` copies nothing: it checks the fixed header, the CSRC list, the extension block and the
padding against the datagram's length and keeps offsets into the original bytes. Extension elements are walked
only when asked for. Anything malformed raises ``RtpError``.

This module truncates ``ext_`` sequence numbers and timestamps to 16 and 32 bits; so do the two writers on the
forwarding path that pack ``FIXED_HEADER`` themselves, to spare a call per packet (``DownTrack.write`` and
``ExtensionSink.send_forwarded``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator

from weir.sfu.errors import RtpError

__all__ = [
    "FIXED_HEADER",
    "FIXED_HEADER_SIZE",
    "ONE_BYTE_PROFILE",
    "TWO_BYTE_PROFILE",
    "RtpHeader",
    "build_packet",
    "rewrite_ids",
    "write_fixed_header",
]

RTP_VERSION = 2
FIXED_HEADER_SIZE = 12
ONE_BYTE_PROFILE = 0xBEDE  # RFC 8285 section 4.2
TWO_BYTE_PROFILE = 0x1000  # RFC 8285 section 4.3: 0x100 then 4 "appbits"
_TWO_BYTE_PROFILE_MASK = 0xFFF0
_ONE_BYTE_STOP_ID = 15  # RFC 8285: "the parsing MUST stop" at id 15
_ONE_BYTE_MAX_ID = 14
_ONE_BYTE_MAX_LEN = 16
_TWO_BYTE_MAX_ID = 255
_TWO_BYTE_MAX_LEN = 255

FIXED_HEADER = struct.Struct("!BBHII")  # version byte, marker and payload type, sequence number, timestamp, SSRC
_IDS = struct.Struct("!HII")  # sequence number, timestamp, SSRC: bytes 2..11
_EXT_HEADER = struct.Struct("!HH")
_U32 = struct.Struct("!I")


class RtpHeader:
    """One parsed RTP packet, as offsets into ``data``."""

    __slots__ = (
        "csrc_count",
        "data",
        "ext_end",
        "ext_offset",
        "ext_profile",
        "marker",
        "padding_size",
        "payload_end",
        "payload_offset",
        "payload_type",
        "sequence_number",
        "ssrc",
        "timestamp",
    )

    data: bytes
    marker: bool
    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    csrc_count: int
    ext_profile: int  # -1 without an extension block
    ext_offset: int  # first byte of the extension elements (after the 4-byte block header)
    ext_end: int
    payload_offset: int
    payload_end: int  # excludes padding
    padding_size: int

    @classmethod
    def parse(cls, data: bytes) -> RtpHeader:
        size = len(data)
        if size < FIXED_HEADER_SIZE:
            raise RtpError(f"RTP packet of {size} bytes is shorter than the fixed header")
        b0, b1, seq, ts, ssrc = FIXED_HEADER.unpack_from(data, 0)
        if b0 >> 6 != RTP_VERSION:
            raise RtpError(f"RTP version {b0 >> 6}, expected 2")
        self = cls.__new__(cls)
        self.data = data
        self.marker = bool(b1 & 0x80)
        self.payload_type = b1 & 0x7F
        self.sequence_number = seq
        self.timestamp = ts
        self.ssrc = ssrc
        self.csrc_count = b0 & 0x0F
        offset = FIXED_HEADER_SIZE + 4 * self.csrc_count
        if offset > size:
            raise RtpError(f"{self.csrc_count} CSRCs do not fit in {size} bytes")
        self.ext_profile = -1
        self.ext_offset = self.ext_end = offset
        if b0 & 0x10:
            if offset + 4 > size:
                raise RtpError("header extension block is truncated")
            profile, words = _EXT_HEADER.unpack_from(data, offset)
            self.ext_profile = profile
            self.ext_offset = offset + 4
            offset = self.ext_end = offset + 4 + 4 * words
            if offset > size:
                raise RtpError(f"header extension of {words} words overruns the packet")
        end = size
        self.padding_size = 0
        if b0 & 0x20:
            if end == offset:
                raise RtpError("padding bit set but no room for the padding count")
            pad = data[-1]
            if pad == 0 or pad > end - offset:
                raise RtpError(f"padding count {pad} is invalid")
            self.padding_size = pad
            end -= pad
        self.payload_offset = offset
        self.payload_end = end
        return self

    @property
    def csrcs(self) -> tuple[int, ...]:
        return struct.unpack_from(f"!{self.csrc_count}I", self.data, FIXED_HEADER_SIZE)

    @property
    def payload(self) -> bytes:
        return self.data[self.payload_offset : self.payload_end]

    def extension_elements(self) -> Iterator[tuple[int, int, int]]:
        """Yield ``(id, start, end)`` offsets of each element in ``data``; ignores unknown profiles."""
        profile = self.ext_profile
        if profile == ONE_BYTE_PROFILE:
            return _one_byte_elements(self.data, self.ext_offset, self.ext_end)
        if profile & _TWO_BYTE_PROFILE_MASK == TWO_BYTE_PROFILE:
            return _two_byte_elements(self.data, self.ext_offset, self.ext_end)
        return iter(())

    def extensions(self) -> dict[int, bytes]:
        """Every element's value by id (the first wins when an id repeats)."""
        data = self.data
        out: dict[int, bytes] = {}
        for ext_id, start, end in self.extension_elements():
            out.setdefault(ext_id, data[start:end])
        return out


def _one_byte_elements(data: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int]]:
    while pos < end:
        byte = data[pos]
        ext_id = byte >> 4
        if ext_id == 0:  # padding between elements
            pos += 1
            continue
        if ext_id == _ONE_BYTE_STOP_ID:
            return
        start = pos + 1
        pos = start + (byte & 0x0F) + 1
        if pos > end:
            raise RtpError(f"one-byte extension element {ext_id} overruns the block")
        yield ext_id, start, pos


def _two_byte_elements(data: bytes, pos: int, end: int) -> Iterator[tuple[int, int, int]]:
    while pos < end:
        ext_id = data[pos]
        if ext_id == 0:
            pos += 1
            continue
        if pos + 2 > end:
            raise RtpError(f"two-byte extension element {ext_id} has no length")
        start = pos + 2
        pos = start + data[pos + 1]
        if pos > end:
            raise RtpError(f"two-byte extension element {ext_id} overruns the block")
        yield ext_id, start, pos


def _extension_block(extensions: Iterable[tuple[int, bytes]], two_byte: bool | None) -> bytes:
    items = list(extensions)
    if not items:
        return b""
    if two_byte is None:
        two_byte = not all(
            1 <= i <= _ONE_BYTE_MAX_ID and 1 <= len(v) <= _ONE_BYTE_MAX_LEN for i, v in items
        )
    body = bytearray()
    for ext_id, value in items:
        if two_byte:
            if not 1 <= ext_id <= _TWO_BYTE_MAX_ID or len(value) > _TWO_BYTE_MAX_LEN:
                raise ValueError(f"extension {ext_id} of {len(value)} bytes does not fit the two-byte form")
            body += bytes((ext_id, len(value)))
        else:
            if not 1 <= ext_id <= _ONE_BYTE_MAX_ID or not 1 <= len(value) <= _ONE_BYTE_MAX_LEN:
                raise ValueError(f"extension {ext_id} of {len(value)} bytes does not fit the one-byte form")
            body.append(ext_id << 4 | (len(value) - 1))
        body += value
    body += bytes(-len(body) % 4)
    profile = TWO_BYTE_PROFILE if two_byte else ONE_BYTE_PROFILE
    return _EXT_HEADER.pack(profile, len(body) // 4) + body


def build_packet(
    *,
    payload_type: int,
    sequence_number: int,
    timestamp: int,
    ssrc: int,
    payload: bytes = b"",
    marker: bool = False,
    csrcs: Iterable[int] = (),
    extensions: Iterable[tuple[int, bytes]] = (),
    two_byte: bool | None = None,
    padding: int = 0,
) -> bytes:
    """Serialise one RTP packet. Extensions use the one-byte form when they fit, unless ``two_byte`` says."""
    csrc_list = list(csrcs)
    if len(csrc_list) > 15:
        raise ValueError("at most 15 CSRCs")
    if not 0 <= padding <= 255:
        raise ValueError("padding is 0..255 bytes")
    block = _extension_block(extensions, two_byte)
    b0 = RTP_VERSION << 6 | (0x20 if padding else 0) | (0x10 if block else 0) | len(csrc_list)
    b1 = (0x80 if marker else 0) | payload_type
    head = FIXED_HEADER.pack(b0, b1, sequence_number & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc)
    tail = bytes(padding - 1) + bytes((padding,)) if padding else b""
    return head + b"".join(_U32.pack(c) for c in csrc_list) + block + payload + tail


def write_fixed_header(buf: bytearray, marker_pt: int, ext_seq: int, ext_ts: int, ssrc: int, at: int = 0) -> None:
    """Write a 12-byte header (no CSRCs, extensions or padding) at ``buf[at:]``.

    ``marker_pt`` is the second header byte: the marker bit (0x80) or'ed with the payload type.
    """
    FIXED_HEADER.pack_into(buf, at, 0x80, marker_pt, ext_seq & 0xFFFF, ext_ts & 0xFFFFFFFF, ssrc)


def rewrite_ids(buf: bytearray, ext_seq: int, ext_ts: int, ssrc: int) -> None:
    """Rewrite sequence number, timestamp and SSRC of the packet in ``buf``, leaving everything else."""
    _IDS.pack_into(buf, 2, ext_seq & 0xFFFF, ext_ts & 0xFFFFFFFF, ssrc)
