"""What a client's ``send_stats`` reports say over an interval, as a ``Reading`` of the health classifier.

Clients send cumulative counters, flat: the Python SDK as ``<kind>_<field>`` (and ``round_trip_time``), the browser
app as ``<kind>.<stream>.<field>``. Two reports of one session give the interval's loss, jitter, RTT, frame rate,
encode and decode time, audio concealment and sending bit rate. A counter that went backwards (a new peer
connection) tells nothing for that interval.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from weir.domain.call_health import Reading

KINDS = ("audio", "video")
_MAXED = ("jitter", "roundTripTime")  # gauges: the worst stream counts; everything else is summed


@dataclass(frozen=True)
class Totals:
    """One report: ``sums[(kind, field)]`` over streams, ``video_streams`` that decoded frames."""

    sums: Mapping[tuple[str, str], float] = field(default_factory=dict)
    video_streams: int = 0


def totals(report: Mapping[str, Any] | None) -> Totals:
    sums: defaultdict[tuple[str, str], float] = defaultdict(float)
    decoding: set[str] = set()
    for key, value in (report or {}).items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        if key == "round_trip_time":
            kind, stream, name = "", "", "roundTripTime"
        elif key.count(".") >= 2:
            kind, _, rest = key.partition(".")
            stream, _, name = rest.rpartition(".")
        else:
            kind, _, name = key.partition("_")
            stream = ""
        if kind not in (*KINDS, ""):
            continue
        if name in _MAXED:
            sums[kind, name] = max(sums[kind, name], float(value))
        else:
            sums[kind, name] += float(value)
        if kind == "video" and name == "framesDecoded" and value > 0:
            decoding.add(stream)
    return Totals(dict(sums), len(decoding))


def _delta(before: Totals, after: Totals, kind: str, name: str) -> float | None:
    if (kind, name) not in after.sums:
        return None
    change = after.sums[kind, name] - before.sums.get((kind, name), 0.0)
    return change if change >= 0 else None


def _ratio(part: float | None, whole: float | None) -> float | None:
    return None if part is None or not whole else min(1.0, part / whole)


def _worst(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def client_reading(
    publisher: tuple[Totals, Totals], subscriber: tuple[Totals, Totals], elapsed_s: float,
) -> tuple[Reading, float | None]:
    """The interval's reading and the sending bit rate in kbps, from the (before, after) totals of each side."""
    pub_before, pub = publisher
    sub_before, sub = subscriber
    losses: list[float | None] = []
    for kind in KINDS:
        lost_in = _delta(sub_before, sub, kind, "packetsLost")
        received = _delta(sub_before, sub, kind, "packetsReceived")
        losses.append(_ratio(lost_in, None if lost_in is None or received is None else lost_in + received))
        sent = _delta(pub_before, pub, kind, "packetsSent")
        losses.append(_ratio(_delta(pub_before, pub, kind, "packetsLost"), sent))
    jitter = _worst(*(sub.sums.get((kind, "jitter")) for kind in KINDS))
    rtt = _worst(pub.sums.get(("", "roundTripTime")), *(pub.sums.get((k, "roundTripTime")) for k in KINDS))
    decoded = _delta(sub_before, sub, "video", "framesDecoded")
    fps = None
    if decoded is not None and sub.video_streams and elapsed_s > 0:
        fps = decoded / elapsed_s / sub.video_streams
    encoded = _delta(pub_before, pub, "video", "framesEncoded")
    encode = _ratio(_delta(pub_before, pub, "video", "totalEncodeTime"), encoded)
    decode = _ratio(_delta(sub_before, sub, "video", "totalDecodeTime"), decoded)
    concealment = _ratio(_delta(sub_before, sub, "audio", "concealedSamples"),
                         _delta(sub_before, sub, "audio", "totalSamplesReceived"))
    octets = [d for kind in KINDS if (d := _delta(pub_before, pub, kind, "bytesSent")) is not None]
    bitrate = sum(octets) * 8 / elapsed_s / 1000 if octets and elapsed_s > 0 else None
    reading = Reading(
        jitter_ms=None if jitter is None else jitter * 1000, rtt_ms=None if rtt is None else rtt * 1000, fps=fps,
        encode_ms=None if encode is None else encode * 1000, decode_ms=None if decode is None else decode * 1000,
        packet_loss=_worst(*losses), concealment=concealment,
    )
    return reading, bitrate


__all__ = ["Totals", "client_reading", "totals"]
