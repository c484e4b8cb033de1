"""One peer connection's transport: ICE (``IceLink``) under DTLS-SRTP (``MediaDtls``), bundled and rtcp-muxed.

States: ``new`` → ``connecting`` → ``connected``; then ``closed`` (closed here, or by the peer's DTLS
close_notify) or ``failed`` (ICE checks or the DTLS handshake failed or outlasted ``connect_timeout_s``, or ICE
consent expired: the peer vanished). ``closed`` and ``failed`` are final.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from aioice import Candidate
from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsFingerprint, RTCDtlsParameters

from weir.rtc.config import IceConfig
from weir.rtc.ice import parse_candidate
from weir.sfu.rtc.dtls import MediaDtls, PacketHandler
from weir.sfu.rtc.inbound import MediaLink
from weir.sfu.rtc.udpmux import SharedSockets

__all__ = ["LocalTransport", "PeerTransport", "RemoteTransport", "TransportState"]

logger = logging.getLogger(__name__)

TransportState = Literal["new", "connecting", "connected", "closed", "failed"]
FINGERPRINT_ALGORITHM = "sha-256"


@dataclass(frozen=True)
class RemoteTransport:
    """The peer's transport attributes from its description."""

    ufrag: str
    pwd: str
    fingerprints: tuple[tuple[str, str], ...]  # (algorithm, value)
    setup: str  # the peer's a=setup: actpass, active or passive
    candidates: tuple[str, ...] = ()
    end_of_candidates: bool = False


@dataclass(frozen=True)
class LocalTransport:
    """What the SFU writes into each m-section of its description."""

    ufrag: str
    pwd: str
    fingerprint: tuple[str, str]
    setup: str
    candidates: tuple[str, ...]


class PeerTransport:
    def __init__(
        self,
        config: IceConfig,
        certificate: RTCCertificate,
        *,
        controlling: bool,
        on_rtp: PacketHandler,
        on_rtcp: PacketHandler,
        on_state: Callable[[TransportState], None],
        sockets: SharedSockets | None = None,
    ) -> None:
        """``sockets``: the worker's shared sockets to gather on, else a socket per connection."""
        self._config = config
        self._certificate = certificate
        self._on_state = on_state
        self.link = MediaLink(config, controlling=controlling, sockets=sockets)
        self.dtls = MediaDtls(self.link, certificate, on_rtp, on_rtcp)
        self.dtls.on("statechange", self._dtls_changed)
        self.send_rtp = self.dtls.send_rtp
        self.send_rtcp = self.dtls.send_rtcp
        self.state: TransportState = "new"
        self._remote: RemoteTransport | None = None
        self._early: list[Candidate | None] = []  # trickled before the first remote description
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def remote_ufrag(self) -> str | None:
        return None if self._remote is None else self._remote.ufrag

    async def gather(self) -> None:
        await self.link.gather()

    def local(self, setup: str) -> LocalTransport:
        connection = self.link.newest
        fingerprint = next(f for f in self._certificate.getFingerprints() if f.algorithm == FINGERPRINT_ALGORITHM)
        return LocalTransport(
            ufrag=connection.local_username,
            pwd=connection.local_password,
            fingerprint=(fingerprint.algorithm, fingerprint.value),
            setup=setup,
            candidates=tuple(c.to_sdp() for c in connection.local_candidates),
        )

    async def begin_restart(self) -> None:
        """New local ICE credentials for the next description; media keeps flowing on the old path."""
        await self.link.begin_restart()

    async def apply_remote(self, remote: RemoteTransport, dtls_role: Literal["client", "server"]) -> None:
        """Take the peer's attributes: start on the first, finish an ICE restart when its ufrag changed."""
        if self.state in ("closed", "failed"):
            return
        first = self._remote is None
        restart = not first and self._remote is not None and remote.ufrag != self._remote.ufrag
        if first or restart:
            self._remote = remote
        for line in remote.candidates:
            await self.add_remote_candidate(line)
        if first:
            for candidate in self._early:
                await self.link.add_remote_candidate(candidate)
            self._early.clear()
        if remote.end_of_candidates:
            await self.link.add_remote_candidate(None)
        if first:
            self.dtls._set_role(dtls_role)
            self._spawn(self._connect(remote))
        elif restart:
            self._spawn(self._restart(remote))

    async def add_remote_candidate(self, line: str | None) -> None:
        """A trickled candidate (its SDP form) or None for end-of-candidates; ValueError when malformed.

        Before the first remote description they wait for it: a client may trickle after answering an offer that
        a newer one replaced (the SFU ignores that answer), and its end-of-candidates must not close the
        candidate list before the answer that counts brings its candidates."""
        candidate = None if line is None else parse_candidate(line)
        if self._remote is None:
            self._early.append(candidate)
            return
        await self.link.add_remote_candidate(candidate)

    async def _connect(self, remote: RemoteTransport) -> None:
        self._set_state("connecting")
        parameters = RTCDtlsParameters(
            fingerprints=[RTCDtlsFingerprint(algorithm=a, value=v) for a, v in remote.fingerprints]
        )
        try:
            async with asyncio.timeout(self._config.connect_timeout_s):
                await self.link.connect(remote.ufrag, remote.pwd)
                await self.dtls.start(parameters)
        except (TimeoutError, ConnectionError) as exc:
            logger.info("transport failed to connect: %r", exc)
            self._set_state("failed")
            return
        if self.dtls.connected:
            self.link.inlet.sink = self.dtls.receive_srtp
        self._set_state("connected" if self.dtls.connected else "failed")

    async def _restart(self, remote: RemoteTransport) -> None:
        try:
            async with asyncio.timeout(self._config.connect_timeout_s):
                await self.link.finish_restart(remote.ufrag, remote.pwd)
        except (TimeoutError, ConnectionError) as exc:
            logger.info("ICE restart failed, keeping the old path: %r", exc)

    def _dtls_changed(self) -> None:
        if self.dtls.state in ("closed", "failed"):
            self.link.inlet.sink = None
        if self.state == "connected" and self.dtls.state in ("closed", "failed"):
            self._set_state("failed" if self.link.lost else "closed")

    def _set_state(self, state: TransportState) -> None:
        if state != self.state and self.state not in ("closed", "failed"):
            self.state = state
            self._on_state(state)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        self._set_state("closed")
        for task in list(self._tasks):
            task.cancel()
        await self.dtls.stop()
        await self.link.close()
