"""The per-down-track decision: forward a packet under which munger segment, or drop it and say why.

It does no I/O and allocates nothing per packet: the answer is the munger's current ``Segment`` (shared, made
only on switches) or None, with the reason counted in ``drops``. ``downtrack.py`` applies the answer.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol

from weir.sfu.munger import Munger, Segment
from weir.sfu.packet import InboundPacket
from weir.sfu.selector import LayerSelector

__all__ = ["DropReason", "Forwarder", "ForwarderListener"]


class DropReason(IntEnum):
    WAITING_KEYFRAME = 0  # a packet of the target layer before its keyframe
    OTHER_LAYER = 1  # neither the current nor the target layer (a receiver's fan-out normally spares us these)
    PADDING = 2  # padding-only packet of the current layer
    TOO_OLD = 3  # late packet from before the munger's history or the last switch


class ForwarderListener(Protocol):
    def on_layers_changed(self) -> None:
        """The current or target layer changed: the layers this forwarder wants packets of are different."""

    def on_keyframe_needed(self, layer: int) -> None:
        """The forwarder waits for a keyframe of ``layer``."""


class Forwarder:
    __slots__ = ("_listener", "_munger", "_selector", "current", "drops")

    def __init__(self, munger: Munger, selector: LayerSelector, listener: ForwarderListener) -> None:
        self._munger = munger
        self._selector = selector
        self._listener = listener
        self.current: int | None = None  # layer being forwarded; None until the first keyframe or while paused
        self.drops = [0] * len(DropReason)

    @property
    def target(self) -> int | None:
        return self._selector.target

    @property
    def wanted_layers(self) -> frozenset[int]:
        """Layers whose packets this forwarder must see: current and target."""
        return frozenset(layer for layer in (self.current, self._selector.target) if layer is not None)

    def forward(self, packet: InboundPacket) -> Segment | None:
        if packet.layer != self.current:
            return self._try_switch(packet)
        seg = self._munger.translate(packet)
        if seg is None:
            self.drops[DropReason.TOO_OLD] += 1
        return seg

    def skip(self, packet: InboundPacket) -> None:
        """A padding-only packet: never forwarded, but the munger must close its gap."""
        self.drops[DropReason.PADDING] += 1
        if packet.layer == self.current:
            self._munger.skip(packet)

    def set_target(self, layer: int | None) -> None:
        """Aim at ``layer``; None pauses at once (the next forward starts again on a keyframe)."""
        if layer == self._selector.target:
            return
        self._selector.target = layer
        if layer is None:
            self.current = None
        elif layer != self.current:
            self._listener.on_keyframe_needed(layer)
        self._listener.on_layers_changed()

    def _try_switch(self, packet: InboundPacket) -> Segment | None:
        if not self._selector.can_start(packet):
            if packet.layer == self._selector.target:
                self.drops[DropReason.WAITING_KEYFRAME] += 1
                # ask again while waiting: the receiver rate-limits keyframe requests and drops those in between
                self._listener.on_keyframe_needed(packet.layer)
            else:
                self.drops[DropReason.OTHER_LAYER] += 1
            return None
        self.current = packet.layer
        seg = self._munger.rebase(packet)
        self._listener.on_layers_changed()
        return seg
