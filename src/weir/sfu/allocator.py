"""Per-subscriber allocation: which simulcast layer of each subscribed video fits the subscriber's downlink.

Each video starts at the layer its requested dimensions call for. While the total costs more than the
subscriber's ceiling, the most expensive video that can step down does; when every video is at its lowest
layer and they still do not fit, the most expensive is paused, then the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["VideoDemand", "allocate"]


@dataclass(frozen=True, slots=True)
class VideoDemand:
    wanted: int  # the layer the requested dimensions call for
    costs: Sequence[float]  # bit/s of each layer, lowest first (0 for one not measured yet)


def allocate(demands: Sequence[VideoDemand], ceiling: float | None) -> list[int | None]:
    """The layer for each demand, None for paused; every wanted layer when ``ceiling`` is None."""
    layers: list[int | None] = [demand.wanted for demand in demands]
    if ceiling is None:
        return layers

    def cost(index: int) -> float:
        layer = layers[index]
        return 0.0 if layer is None else demands[index].costs[layer]

    while sum(cost(index) for index in range(len(layers))) > ceiling:
        can_step = [index for index, layer in enumerate(layers) if layer]
        if can_step:
            index = max(can_step, key=cost)
            layers[index] = layers[index] - 1  # type: ignore[operator]
            continue
        live = [index for index, layer in enumerate(layers) if layer is not None]
        if not live:
            break
        layers[max(live, key=cost)] = None
    return layers
