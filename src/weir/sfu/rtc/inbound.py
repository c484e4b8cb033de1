"""The SFU's inbound media path: from ``datagram_received`` to the packet core with no queue and no ``await``.

aioice's protocol parses every datagram as STUN first (for RTP, by raising and catching ``ValueError``), then
queues what is not STUN for aiortc's DTLS transport, whose reading task awaits the queue and then the packet's
handlers. Here each gathered socket is read by a ``DemuxProtocol``, which sorts datagrams by their first byte
(``Demux``, RFC 7983): STUN still goes to aioice, DTLS still goes through the queue to the handshake (rare
after it), and SRTP/SRTCP goes to ``MediaInlet.sink``, set once DTLS has the keys: ``MediaDtls.receive_srtp``,
which unprotects and calls the packet core. Until then media takes aiortc's way, which drops it without keys.

``MediaLink`` is the ``IceLink`` whose connections, the ICE restart's too, read their sockets this way. Given a
worker's ``SharedSockets`` (udpmux.py), its connections gather on the worker's shared socket instead, whose
``UdpMux`` sorts the datagrams the same way and by connection.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, cast

from aioice import Connection
from aioice.ice import CandidatePair, StunProtocol

from weir.rtc.aiortc_adapter import check_succeeded
from weir.rtc.config import IceConfig
from weir.rtc.ice import COMPONENT, HostConnection, IceLink, SturdyStunProtocol
from weir.sfu.rtc.demux import Demux
from weir.sfu.rtc.udpmux import MuxedProtocol, SharedSockets, new_ufrag

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
    """A host connection feeding ``inlet``: from its own sockets, each read by a ``DemuxProtocol``, or from the
    worker's shared ones (``sockets``)."""

    protocol_class = DemuxProtocol

    def __init__(self, config: IceConfig, *, controlling: bool, inlet: MediaInlet,
                 sockets: SharedSockets | None = None) -> None:
        super().__init__(config, controlling=controlling, local_username=None if sockets is None else new_ufrag())
        self.inlet = inlet
        self._sockets = sockets

    async def open_socket(self, address: str) -> tuple[StunProtocol, socket.socket]:
        if self._sockets is None:
            return await super().open_socket(address)
        protocol = MuxedProtocol(self, self.local_username, media=self.media_received, dtls=self.dtls_received)
        mux = await self._sockets.attach(address, protocol)
        return protocol, mux.socket

    def check_state(self, pair: CandidatePair, state: CandidatePair.State) -> None:
        super().check_state(pair, state)
        if check_succeeded(pair, state) and isinstance(pair.protocol, MuxedProtocol):
            pair.protocol.validated(pair.remote_addr)

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

    def __init__(self, config: IceConfig, *, controlling: bool, sockets: SharedSockets | None = None) -> None:
        self.inlet = MediaInlet()
        self._sockets = sockets
        super().__init__(config, controlling=controlling)

    def _new_connection(self) -> HostConnection:
        return MediaConnection(self._config, controlling=self._controlling, inlet=self.inlet, sockets=self._sockets)
