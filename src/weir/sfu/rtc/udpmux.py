"""One UDP socket per SFU worker and configured address, shared by every ICE connection of that worker.

With a socket per connection, each subscriber's packets leave through its own descriptor and each inbound
datagram wakes its own socket; shared, a worker's fan-out goes out of one socket (and can leave in one
``sendmmsg``, weir.sfu.rtc.srtpsend), and every transport's host candidate advertises the same port.

``SharedSockets`` (one per worker) binds a ``UdpMux`` per address on first use and closes it when its last
connection closes. Each ICE connection gets a ``MuxedProtocol`` per address: an aioice ``StunProtocol`` whose
transport writes to the shared socket, so aioice still runs the checks, nomination and consent. The mux sorts
each datagram (RFC 7983, as ``Demux``):

- a STUN request goes to the connection whose local ufrag opens its USERNAME (``local:remote``);
- a STUN response goes to the connection that has its transaction open;
- DTLS, SRTP and SRTCP go to the connection bound to the datagram's source address; an address is bound when
  one of that connection's own checks to it succeeded (``MediaConnection.check_state``), never before.

Anything else (no such ufrag, no such transaction, a source no check validated, a malformed STUN message, the
first bytes ``Demux`` drops) is dropped and counted in ``UdpMux.dropped`` (``SharedSockets.dropped``: the worker's
totals, in ``/metrics``). An ICE restart gathers a new
connection with new credentials on the same socket; the address moves to it once its checks succeed.

While an inbound SRTP/SRTCP datagram is handled (``SharedSockets.forward``: unprotected, forwarded to every
subscriber), the RTP that ``NativeSender`` sends is protected at once but queued in its socket's ``Batch``
(the C extension; the sender's ``Outlet`` is aimed with it), and the whole fan-out leaves in one ``sendmmsg``
when the handler returns. What the socket would not take goes to its asyncio transport, which queues it.

``WEIR_SFU_UDP_MUX=0`` gives every connection its own socket again (for comparison; on by default).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import string
import struct
from collections.abc import Callable, Mapping
from typing import Any

from aioice import Connection, stun

from weir.rtc.aiortc_adapter import awaits_response
from weir.rtc.config import IceConfig
from weir.rtc.ice import SturdyStunProtocol, bind_udp
from weir.sfu.rtc._srtpsend import Batch
from weir.sfu.rtc.demux import DROP_REASONS, ROUTE

__all__ = ["MUX_DROP_REASONS", "MuxedProtocol", "SharedSockets", "UdpMux", "mux_enabled", "shared_sockets"]

logger = logging.getLogger(__name__)

Address = tuple[Any, ...]
MUX_DROP_REASONS = (*DROP_REASONS, "unbound_source", "unknown_ufrag", "stray_response", "malformed_stun")
UFRAG_ALPHABET = string.ascii_letters + string.digits
UFRAG_LENGTH = 16  # aioice's 4 characters would collide among a worker's transports


def mux_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """``WEIR_SFU_UDP_MUX``: "0" for a socket per connection, anything else (or unset) for the shared socket."""
    return (os.environ if environ is None else environ).get("WEIR_SFU_UDP_MUX", "1").strip() != "0"


def shared_sockets(config: IceConfig) -> SharedSockets | None:
    """A worker's shared sockets for ``config``, or None when ``WEIR_SFU_UDP_MUX=0``."""
    return SharedSockets(config) if mux_enabled() else None


def new_ufrag() -> str:
    return "".join(secrets.choice(UFRAG_ALPHABET) for _ in range(UFRAG_LENGTH))


class MuxedTransport(asyncio.DatagramTransport):
    """One connection's view of the shared socket: sends go to it, closing only detaches the connection."""

    def __init__(self, mux: UdpMux, protocol: MuxedProtocol) -> None:
        super().__init__()
        self._mux = mux
        self._protocol = protocol
        self._closing = False

    def sendto(self, data: Any, addr: Any = None) -> None:
        if not self._closing:
            self._mux.sendto(data, addr)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._mux.extra_info(name, default)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._mux.detach(self._protocol)
            asyncio.get_running_loop().call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()


