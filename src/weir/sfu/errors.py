"""The SFU's exception tree.

::

    ValueError
     └── PacketError        malformed bytes from the network; the packet is dropped, nothing else happens
          ├── RtpError      RTP header, CSRC list, header extensions, padding (rtp.py)
          ├── RtcpError     any packet of a compound RTCP datagram (rtcp.py)
          ├── Vp8Error      VP8 payload descriptor (codecs/vp8.py)
          ├── Vp9Error      VP9 payload descriptor (codecs/vp9.py)
          ├── H264Error     H.264 NAL unit packets: single, STAP-A, FU-A (codecs/h264.py)
          ├── Av1Error      AV1 aggregation header and OBU elements (codecs/av1.py)
          ├── RedError      RED block headers (codecs/red.py)
          └── RtxError      RTX payload without its original sequence number (rtx.py)

Parsers raise only these: never ``IndexError`` or ``struct.error``.
"""

from __future__ import annotations

__all__ = [
    "Av1Error", "H264Error", "PacketError", "RedError", "RtcpError", "RtpError", "RtxError", "Vp8Error", "Vp9Error",
]


class PacketError(ValueError):
    """Malformed media or control bytes."""


class RtpError(PacketError):
    """Malformed RTP packet."""


class RtcpError(PacketError):
    """Malformed RTCP packet."""


class Vp8Error(PacketError):
    """Malformed VP8 payload descriptor."""


class Vp9Error(PacketError):
    """Malformed VP9 payload descriptor."""


class H264Error(PacketError):
    """Malformed H.264 RTP payload."""


class Av1Error(PacketError):
    """Malformed AV1 RTP payload."""


class RtxError(PacketError):
    """Malformed RTX packet."""


class RedError(PacketError):
    """Malformed RED (RFC 2198) payload."""
