"""``InboundPacket``: one received RTP packet, annotated once by its receiver.

Nothing downstream parses the header again: down-tracks read these fields, copy ``frame`` and write their own
12-byte header into the copy's headroom, in front of the payload; before it stays room for the header extension
block a subscriber's ``ExtensionSink`` writes, so that stamping a packet moves 12 bytes, not the payload.
"""

from __future__ import annotations

from dataclasses import dataclass

from weir.sfu.rtp import FIXED_HEADER_SIZE

__all__ = ["EXTENSION_ROOM", "HEADROOM", "InboundPacket"]

EXTENSION_ROOM = 12  # the largest extension block the SFU writes: abs-send-time and transport-cc (headerext.py)
HEADROOM = bytes(EXTENSION_ROOM + FIXED_HEADER_SIZE)  # room for an extension block and a header before the payload


@dataclass(slots=True, eq=False)
class InboundPacket:
    frame: bytes  # HEADROOM + payload (padding removed)
    payload_size: int
    layer: int  # simulcast layer, 0 = lowest
    ext_seq: int
    ext_ts: int
    arrival_ns: int
    marker: int  # 0x80 when the marker bit is set, else 0: or'ed straight into the header's second byte
    keyframe: bool  # starts a decodable picture (always true for audio)
    ext_pid: int = -1  # VP8 picture id, unwrapped; -1 without one
    pid_offset: int = -1  # its position in ``frame``
    pid_bits: int = 0
    ext_tl0: int = -1  # VP8 TL0PICIDX, unwrapped
    tl0_offset: int = -1
    audio_level: int = -1  # RFC 6464 level in -dBov (0 loudest, 127 silence); -1 without the extension
    voice: bool = False
    red_primary: int = -1  # RED (RFC 2198): where the primary block's data starts in ``frame``; -1 if not RED
