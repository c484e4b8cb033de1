"""Weir's SFU media plane: packet-level forwarding, no transcoding.

Wire formats (``rtp``, ``rtcp``, ``codecs``) import nothing but ``struct``; the forwarding path
(``receiver`` → ``downtrack`` → ``forwarder`` → ``munger``) does no I/O: sockets and SRTP sit behind the sinks.
The package imports only ``protocol``, ``domain``, ``bus`` and ``config`` of Weir: it reaches the coordinator
through ``CoordinatorLink`` and is reached through ``MediaEntry``; the coordinator's side is ``weir.coordinator.sfu``.
"""

from weir.sfu.downtrack import DownTrack
from weir.sfu.errors import PacketError, RtcpError, RtpError, Vp8Error
from weir.sfu.forwarder import DropReason
from weir.sfu.packet import InboundPacket
from weir.sfu.receiver import Receiver

__all__ = ["DownTrack", "DropReason", "InboundPacket", "PacketError", "Receiver", "RtcpError", "RtpError", "Vp8Error"]
