"""Call statistics from aiortc's ``getStats``: raw reports per peer connection and a short summary of each.

The summary is what ``send_stats`` carries to the SFU (flat, well under its 200 keys): packets and bytes sent
per kind for the publisher, packets received and lost and jitter (in seconds) per kind for the subscriber, and
the round trip time the remote reports give.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiortc import RTCPeerConnection

__all__ = ["CallStats", "PeerStats", "collect"]

CLOCK_RATES = {"audio": 48000, "video": 90000}  # Opus, and every video codec
SUMMED = {"outbound-rtp": ("packetsSent", "bytesSent"), "inbound-rtp": ("packetsReceived", "packetsLost"),
          "remote-inbound-rtp": ("packetsLost",)}


@dataclass(frozen=True)
class PeerStats:
    """One connection's stats: ``raw`` (report id → fields, as aiortc gives them) and ``summary``."""

    raw: dict[str, dict[str, Any]] = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CallStats:
    publisher: PeerStats = PeerStats()
    subscriber: PeerStats = PeerStats()
    collected_at: datetime | None = None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def summarise(raw: dict[str, dict[str, Any]]) -> dict[str, float]:
    summary: defaultdict[str, float] = defaultdict(float)
    for report in raw.values():
        kind, kind_of_media = report.get("type", ""), report.get("kind", "")
        for name in SUMMED.get(kind, ()):
            summary[f"{kind_of_media}_{name}"] += report.get(name) or 0
        if kind == "inbound-rtp":  # aiortc gives jitter in RTP timestamp units; browsers and the summary: seconds
            jitter = (report.get("jitter") or 0) / CLOCK_RATES.get(kind_of_media, 90000)
            summary[f"{kind_of_media}_jitter"] = max(summary[f"{kind_of_media}_jitter"], jitter)
        if kind == "remote-inbound-rtp" and report.get("roundTripTime") is not None:
            summary["round_trip_time"] = max(summary["round_trip_time"], report["roundTripTime"])
    return dict(summary)


async def collect(pc: RTCPeerConnection | None, extra: dict[str, dict[str, Any]] | None = None) -> PeerStats:
    """``pc``'s stats, plus ``extra`` reports (what the simulcast sender sent beside aiortc)."""
    if pc is None or pc.connectionState == "closed":
        return PeerStats()
    report = await pc.getStats()
    raw = {key: {k: _plain(v) for k, v in dataclasses.asdict(stat).items()} for key, stat in report.items()}
    raw.update(extra or {})
    return PeerStats(raw, summarise(raw))
