"""Call stats on the SFU: each session's client reports and the SFU's own counters, one sample per session per
interval, sent to the coordinator in one batch per room (``CoordinatorLink.record_stats``), never per packet.

A sample (JSON) holds the interval's ``reading`` (the health classifier's metrics), the per-kind figures the
active calls status needs (``publisher``, ``subscriber``), and per track the cumulative packets, bytes, NACKs,
PLIs and loss, the interval's bit rate, and the layers.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from weir.domain.call_health import Reading
from weir.domain.client_stats import Totals, client_reading, totals
from weir.domain.clock import now

__all__ = ["SessionStats"]


def _worst(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


class SessionStats:
    """What one session's samples are computed from: the previous interval's totals and counters."""

    def __init__(self) -> None:
        self._client: tuple[Totals, Totals] = (Totals(), Totals())
        self._client_before: tuple[Totals, Totals] | None = None
        self._client_at = self._client_before_at = 0.0
        self._counters: dict[tuple[str, str], dict[str, Any]] = {}  # the previous snapshot's tracks
        self._at = time.monotonic()
        self._lost: dict[tuple[str, str], int] = {}  # cumulative packets lost on the way in, per published track

    def client_report(self, publisher: dict[str, Any] | None, subscriber: dict[str, Any] | None) -> None:
        self._client = (totals(publisher), totals(subscriber))
        self._client_at = time.monotonic()

    def sample(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        at = time.monotonic()
        elapsed = max(at - self._at, 1e-3)
        reading, bitrate = Reading(), None
        if self._client_before is not None and self._client_at > self._client_before_at:
            pub_before, sub_before = self._client_before
            reading, bitrate = client_reading((pub_before, self._client[0]), (sub_before, self._client[1]),
                                              self._client_at - self._client_before_at)
        if self._client_at:
            self._client_before, self._client_before_at = self._client, self._client_at
        tracks, pub, sub = self._tracks(snapshot["tracks"], elapsed)
        self._at = at
        rtt = reading.rtt_ms if reading.rtt_ms is not None else snapshot.get("rtt_ms")
        merged = dataclasses.replace(
            reading, rtt_ms=rtt,
            packet_loss=_worst(reading.packet_loss, pub.get("audio_loss"), pub.get("video_loss"),
                               sub.get("audio_packets_lost_pct"), sub.get("video_packets_lost_pct")),
            jitter_ms=_worst(reading.jitter_ms, sub.get("audio_jitter_ms"), sub.get("video_jitter_ms")),
        )
        pub.update(rtt_ms=rtt, fps=None, bitrate_kbps=pub.pop("video_kbps", bitrate), encode_ms=reading.encode_ms)
        sub.update(rtt_ms=snapshot.get("rtt_ms") or rtt, fps=reading.fps, concealment_pct=reading.concealment,
                   decode_ms=reading.decode_ms)
        sent = [t["bitrate_kbps"] for t in tracks if t["direction"] == "published" and t["bitrate_kbps"] is not None]
        bitrate = sum(sent) if sent else bitrate  # what arrived at the SFU, else what the client says it sent
        return {"at": now().isoformat(), "reading": dataclasses.asdict(merged), "bitrate_kbps": bitrate,
                "publisher": pub, "subscriber": sub, "tracks": tracks}

    def _tracks(self, current: list[dict[str, Any]], elapsed: float) -> tuple[
            list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
        tracks: list[dict[str, Any]] = []
        pub: dict[str, Any] = {}
        sub: dict[str, Any] = {}
        counters: dict[tuple[str, str], dict[str, Any]] = {}
        for track in current:
            key = (track["direction"], track["track_type"] + ":" + track.get("from_session", ""))
            before = self._counters.get(key)
            counters[key] = track
            kind = track["kind"]
            if track["direction"] == "published":
                packets = sum(layer[1] for layer in track["layers"])
                octets = sum(layer[2] for layer in track["layers"])
                lost = 0
                if before is not None:
                    old = {layer[0]: layer for layer in before["layers"]}
                    # only layers that had arrived before: a layer's first packets have no gap to measure
                    going = [(layer, old[layer[0]]) for layer in track["layers"]
                             if layer[0] in old and old[layer[0]][3] >= 0]
                    expected = sum(cur[3] - prev[3] for cur, prev in going)
                    arrived = sum(cur[1] - prev[1] for cur, prev in going)
                    arrived -= track["repaired"] - before["repaired"]
                    lost = max(0, expected - arrived)
                    if expected > 0:
                        pub[f"{kind}_loss"] = _worst(pub.get(f"{kind}_loss"), lost / expected)
                self._lost[key] = self._lost.get(key, 0) + lost
                rate = None if before is None else (
                    octets - sum(layer[2] for layer in before["layers"])) * 8 / elapsed / 1000
                if kind == "video" and rate is not None:
                    pub["video_kbps"] = (pub.get("video_kbps") or 0) + rate
                layers = [layer[0] for layer in track["layers"] if layer[1] > 0]
                tracks.append({"track_type": track["track_type"], "direction": "published", "packets": packets,
                               "bytes": octets, "packets_lost": self._lost[key], "nacks": track["nacks"],
                               "plis": track["plis"], "bitrate_kbps": rate, "layers": layers})
            else:
                rate = None if before is None else (track["bytes"] - before["bytes"]) * 8 / elapsed / 1000
                for name, value in (("packets_lost_pct", track["fraction_lost"]), ("jitter_ms", track["jitter_ms"])):
                    sub[f"{kind}_{name}"] = _worst(sub.get(f"{kind}_{name}"), value)
                tracks.append({"track_type": track["track_type"], "direction": "subscribed",
                               "packets": track["packets"], "bytes": track["bytes"], "packets_lost": 0,
                               "nacks": track["nacks"], "plis": track["plis"], "bitrate_kbps": rate,
                               "jitter_ms": track["jitter_ms"], "layers": [track["layer"]] if track["layer"] else []})
        self._counters = counters
        return tracks, pub, sub
