"""``Demux``: sorts each datagram on an SFU media port by its first byte (RFC 7983) and hands it on at once.

STUN (0-3) goes to ICE, DTLS (20-63) to the DTLS handshake, SRTP and SRTCP (128-191) straight to the media
sink, which unprotects and forwards synchronously: no queue and no ``await`` between the socket and the
subscribers' sockets. Everything else (an empty datagram, ZRTP 16-19, TURN channel data 64-79, any other first
byte) is dropped and counted by reason; sorting never raises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["DROP_REASONS", "ROUTE", "Demux"]

Address = tuple[Any, ...]
DROP_REASONS = ("empty", "zrtp", "turn_channel", "unknown")


def _sink_for(first: int) -> int:
    """0 STUN, 1 DTLS, 2 SRTP/SRTCP, or minus the index of a drop reason (RFC 7983 section 7)."""
    if 128 <= first < 192:
        return 2
    if first < 4:
        return 0
    if 16 <= first < 20:
        return -1
    if 20 <= first < 64:
        return 1
    return -2 if 64 <= first < 80 else -3


ROUTE = bytes(_sink_for(b) & 0xFF for b in range(256))  # one lookup per datagram; a drop as 0x100 - its index


class Demux:
    """Routes datagrams to ``stun(data, addr)``, ``dtls(data)`` and ``media(data)``; ``dropped`` counts the rest."""

    __slots__ = ("dropped", "dtls", "media", "stun")

    def __init__(self, stun: Callable[[bytes, Address], None], dtls: Callable[[bytes], None],
                 media: Callable[[bytes], None]) -> None:
        self.stun = stun
        self.dtls = dtls
        self.media = media
        self.dropped = dict.fromkeys(DROP_REASONS, 0)

    def __call__(self, data: bytes, addr: Address) -> None:
        if not data:
            self.dropped["empty"] += 1
            return
        route = ROUTE[data[0]]
        if route == 2:
            self.media(data)
        elif route == 0:
            self.stun(data, addr)
        elif route == 1:
            self.dtls(data)
        else:
            self.dropped[DROP_REASONS[0x100 - route]] += 1
