"""Where a received video packet stands in its frame (``framebuffer`` flags), told from its payload alone.

- VP8 (RFC 7741): the descriptor's S bit with partition 0 starts a frame; the VP8 payload header's P bit, clear,
  makes it a keyframe.
- H.264 (RFC 6184): a packet carrying a sequence parameter set (sent right before an IDR picture) or the start
  of an IDR slice, alone, in a STAP-A or as an FU-A's first fragment, starts a keyframe. Other H.264 packets do
  not say whether they start a frame.
- Any other codec (aiortc decodes none): every packet counts as a keyframe start, so the frame buffer never
  waits for one.
"""

from __future__ import annotations

from collections.abc import Callable

from weir.client.media.framebuffer import KEY, START

__all__ = ["PacketFlags", "flags_for", "h264_flags", "vp8_flags"]

PacketFlags = Callable[[bytes, bytes], int]  # (RTP payload, depayloaded data) → START / KEY

_VP8_START_MASK = 0x17  # S bit and partition index
_VP8_START = 0x10
_NAL_TYPE = 0x1F
_IDR, _SPS, _STAP_A, _FU_A = 5, 7, 24, 28


def vp8_flags(payload: bytes, data: bytes) -> int:
    if not payload or payload[0] & _VP8_START_MASK != _VP8_START:
        return 0
    return START | KEY if data and not data[0] & 1 else START


def h264_flags(payload: bytes, data: bytes) -> int:
    if not payload:
        return 0
    kind = payload[0] & _NAL_TYPE
    if kind == _IDR or kind == _SPS:
        return START | KEY
    if kind == _FU_A:
        header = payload[1] if len(payload) > 1 else 0
        return START | KEY if header & 0x80 and header & _NAL_TYPE == _IDR else 0
    if kind == _STAP_A:
        pos = 1
        while pos + 2 < len(payload):
            if payload[pos + 2] & _NAL_TYPE in (_IDR, _SPS):
                return START | KEY
            pos += 2 + (payload[pos] << 8 | payload[pos + 1])
    return 0


def _any_packet(payload: bytes, data: bytes) -> int:
    return START | KEY


def flags_for(codec: str | None) -> PacketFlags:
    """The flag reader for a codec by its RTP name (``VP8``, ``H264``; any case)."""
    return {"vp8": vp8_flags, "h264": h264_flags}.get((codec or "").lower(), _any_packet)
