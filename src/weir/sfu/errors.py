"""The SFU's exception tree.

::

    ValueError
     └── PacketError        malformed bytes from the network; the packet is dropped, nothing else happens
          ├── RtpError      RTP header, CSRC list, header extensions, padding (rtp.py)
          ├── RtcpError     any packet of a compound RTCP datagram (rtcp.py)
          └── Vp8Error      VP8 payload descriptor (codecs/vp8.py)

Parsers raise only these: never ``IndexError`` or ``struct.error``.
"""

from __future__ import annotations

__all__ = ["PacketError", "RtcpError", "RtpError", "Vp8Error"]


class PacketError(ValueError):
    """Malformed media or control bytes."""


class RtpError(PacketError):
    """Malformed RTP packet."""


class RtcpError(PacketError):
    """Malformed RTCP packet."""


class Vp8Error(PacketError):
    """Malformed VP8 payload descriptor."""
