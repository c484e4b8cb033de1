"""``DownlinkCeiling``: what a subscriber's ``Downlink`` needs from its bandwidth estimate, whichever kind was
chosen at negotiation: ``DownlinkEstimate`` (REMB and loss, bwe.py) or ``SendSideEstimate`` (transport-cc
feedback and loss, sendside.py)."""

from __future__ import annotations

from typing import Protocol

__all__ = ["DownlinkCeiling"]


class DownlinkCeiling(Protocol):
    ceiling: float | None  # bit/s the subscriber may be sent; None while nothing says less

    def on_remb(self, bitrate: int, ssrcs: tuple[int, ...] = ()) -> None: ...

    def on_loss(self, fraction: float) -> None: ...

    def update(self, sent_bps: float, wanted_bps: float, now_s: float,
               sent_by_ssrc: dict[int, float] | None = None, next_bps: float = 0.0,
               floor_bps: float = 0.0) -> float | None:
        """Once per assessment: the new ceiling, given what was sent (in all and by SSRC), what the subscriber's
        requests would cost, what the allocation's next step up would need, and the floor moderate loss may not
        cut under (audio and every video's lowest layer)."""
        ...
