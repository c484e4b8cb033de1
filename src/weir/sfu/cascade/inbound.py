"""``RelayIn``: a track relayed from another SFU, received here as if its publisher were local.

Its ``Receiver`` is fed by the relay SSRCs of the spec, one per layer; subscribers' down-tracks attach to it as
to any published track, so each picks its own layer. What its fan-out wants goes back to the sending SFU as a
``LayerDemand`` whenever it changes (and again on each ``refresh``, since the relay is UDP); the receiver's
NACKs and PLIs go back over the same relay, to whichever SFU feeds it now (``reroute``). Audio levels go to
``on_audio`` (the room's speaker detection).
"""

from __future__ import annotations

from collections.abc import Callable

from weir.sfu.cascade.wire import AUDIO_LEVEL_ID, LayerDemand, RelayTrackSpec
from weir.sfu.codecs import KEYFRAME_DETECTORS
from weir.sfu.packetbuffer import AUDIO_BUFFER_PACKETS, VIDEO_BUFFER_PACKETS
from weir.sfu.receiver import Receiver
from weir.sfu.rtc.lanes import fan_out_for

__all__ = ["RelayIn"]

RtcpSend = Callable[[bytes], object]
AudioObserver = Callable[[int, bool], object]


class RelayIn:
    __slots__ = ("_needed", "_send_rtcp", "_wanted", "on_audio", "receiver", "spec")

    def __init__(self, spec: RelayTrackSpec, send_rtcp: RtcpSend, sender_ssrc: int) -> None:
        self.spec = spec
        self._send_rtcp = send_rtcp
        self._wanted: frozenset[int] = frozenset()
        self._needed: frozenset[int] = frozenset()
        self.on_audio: AudioObserver | None = None  # each packet's audio level (-dBov) and voice flag
        audio = spec.kind == "audio"
        self.receiver = Receiver(
            kind=spec.kind,
            layers=max(1, len(spec.ssrcs)),
            vp8=spec.mime == "vp8",
            keyframe=KEYFRAME_DETECTORS.get(spec.mime),
            audio_level_id=AUDIO_LEVEL_ID if audio else 0,
            red_payload_type=spec.red_payload_type,
            buffer_capacity=AUDIO_BUFFER_PACKETS if audio else VIDEO_BUFFER_PACKETS,
            upstream=self._upstream,
            sender_ssrc=sender_ssrc,
            on_wanted=self._wanted_changed,
            fan_out=fan_out_for(),
        )

    def _upstream(self, data: bytes) -> None:
        self._send_rtcp(data)

    def reroute(self, send_rtcp: RtcpSend) -> None:
        """The track comes from another SFU now (the cascade tree changed): ask that one for the wanted layers."""
        self._send_rtcp = send_rtcp
        self.refresh()

    def _wanted_changed(self, layers: frozenset[int]) -> None:
        if layers != self._wanted:
            self._wanted = layers
            self.refresh()

    def need(self, layers: frozenset[int]) -> None:
        """The layers local subscriptions ask for (the room's assessment, once a second), beside those the
        forwarders want now: a layer a subscriber fell back from while the publisher paused it stays asked for,
        so the publisher is told to send it again."""
        if layers != self._needed:
            self._needed = layers
            self.refresh()

    def refresh(self) -> None:
        """Tell the sending SFU which layers are wanted here."""
        self._send_rtcp(bytes(LayerDemand.of(self.spec.ssrcs[0], self._wanted | self._needed)))

    def close(self) -> None:
        """Nothing is wanted any more: the sending SFU stops relaying."""
        self._wanted = self._needed = frozenset()
        self.refresh()
