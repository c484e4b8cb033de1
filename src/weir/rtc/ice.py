"""ICE for the media plane: aioice connections that gather only the configured host addresses and ports.

aioice's ``Connection`` gathers from every interface but 127.0.0.1 and binds port 0, with no argument for
either (``aioice.ice.get_host_addresses`` is a module function it calls). ``HostConnection`` is the one place
that changes this: it overrides ``gather_candidates`` to bind one UDP socket per ``IceConfig`` address inside the
configured port range, and advertises exactly those host candidates. No STUN or TURN: the SFU's addresses are
the configured ones. It also sends synchronously on the nominated pair (``send_now``), so forwarding a packet
needs no ``await``.

``IceLink`` is what aiortc's ``RTCDtlsTransport`` reads and writes through (``_recv`` / ``_send``, the two
members it uses of ``RTCIceTransport``). It holds one connection at a time; an ICE restart gathers a second one
with new credentials and swaps it in once its checks succeed, so DTLS and SRTP carry on over the new path.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
import struct
from typing import Any

from aioice import Candidate, Connection
from aioice.candidate import candidate_foundation, candidate_priority
from aioice.ice import StunProtocol
from aioice.turn import UDP_SOCKET_BUFFER_SIZE

from weir.rtc.aiortc_adapter import add_host_protocol, finish_gathering, nominated_pair, start_gathering
from weir.rtc.config import IceConfig

__all__ = ["HostConnection", "IceLink", "bind_udp", "host_candidate", "parse_candidate"]

logger = logging.getLogger(__name__)

COMPONENT = 1  # rtcp-mux: one component


def bind_udp(address: str, port_min: int, port_max: int) -> socket.socket:
    """A non-blocking UDP socket bound to ``address`` on a free port in ``port_min..port_max`` (0, 0: any)."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    ports = [0] if port_max == 0 else random.sample(range(port_min, port_max + 1), port_max - port_min + 1)
    error: OSError | None = None
    for port in ports:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_SOCKET_BUFFER_SIZE)
            sock.bind((address, port))
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sock.setblocking(False)
        return sock
    raise OSError(f"no free UDP port on {address} in {port_min}-{port_max}") from error


def parse_candidate(line: str) -> Candidate:
    """A remote candidate from its SDP form (with or without the ``candidate:`` prefix); ValueError if bad."""
    text = line.strip().removeprefix("a=").removeprefix("candidate:")
    try:
        candidate = Candidate.from_sdp(text)
    except (ValueError, IndexError, KeyError, AssertionError) as exc:
        raise ValueError(f"malformed ICE candidate {line!r}") from exc
    if not 0 < candidate.port < 65536:
        raise ValueError(f"ICE candidate port {candidate.port} out of range")
    return candidate


def host_candidate(host: str, port: int) -> Candidate:
    """The host candidate of a socket bound to ``host``:``port``."""
    return Candidate(foundation=candidate_foundation("host", "udp", host), component=COMPONENT, transport="udp",
                     priority=candidate_priority(COMPONENT, "host"), host=host, port=port, type="host")


class SturdyStunProtocol(StunProtocol):
    """aioice's protocol, dropping a STUN message whose attributes are too short for their type.

    aioice's parser raises ``struct.error`` for those, not the ``ValueError`` it catches, and anyone who can
    reach the port would get a traceback logged per datagram (found by bench/fuzz_datagrams.py)."""

    def datagram_received(self, data: bytes | str, addr: tuple[Any, ...]) -> None:
        try:
            super().datagram_received(data, addr)
        except struct.error:
            logger.debug("ICE: malformed STUN message from %s dropped", addr)


