"""Builders for the SFU tests: real RTP bytes and annotated packets."""

from __future__ import annotations

from weir.sfu.packet import HEADROOM, InboundPacket
from weir.sfu.rtp import build_packet

VIDEO_PT = 96


def vp8_payload(
    *, picture_id: int = -1, tl0: int = -1, start: bool = True, keyframe: bool = False, body: bytes = b"frame"
) -> bytes:
    """A VP8 descriptor (15-bit picture id and TL0PICIDX when given), then a payload header byte and ``body``."""
    flags = (0x80 if picture_id >= 0 else 0) | (0x40 if tl0 >= 0 else 0)
    out = bytearray(((0x80 if flags else 0) | (0x10 if start else 0),))
    if flags:
        out.append(flags)
    if picture_id >= 0:
        out += bytes((0x80 | picture_id >> 8, picture_id & 0xFF))
    if tl0 >= 0:
        out.append(tl0)
    out.append(0x00 if keyframe else 0x01)
    return bytes(out) + body


def vp8_rtp(seq: int, ts: int, *, ssrc: int = 1, marker: bool = False, **vp8: object) -> bytes:
    return build_packet(
        payload_type=VIDEO_PT, sequence_number=seq, timestamp=ts, ssrc=ssrc, marker=marker,
        payload=vp8_payload(**vp8),  # type: ignore[arg-type]
    )


def inbound(
    ext_seq: int, ext_ts: int = 0, *, layer: int = 0, keyframe: bool = False, arrival_ns: int = 0,
    ext_pid: int = -1, ext_tl0: int = -1, payload: bytes = b"x",
) -> InboundPacket:
    """An annotated packet without VP8 offsets, for forwarder and munger tests."""
    return InboundPacket(
        HEADROOM + payload, len(payload), layer, ext_seq, ext_ts, arrival_ns, 0, keyframe,
        ext_pid=ext_pid, ext_tl0=ext_tl0,
    )
