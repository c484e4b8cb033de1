"""The SFU's own view of a participant's tracks, for call stats: cumulative counters, read once per report
interval (never per packet).

Published tracks: per simulcast layer the packets received and the highest sequence number seen (the interval's
loss is the gap between the two, before retransmissions repaired it), NACKs and PLIs sent upstream. Subscribed
tracks: what was forwarded, the NACKs and PLIs the subscriber sent, and its latest reception report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weir.sfu.rtc.participant import RtcParticipant

__all__ = ["snapshot"]


def snapshot(participant: RtcParticipant) -> dict[str, Any]:
    tracks: list[dict[str, Any]] = []
    for track in participant.published:
        receiver = track.receiver
        rids = track.rids or ("",)
        tracks.append({
            "track_type": track.info.track_type, "direction": "published", "kind": track.kind,
            "layers": [[rids[i] if i < len(rids) else str(i), packets, octets, highest]
                       for i, (packets, octets, highest) in enumerate(receiver.counters())],
            "repaired": receiver.rtx_repaired, "nacks": receiver.nacks_sent, "plis": receiver.plis_sent,
        })
    for slot in participant.subscribed:
        if not slot.attached:
            continue
        down, report = slot.downtrack, slot.report
        layer = down.forwarder.current
        rids = slot.track.rids
        clock = slot.track.codec.clock_rate or 90000
        tracks.append({
            "track_type": slot.track.info.track_type, "direction": "subscribed", "kind": slot.track.kind,
            "from_session": slot.track.info.session_id, "packets": down.packets_sent, "bytes": down.octets_sent,
            "nacks": down.nack_hits + down.nack_misses + down.nack_throttled, "plis": down.plis_received,
            "layer": None if layer is None or layer >= len(rids) else rids[layer],
            "fraction_lost": None if report is None else report.fraction_lost / 256,
            "jitter_ms": None if report is None else report.jitter * 1000 / clock,
        })
    return {"rtt_ms": participant.downlink.rtt.rtt_ms, "tracks": tracks}