class MuxedProtocol(SturdyStunProtocol):
    """One ICE connection's protocol on a shared socket: the mux hands it STUN; it binds validated addresses."""

    def __init__(self, receiver: Connection, ufrag: str, *, media: Callable[[bytes], None],
                 dtls: Callable[[bytes], None]) -> None:
        """``media`` takes the connection's SRTP and SRTCP datagrams, ``dtls`` its DTLS ones."""
        super().__init__(receiver)
        self.ufrag = ufrag
        self.media = media
        self.dtls = dtls
        self.mux: UdpMux | None = None
        self.addresses: set[Address] = set()  # sources its checks validated

    def validated(self, address: Address) -> None:
        """A check of this connection to ``address`` succeeded: its datagrams are this connection's from now."""
        if self.mux is not None and not self.transport.is_closing():
            self.mux.bind(address, self)


class UdpMux(asyncio.DatagramProtocol):
    """The shared socket of one address, and which connection each datagram on it belongs to."""

    def __init__(self, pool: SharedSockets, address: str, sock: socket.socket) -> None:
        self._sockets_owner = pool
        self.address = address
        self.socket = sock
        self.port: int = sock.getsockname()[1]
        self._v6 = sock.family == socket.AF_INET6
        self.transport: asyncio.DatagramTransport | None = None
        self._by_ufrag: dict[str, MuxedProtocol] = {}
        self._bound: dict[Address, MuxedProtocol] = {}
        self.dropped = dict.fromkeys(MUX_DROP_REASONS, 0)
        self.batch = Batch(sock.fileno())
        self.flushes = 0  # fan-outs sent from the batch
        self.unsent = 0  # batched datagrams the socket would not take, handed to the asyncio transport
        self.ready: asyncio.Future[Any] = asyncio.ensure_future(
            asyncio.get_running_loop().create_datagram_endpoint(lambda: self, sock=sock))

    @property
    def connections(self) -> int:
        return len(self._by_ufrag)

    # the connections

    def attach(self, protocol: MuxedProtocol) -> None:
        if protocol.ufrag in self._by_ufrag:
            raise ValueError(f"ICE ufrag {protocol.ufrag!r} is taken on this socket")
        self._by_ufrag[protocol.ufrag] = protocol
        protocol.mux = self

    def detach(self, protocol: MuxedProtocol) -> None:
        if self._by_ufrag.get(protocol.ufrag) is protocol:
            del self._by_ufrag[protocol.ufrag]
        for address in protocol.addresses:
            if self._bound.get(address) is protocol:
                del self._bound[address]
        protocol.addresses.clear()
        protocol.mux = None
        if not self._by_ufrag:
            self._sockets_owner.closed(self)
            self.close()

    def bind(self, address: Address, protocol: MuxedProtocol) -> None:
        self._bound[address] = protocol  # an ICE restart on the same peer socket moves it to the new connection
        protocol.addresses.add(address)

    def close(self) -> None:
        self.batch.close()
        if self.transport is not None:
            self.transport.close()
        elif not self.ready.done():
            self.ready.cancel()
            self.socket.close()

    # the fan-out

    def flush(self) -> None:
        """Send what the batch holds; what the socket would not take goes to its asyncio transport."""
        self.flushes += 1
        unsent = self.batch.flush()
        if unsent is not None and self.transport is not None:
            self.unsent += len(unsent)
            for datagram, addr in unsent:
                self.transport.sendto(datagram, addr)

    # the socket

    def sendto(self, data: bytes, addr: Address) -> None:
        if self.transport is not None:
            self.transport.sendto(data, addr)

    def extra_info(self, name: str, default: Any = None) -> Any:
        return default if self.transport is None else self.transport.get_extra_info(name, default)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint's

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            logger.warning("ICE: the shared socket on %s:%d failed: %r", self.address, self.port, exc)
        for protocol in list(self._by_ufrag.values()):
            protocol.connection_lost(exc)

    def error_received(self, exc: Exception) -> None:
        logger.debug("ICE: shared socket %s:%d: %r", self.address, self.port, exc)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if not data:
            self.dropped["empty"] += 1
            return
        if self._v6:
            addr = addr[:2]
        route = ROUTE[data[0]]
        if route == 2 or route == 1:  # SRTP/SRTCP or DTLS: only from a source a check validated
            protocol = self._bound.get(addr)
            if protocol is None:
                self.dropped["unbound_source"] += 1
            elif route == 2:
                self._sockets_owner.forward(protocol.media, data)
            else:
                protocol.dtls(data)
        elif route == 0:
            self._stun_received(data, addr)
        else:
            self.dropped[DROP_REASONS[0x100 - route]] += 1

    def _stun_received(self, data: bytes, addr: Address) -> None:
        try:
            message = stun.parse_message(data)
        except (ValueError, struct.error):
            self.dropped["malformed_stun"] += 1
            return
        if message.message_class == stun.Class.REQUEST:
            username = message.attributes.get("USERNAME")
            local = username.split(":", 1)[0] if isinstance(username, str) else None
            protocol = self._by_ufrag.get(local) if local else None
            if protocol is None:
                self.dropped["unknown_ufrag"] += 1
                return
        elif message.message_class in (stun.Class.RESPONSE, stun.Class.ERROR):
            tid = message.transaction_id
            protocol = next((p for p in self._by_ufrag.values() if awaits_response(p, tid)), None)
            if protocol is None:
                self.dropped["stray_response"] += 1
                return
        else:  # an indication: aioice ignores them
            return
        protocol.datagram_received(data, addr)


