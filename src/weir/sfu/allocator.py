"""Per-subscriber allocation: which simulcast layer of each subscribed video fits the subscriber's downlink.

Each video starts at the layer its requested dimensions call for. While the total costs more than the
subscriber's ceiling, it degrades step by step, never all at once:

1. the most expensive video that can step down a layer does (of equals, the least important);
2. when every video is at its lowest layer and they still do not fit, the least important video is paused,
   then the next, until the rest fit;
3. videos paused on the way are taken back, most important first, wherever their lowest layer still fits, so
   the estimate is never left unused while it carries a video's lowest layer.

Importance is the seed's dynascale order: pinned, then screen shares and the dominant speaker, then those who
spoke lately, then the rest. Audio is never allocated: it is always sent, and the ceiling given here is what is
left after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["VideoDemand", "allocate"]


@dataclass(frozen=True, slots=True)
class VideoDemand:
    wanted: int  # the layer the requested dimensions call for
    costs: Sequence[float]  # bit/s of each layer, lowest first (0 for one not measured yet)
    priority: int = 0  # higher keeps its video longer


def allocate(demands: Sequence[VideoDemand], ceiling: float | None) -> list[int | None]:
    """The layer for each demand, None for paused; every wanted layer when ``ceiling`` is None."""
    layers: list[int | None] = [demand.wanted for demand in demands]
    if ceiling is None:
        return layers

    def cost(index: int) -> float:
        layer = layers[index]
        return 0.0 if layer is None else demands[index].costs[layer]

    total = sum(cost(index) for index in range(len(layers)))
    while total > ceiling:
        can_step = [index for index, layer in enumerate(layers) if layer]
        if not can_step:
            break
        index = max(can_step, key=lambda i: (cost(i), -demands[i].priority))
        total -= cost(index)
        layers[index] -= 1  # type: ignore[operator]
        total += cost(index)
    # most important first; of equals, the cheapest (so the costliest is paused first)
    by_importance = sorted(range(len(demands)), key=lambda i: (-demands[i].priority, cost(i)))
    for index in reversed(by_importance):
        if total <= ceiling:
            break
        total -= cost(index)
        layers[index] = None
    for index in by_importance:
        lowest = demands[index].costs[0]
        if layers[index] is None and total + lowest <= ceiling:
            layers[index] = 0
            total += lowest
    return layers