class HostConnection(Connection):
    """An aioice connection whose local candidates are one host candidate per configured address."""

    protocol_class: type[SturdyStunProtocol] = SturdyStunProtocol  # what reads each gathered socket

    def __init__(
        self,
        config: IceConfig,
        *,
        controlling: bool,
        local_username: str | None = None,
        local_password: str | None = None,
    ) -> None:
        super().__init__(ice_controlling=controlling, local_username=local_username, local_password=local_password)
        self._config = config

    async def gather_candidates(self) -> None:
        if not start_gathering(self):
            return
        for address in self._config.host_addresses:
            try:
                protocol, sock = await self.open_socket(address)
            except OSError as exc:
                logger.warning("ICE: cannot gather on %s: %s", address, exc)
                continue
            add_host_protocol(self, protocol, host_candidate(*sock.getsockname()[:2]))
        finish_gathering(self)

    async def open_socket(self, address: str) -> tuple[StunProtocol, socket.socket]:
        """A socket of this connection's own on ``address`` and the protocol reading it; OSError if none."""
        sock = bind_udp(address, self._config.port_min, self._config.port_max)
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(lambda: self.protocol_class(self), sock=sock)
        return protocol, sock

    def send_now(self, data: bytes) -> None:
        """Send on the nominated pair without awaiting; dropped silently before ICE completes or after close."""
        pair = nominated_pair(self, COMPONENT)
        if pair is not None:
            pair.protocol.transport.sendto(data, pair.remote_addr)


class IceLink:
    """The ICE side of one peer connection, as aiortc's DTLS transport sees it."""

    def __init__(self, config: IceConfig, *, controlling: bool) -> None:
        self._config = config
        self._controlling = controlling
        self.connection = self._new_connection()
        self._next: HostConnection | None = None  # an ICE restart waiting for its checks
        self._closed = False
        self.lost = False  # the connection died under us (consent expired)

    def _new_connection(self) -> HostConnection:
        return HostConnection(self._config, controlling=self._controlling)

    @property
    def role(self) -> str:
        return "controlling" if self.connection.ice_controlling else "controlled"

    def be_controlled(self) -> None:
        """Take the controlled role (the peer offered, so it controls), before the first checks."""
        self._controlling = False
        self.connection.ice_controlling = False

    @property
    def newest(self) -> HostConnection:
        """The connection whose credentials and candidates the next description carries."""
        return self._next or self.connection

    @property
    def restarting(self) -> bool:
        return self._next is not None

    async def gather(self) -> None:
        await self.newest.gather_candidates()

    async def add_remote_candidate(self, candidate: Candidate | None) -> None:
        connection = self.newest
        if candidate is not None and candidate.host.endswith(".local"):
            return  # mDNS names are not resolved: the peer's checks reveal its address as peer-reflexive
        try:
            await connection.add_remote_candidate(candidate)
        except ValueError:
            pass  # after end-of-candidates: a late candidate, or a second end, is ignored

    async def connect(self, username: str, password: str) -> None:
        """Run the first connectivity checks; ConnectionError when they fail."""
        self.connection.remote_username = username
        self.connection.remote_password = password
        await self.connection.connect()

    async def begin_restart(self) -> None:
        """Gather a new connection with new credentials; the current one keeps carrying media meanwhile."""
        if self._next is None:
            self._next = self._new_connection()
            await self._next.gather_candidates()

    async def finish_restart(self, username: str, password: str) -> None:
        """Check the new connection and swap it in; on failure the old one stays (ConnectionError)."""
        fresh = self._next
        if fresh is None:
            return
        fresh.remote_username = username
        fresh.remote_password = password
        try:
            await fresh.connect()
        except BaseException:
            if self._next is fresh:
                self._next = None
            await fresh.close()
            raise
        old, self.connection, self._next = self.connection, fresh, None
        await old.close()

    async def _recv(self) -> bytes:
        while True:
            connection = self.connection
            try:
                data = await connection.recv()
            except ConnectionError:
                if connection is self.connection:
                    self.lost = not self._closed
                    raise
                continue  # swapped by an ICE restart: read the new connection
            if data:  # an empty datagram would crash aiortc's demultiplexer (it reads data[0])
                return data

    async def _send(self, data: bytes) -> None:
        await self.connection.send(data)

    def send_now(self, data: bytes) -> None:
        self.connection.send_now(data)

    async def close(self) -> None:
        self._closed = True
        if self._next is not None:
            await self._next.close()
            self._next = None
        await self.connection.close()
