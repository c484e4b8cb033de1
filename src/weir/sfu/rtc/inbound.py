"""The SFU's inbound media path: from ``datagram_received`` to the packet core with no queue and no ``await``.

aioice's protocol parses every datagram as STUN first (for RTP, by raising and catching ``ValueError``), then
queues what is not STUN for aiortc's DTLS transport, whose reading task awaits the queue and then the packet's
handlers. Here each gathered socket is read by a ``DemuxProtocol``, which sorts datagrams by their first byte
(``Demux``, RFC 7983): STUN still goes to aioice, DTLS still goes through the queue to the handshake (rare
after it), and SRTP/SRTCP goes to ``MediaInlet.sink``, set once DTLS has the keys: ``MediaDtls.receive_srtp``,
which unprotects and calls the packet core. Until then media takes aiortc's way, which drops it without keys.

``MediaLink`` is the ``IceLink`` whose connections, the ICE restart's too, read their sockets this way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from aioice import Connection

from weir.rtc.config import IceConfig
from weir.rtc.ice import COMPONENT, HostConnection, IceLink, SturdyStunProtocol
from weir.sfu.rtc.demux import Demux

__all__ = ["DemuxProtocol", "MediaConnection", "MediaInlet", "MediaLink"]


class MediaInlet:
    """Where a link's SRTP/SRTCP datagrams go: ``sink`` while the DTLS transport has its keys, else None."""

    __slots__ = ("sink",)

    def __init__(self) -> None:
        self.sink: Callable[[bytes], None] | None = None


class DemuxProtocol(SturdyStunProtocol):
    """Reads one gathered socket: each datagram sorted by ``demux`` at once."""

    def __init__(self, receiver: Connection) -> None:
        super().__init__(receiver)
        connection = cast(MediaConnection, receiver)  # only a MediaConnection gathers with this protocol
        self.demux = Demux(super().datagram_received, connection.dtls_received, connection.media_received)

    def datagram_received(self, data: bytes | str, addr: tuple[Any, ...]) -> None:
        self.demux(data, addr)  # type: ignore[arg-type]  # a datagram transport gives bytes


class MediaConnection(HostConnection):
    """A host connection whose sockets are read by ``DemuxProtocol``s feeding ``inlet``."""

    protocol_class = DemuxProtocol

    def __init__(self, config: IceConfig, *, controlling: bool, inlet: MediaInlet) -> None:
        super().__init__(config, controlling=controlling)
        self.inlet = inlet

    def media_received(self, data: bytes) -> None:
        sink = self.inlet.sink
        if sink is None:
            self.data_received(data, COMPONENT)  # before the keys: aiortc's reading task sees it (and drops it)
        else:
            sink(data)

    def dtls_received(self, data: bytes) -> None:
        self.data_received(data, COMPONENT)


class MediaLink(IceLink):
    """An ``IceLink`` whose media datagrams reach ``inlet.sink`` synchronously."""

    def __init__(self, config: IceConfig, *, controlling: bool) -> None:
        self.inlet = MediaInlet()
        super().__init__(config, controlling=controlling)

    def _new_connection(self) -> HostConnection:
        return MediaConnection(self._config, controlling=self._controlling, inlet=self.inlet)
