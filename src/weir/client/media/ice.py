"""ICE for the SDK's aiortc peer connections: the SFU's host-address rule, and ICE restarts aiortc lacks.

aiortc gathers from every interface except loopback, has no argument to change that, and cannot restart ICE.
``HostIce.attach(pc, config)`` gives each not-yet-gathered ICE transport of ``pc`` (one, with max-bundle) an
``IceLink`` (weir.rtc.ice, the SFU's too): its ``HostConnection`` gathers exactly ``config.host_addresses``
(``IceConfig.from_env()``: ``WEIR_ICE_HOST_ADDRESSES``, or 127.0.0.1 alone where only loopback exists), and its
restart gathers a second connection with new credentials that is swapped in once its checks succeed, while DTLS
and SRTP carry on over the new path.
"""

from __future__ import annotations

from aiortc import RTCPeerConnection
from aiortc.rtcicetransport import RTCIceTransport

from weir.rtc.aiortc_adapter import (
    ice_connection,
    ice_monitor_paused,
    install_ice_side,
    set_gathering_connection,
    swap_ice_connection,
)
from weir.rtc.config import IceConfig
from weir.rtc.ice import HostConnection, IceLink, parse_candidate
from weir.rtc.sdp import parse

__all__ = ["HostIce", "IceConfig"]


class HostIce:
    """The ICE link under one peer connection's (bundled) transport."""

    def __init__(self, config: IceConfig, *, controlling: bool) -> None:
        self.config = config
        self.controlling = controlling
        self.link: IceLink | None = None
        self._transport: RTCIceTransport | None = None

    def attach(self, pc: RTCPeerConnection) -> None:
        """Swap in the host-address connection on transports that have not gathered yet (call before
        ``createOffer`` / ``createAnswer``)."""
        for transceiver in pc.getTransceivers():
            ice = transceiver.sender.transport.transport
            if isinstance(ice_connection(ice), HostConnection) or ice.iceGatherer.state != "new":
                continue
            link = IceLink(self.config, controlling=self.controlling)
            install_ice_side(ice, link)
            self.link, self._transport = link, ice

    async def add_candidate(self, candidate: str | None) -> None:
        """A trickled remote candidate (its SDP form), or None: end of candidates."""
        if self.link is not None:
            await self.link.add_remote_candidate(None if candidate is None else parse_candidate(candidate))

    @property
    def restarting(self) -> bool:
        return self.link is not None and self.link.restarting

    async def begin_restart(self) -> None:
        """New credentials and candidates for the next local description; the old path keeps carrying media."""
        if self.link is None or self._transport is None:
            return
        await self.link.begin_restart()
        set_gathering_connection(self._transport, self.link.newest)

    async def finish_restart(self, remote_sdp: str) -> None:
        """Check the new path with the peer's new credentials (and its candidates in ``remote_sdp``), then swap."""
        link, ice = self.link, self._transport
        if link is None or ice is None or not link.restarting:
            return
        media = parse(remote_sdp).media[0]  # max-bundle: the first m-section's transport is the one
        for line in media.candidates:
            await link.add_remote_candidate(parse_candidate(line))
        with ice_monitor_paused(ice):
            try:
                await link.finish_restart(media.ice_ufrag, media.ice_pwd)
            finally:
                swap_ice_connection(ice, link.connection)
