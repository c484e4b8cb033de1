"""``MediaTotals``: what one SFU process forwarded since it started, for ``/metrics``.

Nothing is counted here per packet: a scrape sums the counters the packet core keeps anyway (receivers,
down-tracks) over the rooms alive now, and adds what tracks and participants that are gone had counted when
they went (the room hands them over as they leave), so the totals only ever grow.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from weir.sfu.rtc.participant import RtcParticipant
    from weir.sfu.rtc.room import RtcRoom
    from weir.sfu.rtc.track import PublishedTrack

__all__ = ["MediaCounters", "MediaTotals", "WorkerSnapshot"]


@dataclass
class MediaCounters:
    """Monotonic counts. ``*_in``: from publishers; ``*_out``: to subscribers (retransmissions included)."""

    packets_in: int = 0
    bytes_in: int = 0  # RTP payload octets, as RTCP counts them
    packets_out: int = 0
    bytes_out: int = 0
    packets_lost_in: int = 0  # missing from publishers' sequence numbers (counted once a second)
    packets_lost_out: int = 0  # as subscribers' reception reports count them
    nacks_sent: int = 0  # NACKs the SFU sent publishers
    nacked_packets: int = 0  # packets subscribers' NACKs asked for
    retransmitted_packets: int = 0  # of those, resent
    plis_sent: int = 0  # keyframe requests the SFU sent publishers

    def add(self, other: MediaCounters) -> None:
        for counter in fields(self):
            setattr(self, counter.name, getattr(self, counter.name) + getattr(other, counter.name))


def _inbound(tracks: Iterable[PublishedTrack]) -> MediaCounters:
    counters = MediaCounters()
    for track in tracks:
        receiver = track.receiver
        for packets, octets, _highest in receiver.counters():
            counters.packets_in += packets
            counters.bytes_in += octets
        counters.packets_in += receiver.rtx_received
        counters.nacks_sent += receiver.nacks_sent
        counters.plis_sent += receiver.plis_sent
    return counters


def _outbound(participant: RtcParticipant) -> MediaCounters:
    """What the participant's subscriber side sent, and its uplink's loss."""
    counters = MediaCounters(packets_lost_in=participant.uplink.lost)
    for slot in participant.subscribed:
        down = slot.downtrack
        counters.packets_out += down.packets_sent + down.nack_hits
        counters.bytes_out += down.octets_sent
        counters.nacked_packets += down.nack_hits + down.nack_misses + down.nack_throttled
        counters.retransmitted_packets += down.nack_hits
        if slot.report is not None:
            counters.packets_lost_out += max(0, slot.report.packets_lost)
    return counters


@dataclass
class WorkerSnapshot:
    """One SFU process at one scrape."""

    calls: int
    participants: int
    cpu_seconds: float
    media: MediaCounters
    datagrams_dropped: dict[str, int] = field(default_factory=dict)  # by the shared sockets, by reason

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkerSnapshot:
        """KeyError, TypeError or ValueError if ``data`` is not a snapshot."""
        dropped = {str(reason): int(count) for reason, count in (data.get("datagrams_dropped") or {}).items()}
        return cls(calls=int(data["calls"]), participants=int(data["participants"]),
                   cpu_seconds=float(data["cpu_seconds"]), media=MediaCounters(**data["media"]),
                   datagrams_dropped=dropped)


class MediaTotals:
    def __init__(self, dropped: Callable[[], dict[str, int]] | None = None) -> None:
        """``dropped``: the datagrams the worker's shared sockets dropped, by reason (``SharedSockets.dropped``;
        None without shared sockets)."""
        self._rooms: weakref.WeakSet[RtcRoom] = weakref.WeakSet()
        self._retired = MediaCounters()
        self._dropped = dropped

    def rooms(self, make: Callable[[str], RtcRoom]) -> Callable[[str], RtcRoom]:
        """A room factory whose rooms this counts."""

        def made(call_cid: str) -> RtcRoom:
            room = make(call_cid)
            room.totals = self
            self._rooms.add(room)
            return room

        return made

    def retire_track(self, track: PublishedTrack) -> None:
        """A track stopped being published: keep what it received."""
        self._retired.add(_inbound((track,)))

    def retire_participant(self, participant: RtcParticipant) -> None:
        """A participant left (its tracks were retired as they were unpublished): keep what it was sent."""
        self._retired.add(_outbound(participant))

    def snapshot(self) -> WorkerSnapshot:
        media = MediaCounters(**asdict(self._retired))
        calls = participants = 0
        for room in list(self._rooms):
            members = room.participants()
            calls += bool(members)
            participants += len(members)
            for participant in members:
                media.add(_inbound(participant.published))
                media.add(_outbound(participant))
        return WorkerSnapshot(calls=calls, participants=participants, cpu_seconds=time.process_time(), media=media,
                              datagrams_dropped={} if self._dropped is None else self._dropped())
