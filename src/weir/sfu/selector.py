"""Simulcast layer selection: which layer a subscriber should get, and when the forwarder may start on it.

The target comes from the dimensions a subscriber asked for (and, later, from its bandwidth estimate); the
forwarder moves to the target only on one of its keyframes, because a decoder cannot start anywhere else.
Audio and codecs whose keyframes the SFU cannot see mark every packet as a keyframe, so the same rule
lets them start at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from weir.sfu.packet import InboundPacket

__all__ = ["LayerSelector", "layer_for_dimensions"]


def layer_for_dimensions(layers: Sequence[tuple[int, int]], width: int, height: int) -> int:
    """The lowest layer at least as large as ``width`` x ``height`` (either orientation), else the highest.

    ``layers`` are (width, height) from the lowest layer up.
    """
    if not layers:
        raise ValueError("no layers to choose from")
    want_long, want_short = max(width, height), min(width, height)
    for index, (w, h) in enumerate(layers):
        if max(w, h) >= want_long and min(w, h) >= want_short:
            return index
    return len(layers) - 1


class LayerSelector:
    """Holds the target layer; None means paused."""

    __slots__ = ("target",)

    def __init__(self, target: int | None = 0) -> None:
        self.target = target

    def can_start(self, packet: InboundPacket) -> bool:
        """May the forwarder switch to ``packet``'s layer at this packet?"""
        return packet.layer == self.target and packet.keyframe
