"""``RelayOut``: one published track sent to one other SFU, whatever the number of subscribers behind it.

It is a member of the publisher's ``Receiver`` fan-out, like a subscriber's down-track, but forwards every layer
the other SFU asks for (``LayerDemand``) as is: no munging, the publisher's sequence numbers and timestamps under
one relay SSRC per layer, so the other SFU's own receiver and forwarders pick layers per subscriber. A demanded
layer the publisher is not sending is replaced by the one ``Receiver.available_layer`` picks, and the far side
is told which layers the publisher sends (``refresh``, every 0.5 s), so its subscribers fall back to what comes
while still asking for what they want. The far side's NACKs are answered from the publisher's buffer with the
packet itself; its PLI and FIR become keyframe requests to the publisher.

Per packet: copy the frame once, write the 12-byte header (and the audio level, if any) into its headroom, hand
it to the sink (the link protects and sends it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from weir.sfu.cascade.wire import ARRIVING_NAME, AUDIO_LEVEL_ID, LayerDemand, RelayTrackSpec
from weir.sfu.packet import EXTENSION_ROOM, InboundPacket
from weir.sfu.receiver import Receiver
from weir.sfu.rtp import write_fixed_header
from weir.sfu.seqnum import SEQ_BITS, unwrap_near

__all__ = ["RelayOut"]

RelaySink = Callable[[bytearray], object]

_LEVEL_AT = EXTENSION_ROOM - 8  # header then an 8-byte extension block end where the payload starts
_ONE_BYTE_PROFILE = b"\xbe\xde\x00\x01"


class RelayOut:
    __slots__ = ("_demand", "_now_ns", "_pt", "_receiver", "_red_pt", "_send", "_send_rtcp", "_ssrcs", "nack_hits",
                 "nack_misses", "octets_sent", "packets_sent", "spec", "wanted_layers")

    def __init__(self, spec: RelayTrackSpec, receiver: Receiver, send: RelaySink,
                 now_ns: Callable[[], int] = time.monotonic_ns, send_rtcp: Callable[[bytes], object] = bytes) -> None:
        self.spec = spec
        self._send_rtcp = send_rtcp
        self._now_ns = now_ns
        self._receiver = receiver
        self._send = send
        self._ssrcs = spec.ssrcs
        self._pt = spec.payload_type
        self._red_pt = spec.red_payload_type
        self._demand: frozenset[int] = frozenset()
        self.wanted_layers: frozenset[int] = frozenset()  # what the receiver fans out to us
        self.packets_sent = 0
        self.octets_sent = 0
        self.nack_hits = 0
        self.nack_misses = 0

    @property
    def demanded(self) -> frozenset[int]:
        """The layers the far side asks for."""
        return self._demand

    @property
    def target_layer(self) -> int | None:
        return max(self.wanted_layers, default=None)

    def write(self, packet: InboundPacket) -> None:
        """The hot path: one packet of a wanted layer, relayed as it came."""
        buf = bytearray(packet.frame)
        pt = self._red_pt if packet.red_primary >= 0 else self._pt
        level = packet.audio_level
        if level >= 0:
            write_fixed_header(buf, packet.marker | pt, packet.ext_seq, packet.ext_ts, self._ssrcs[packet.layer],
                               _LEVEL_AT)
            buf[_LEVEL_AT] = 0x90  # version 2, extension bit
            buf[EXTENSION_ROOM + 4:EXTENSION_ROOM + 12] = _ONE_BYTE_PROFILE + bytes(
                (AUDIO_LEVEL_ID << 4, level | (0x80 if packet.voice else 0), 0, 0))
            del buf[:_LEVEL_AT]
        else:
            write_fixed_header(buf, packet.marker | pt, packet.ext_seq, packet.ext_ts, self._ssrcs[packet.layer],
                               EXTENSION_ROOM)
            del buf[:EXTENSION_ROOM]
        self.packets_sent += 1
        self.octets_sent += packet.payload_size
        self._send(buf)

    def skip(self, packet: InboundPacket) -> None:
        """A padding-only packet: relayed header-only, so the far side sees no gap to NACK."""
        self.write(packet)

    def demand(self, layers: frozenset[int]) -> None:
        """The far side's subscribers want ``layers`` (nothing: the track costs nothing here any more)."""
        valid = frozenset(layer for layer in layers if 0 <= layer < len(self._ssrcs))
        if valid != self._demand:
            self._demand = valid
            self.refresh(self._now_ns())

    def refresh(self, now_ns: int) -> None:
        """Relay, for each demanded layer, the layer that is actually arriving (``Receiver.available_layer``)."""
        arriving = self._receiver.arriving_layers(now_ns)
        self._send_rtcp(bytes(LayerDemand.of(self._ssrcs[0], arriving, ARRIVING_NAME)))
        wanted = frozenset(self._receiver.available_layer(layer, now_ns) for layer in self._demand)
        if wanted != self.wanted_layers:
            added = wanted - self.wanted_layers
            self.wanted_layers = wanted
            self._receiver.update_fanout(self)
            for layer in added:  # the far side starts on a keyframe
                self._receiver.request_keyframe(layer)

    def layer_of(self, ssrc: int) -> int | None:
        try:
            return self._ssrcs.index(ssrc)
        except ValueError:
            return None

    def handle_nack(self, layer: int, lost: Iterable[int]) -> int:
        """Resend what the far side lacks of ``layer`` from the publisher's buffer; returns how many."""
        highest = self._receiver.counters()[layer][2]
        resent = 0
        for seq in lost:
            packet = self._receiver.lookup(layer, unwrap_near(seq, highest, SEQ_BITS))
            if packet is None:
                self.nack_misses += 1
                continue
            self.write(packet)
            resent += 1
        self.nack_hits += resent
        return resent

    def handle_keyframe_request(self, layer: int) -> None:
        """A PLI or FIR from the far side: the publisher is asked (its receiver rate-limits)."""
        self._receiver.request_keyframe(layer)