class SharedSockets:
    """A worker's shared sockets: one ``UdpMux`` per configured address, bound while connections use it."""

    def __init__(self, config: IceConfig) -> None:
        self._config = config
        self._muxes: dict[str, UdpMux] = {}
        self._open: tuple[UdpMux, ...] = ()  # the muxes' values, read per inbound datagram
        self._closed_drops = dict.fromkeys(MUX_DROP_REASONS, 0)  # of the sockets closed so far

    def dropped(self) -> dict[str, int]:
        """Datagrams dropped by reason, since this worker started (sockets closed since included), for /metrics."""
        totals = dict(self._closed_drops)
        for mux in self._muxes.values():
            for reason, count in mux.dropped.items():
                totals[reason] += count
        return totals

    def forward(self, handler: Callable[[bytes], None], data: bytes) -> None:
        """``handler(data)``, with the RTP it sends on these sockets flushed in one ``sendmmsg`` per socket."""
        muxes = self._open
        for mux in muxes:
            mux.batch.begin()
        try:
            handler(data)
        finally:
            for mux in muxes:
                mux.flush()

    def mux(self, address: str) -> UdpMux | None:
        return self._muxes.get(address)

    async def attach(self, address: str, protocol: MuxedProtocol) -> UdpMux:
        """Put ``protocol`` on the socket of ``address`` (bound now if none is); OSError when it cannot be."""
        mux = self._muxes.get(address)
        if mux is None:
            sock = bind_udp(address, self._config.port_min, self._config.port_max)
            mux = self._muxes[address] = UdpMux(self, address, sock)
            self._open = tuple(self._muxes.values())
        mux.attach(protocol)
        try:
            await asyncio.shield(mux.ready)
        except BaseException:
            mux.detach(protocol)
            raise
        protocol.connection_made(MuxedTransport(mux, protocol))
        return mux

    def closed(self, mux: UdpMux) -> None:
        if self._muxes.get(mux.address) is mux:
            del self._muxes[mux.address]
            self._open = tuple(self._muxes.values())
            for reason, count in mux.dropped.items():
                self._closed_drops[reason] += count
