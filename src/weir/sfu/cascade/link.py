"""``RelayLink``: an SFU's relay socket, SRTP over UDP to each other SFU hosting one of its calls.

One UDP socket per SFU. Each peer SFU has its own SRTP session pair (AES-128-GCM), keyed per direction by keys
the control channel handed both ends, and is known by its address: a datagram from anywhere else, or one that
does not authenticate, is dropped and counted. Receiving is synchronous, as on the media plane: the datagram
is unprotected and handed to the relayed track's receiver, and on to its subscribers, before
``datagram_received`` returns. Every ``REFRESH_SECONDS`` each outbound relay re-checks which layers arrive and
each inbound one repeats its layer demand (the relay may lose it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import cast

import pylibsrtp

from weir.sfu.cascade.inbound import RelayIn
from weir.sfu.cascade.outbound import RelayOut
from weir.sfu.cascade.wire import ARRIVING_NAME, PROFILE, LayerDemand, RelayTrackSpec
from weir.sfu.errors import PacketError
from weir.sfu.packetbuffer import VIDEO_BUFFER_PACKETS
from weir.sfu.receiver import Receiver
from weir.sfu.rtcp import Fir, Nack, Pli, parse_compound

__all__ = ["REFRESH_SECONDS", "RelayLink", "RelayPeer", "srtp_session"]

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.5
RTCP_FIRST, RTCP_LAST = 192, 223  # RFC 5761: the second byte of RTCP (SR 200 ... APP 204, feedback 205/206)
Address = tuple[str, int]


def srtp_session(key: bytes, ssrc_type: int) -> pylibsrtp.Session:
    policy = pylibsrtp.Policy(key=key, ssrc_type=ssrc_type, srtp_profile=PROFILE)
    policy.allow_repeat_tx = True  # a NACKed packet goes again with its sequence number
    policy.window_size = VIDEO_BUFFER_PACKETS  # and may be as old as the publisher's buffer
    return pylibsrtp.Session(policy)


class RelayPeer:
    """Another SFU: the tracks relayed to it and from it."""

    __slots__ = ("_rx", "_transport", "_tx", "address", "errors", "ins", "keys", "outs", "received", "refused",
                 "sender_ssrc")

    def __init__(self, transport: asyncio.DatagramTransport, address: Address, tx_key: bytes, rx_key: bytes,
                 sender_ssrc: int) -> None:
        self._transport = transport
        self.address = address
        self.keys = tx_key, rx_key
        self._tx = srtp_session(tx_key, pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
        self._rx = srtp_session(rx_key, pylibsrtp.Policy.SSRC_ANY_INBOUND)
        self.sender_ssrc = sender_ssrc
        self.outs: dict[int, tuple[RelayOut, int]] = {}  # relay SSRC → (outbound relay, layer)
        self.ins: dict[int, tuple[RelayIn, int]] = {}  # relay SSRC → (inbound relay, layer)
        self.received = 0  # relayed RTP packets of known tracks
        self.refused = 0  # datagrams that failed to unprotect
        self.errors = 0  # malformed RTCP, and handler faults

    # --- sending ---------------------------------------------------------------------------------------------
    def send_rtp(self, packet: bytes | bytearray) -> None:
        self._transport.sendto(self._tx.protect(bytes(packet)), self.address)

    def send_rtcp(self, packet: bytes) -> None:
        self._transport.sendto(self._tx.protect_rtcp(packet), self.address)

    def relay_out(self, spec: RelayTrackSpec, receiver: Receiver) -> RelayOut:
        """Relay a local track to this peer; nothing flows until the peer demands layers."""
        out = RelayOut(spec, receiver, self.send_rtp, send_rtcp=self.send_rtcp)
        for layer, ssrc in enumerate(spec.ssrcs):
            self.outs[ssrc] = (out, layer)
        receiver.add_downtrack(out)
        return out

    def stop_out(self, out: RelayOut) -> None:
        for ssrc in out.spec.ssrcs:
            self.outs.pop(ssrc, None)
        out.demand(frozenset())

    def relay_in(self, spec: RelayTrackSpec) -> RelayIn:
        """Receive a track this peer relays; its receiver is where local subscribers attach."""
        relayed = RelayIn(spec, self.send_rtcp, self.sender_ssrc)
        self.feed(relayed)
        return relayed

    def feed(self, relayed: RelayIn) -> None:
        """This peer's packets of ``relayed``'s SSRCs go to it (a track's feed moved here: ``RelayIn.reroute``)."""
        for layer, ssrc in enumerate(relayed.spec.ssrcs):
            self.ins[ssrc] = (relayed, layer)

    def unfeed(self, relayed: RelayIn) -> None:
        for ssrc in relayed.spec.ssrcs:
            if (found := self.ins.get(ssrc)) is not None and found[0] is relayed:
                del self.ins[ssrc]

    def stop_in(self, relayed: RelayIn) -> None:
        self.unfeed(relayed)
        relayed.close()

    # --- receiving -------------------------------------------------------------------------------------------
    def receive(self, data: bytes) -> None:
        try:
            if RTCP_FIRST <= data[1] <= RTCP_LAST:
                self._rtcp(self._rx.unprotect_rtcp(data))
            else:
                self._rtp(self._rx.unprotect(data))
        except (pylibsrtp.Error, ValueError, IndexError):
            self.refused += 1
        except PacketError:
            self.errors += 1
        except Exception:  # a bug costs one packet, never the socket
            self.errors += 1
            log.exception("relay datagram from %s failed", self.address)

    def _rtp(self, data: bytes) -> None:
        found = self.ins.get(int.from_bytes(data[8:12]))
        if found is not None:
            self.received += 1
            relayed = found[0]
            packet = relayed.receiver.receive(data, found[1], time.monotonic_ns())
            if packet is not None and packet.audio_level >= 0 and relayed.on_audio is not None:
                relayed.on_audio(packet.audio_level, packet.voice)

    def _rtcp(self, data: bytes) -> None:
        demand = LayerDemand.parse(data)
        if demand is not None:
            if demand.name == ARRIVING_NAME:
                if (arriving := self.ins.get(demand.ssrc)) is not None:
                    arriving[0].receiver.report_arrivals(demand.layer_set(), time.monotonic_ns())
            elif (found := self.outs.get(demand.ssrc)) is not None:
                found[0].demand(demand.layer_set())
            return
        for packet in parse_compound(data):
            if isinstance(packet, Nack):
                if (found := self.outs.get(packet.media_ssrc)) is not None:
                    found[0].handle_nack(found[1], packet.lost)
            elif isinstance(packet, Pli):
                if (found := self.outs.get(packet.media_ssrc)) is not None:
                    found[0].handle_keyframe_request(found[1])
            elif isinstance(packet, Fir):
                for ssrc, _ in packet.entries:
                    if (found := self.outs.get(ssrc)) is not None:
                        found[0].handle_keyframe_request(found[1])

    def stats(self) -> dict[str, object]:
        """What goes to and comes from this peer: tracks and layers relayed each way, packets and bytes sent."""
        outs = {out for out, _ in self.outs.values()}
        return {"address": list(self.address), "tracks_out": sum(1 for out in outs if out.wanted_layers),
                "layers_out": sum(len(out.wanted_layers) for out in outs),
                "packets_out": sum(out.packets_sent for out in outs),
                "octets_out": sum(out.octets_sent for out in outs),
                "tracks_in": len({relayed for relayed, _ in self.ins.values()}), "packets_in": self.received}

    def refresh(self, now_ns: int) -> None:
        for out in {out for out, _ in self.outs.values()}:
            out.refresh(now_ns)
        for relayed in {relayed for relayed, _ in self.ins.values()}:
            relayed.refresh()


class RelayLink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self._transport: asyncio.DatagramTransport | None = None
        self._peers: dict[Address, RelayPeer] = {}
        self._ticker: asyncio.Task[None] | None = None
        self.strangers = 0  # datagrams from no known peer

    async def open(self, host: str, port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self._ticker = asyncio.ensure_future(self._refresh())

    @property
    def address(self) -> Address:
        assert self._transport is not None, "open the link first"
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        peer = self._peers.get(addr[:2])
        if peer is None:
            self.strangers += 1
            return
        peer.receive(data)

    def add_peer(self, address: Address, tx_key: bytes, rx_key: bytes, sender_ssrc: int) -> RelayPeer:
        """Another SFU at ``address``: we protect with ``tx_key``, it with ``rx_key``."""
        assert self._transport is not None, "open the link first"
        peer = RelayPeer(self._transport, address, tx_key, rx_key, sender_ssrc)
        self._peers[address] = peer
        return peer

    def remove_peer(self, address: Address) -> None:
        peer = self._peers.pop(address, None)
        if peer is not None:
            for out in {out for out, _ in peer.outs.values()}:
                peer.stop_out(out)

    def peer(self, address: Address) -> RelayPeer | None:
        return self._peers.get(address)

    def stats(self) -> dict[str, object]:
        """This SFU's relay: its peers' ``RelayPeer.stats``, and datagrams from strangers."""
        return {"peers": [peer.stats() for peer in self._peers.values()], "strangers": self.strangers}

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            now_ns = time.monotonic_ns()
            for peer in list(self._peers.values()):
                peer.refresh(now_ns)

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None
