"""Which simulcast layers a publisher should keep sending: those some subscriber is allocated.

A layer is resumed as soon as someone needs it, and paused only after nobody has for ``PAUSE_AFTER_S``, so that
a subscriber stepping between layers, or joining just after another left, does not make it flap. A new track
counts every layer as needed at its start, and its first update always reports (a publisher that republishes
may still have layers paused that an earlier track's state had paused).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["PAUSE_AFTER_S", "LayerActivity"]

PAUSE_AFTER_S = 3.0


class LayerActivity:
    __slots__ = ("_needed_at", "active")

    def __init__(self, layers: int, now_s: float) -> None:
        self._needed_at = [now_s] * layers
        self.active: list[bool] = []  # not told yet: the first update reports, whatever the publisher did before

    def update(self, needed: Iterable[int], now_s: float) -> bool:
        """Note the layers needed now; True when the active set changed."""
        for layer in needed:
            self._needed_at[layer] = now_s
        active = [now_s - at < PAUSE_AFTER_S for at in self._needed_at]
        changed, self.active = active != self.active, active
        return changed
