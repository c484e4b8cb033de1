"""``Assessment``: once a second, one room's bandwidth and quality decisions.

In order: every publisher's ``Uplink`` is measured (layer costs) and sent its REMB; every subscriber's
down-tracks resend what was NACKed lately and may still be lacking (``DownTrack.resend_unasked``); its
``Downlink`` allocates its video within its estimate (those paused or resumed are told, through
``RtcParticipant.on_inbound_state``); every simulcast track's ``LayerActivity`` takes the layers its subscribers
are allocated, and a change goes to the publisher (``on_publish_quality``); and each participant's connection
is graded from the worse of its uplink and downlink scores, the grades that changed being returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from weir.sfu.layeractivity import LayerActivity
from weir.sfu.quality import Grade, QualityGrade, grade
from weir.sfu.rtcp import Remb

if TYPE_CHECKING:
    from weir.sfu.rtc.participant import RtcParticipant
    from weir.sfu.rtc.track import PublishedTrack

__all__ = ["ASSESSMENT_INTERVAL_S", "Assessment"]

logger = logging.getLogger(__name__)

ASSESSMENT_INTERVAL_S = 1.0


class Assessment:
    def __init__(self) -> None:
        self._activity: dict[PublishedTrack, LayerActivity] = {}
        self._grades: dict[str, QualityGrade] = {}
        self.needed: dict[PublishedTrack, set[int]] = {}  # the latest: each track's layers its subscribers ask for

    def run(self, participants: Sequence[RtcParticipant], priority: Callable[[PublishedTrack], int],
            now_ns: int, relayed: Mapping[PublishedTrack, Collection[int]] | None = None) -> dict[str, Grade]:
        """One assessment (``priority``: which videos a subscriber short of bandwidth keeps longest; ``relayed``:
        the layers other SFUs of the call ask for, which the publisher keeps sending too); returns the
        connection grades that changed, by session id."""
        costs: dict[PublishedTrack, list[float]] = {}
        for participant in participants:
            _send_remb(participant, participant.uplink.assess(participant.published, now_ns))
            costs.update(participant.uplink.costs)
        for participant in participants:
            for slot in participant.subscribed:
                slot.downtrack.resend_unasked(now_ns)
            changed = participant.downlink.assess(participant.subscribed, costs, priority, now_ns)
            if changed:
                ceiling = participant.downlink.estimate.ceiling
                for slot in changed:
                    logger.info("%s: video of %s %s for bandwidth (downlink ceiling %s bit/s)", participant.session_id,
                                slot.track.info.session_id, "paused" if slot.cap is None else "resumed",
                                "none" if ceiling is None else f"{ceiling:.0f}")
                participant.report_inbound_state([
                    (slot.track.info.session_id, slot.track.info.track_type, slot.cap is None) for slot in changed
                ])
        self._layer_activity(participants, now_ns / 1e9, relayed or {})
        return self._connection_quality(participants)

    def _layer_activity(self, participants: Sequence[RtcParticipant], now_s: float,
                        relayed: Mapping[PublishedTrack, Collection[int]]) -> None:
        needed: dict[PublishedTrack, set[int]] = {}
        for participant in participants:
            for slot in participant.subscribed:
                if slot.active and slot.cap is not None and not slot.track.info.muted:
                    needed.setdefault(slot.track, set()).add(min(slot.target, slot.cap))
        self.needed = {track: set(layers) for track, layers in needed.items()}
        for track, far in relayed.items():
            needed.setdefault(track, set()).update(far)
        activity: dict[PublishedTrack, LayerActivity] = {}
        for participant in participants:
            for track in participant.published:
                if len(track.rids) < 2:
                    continue
                layers = activity[track] = self._activity.get(track) or LayerActivity(len(track.rids), now_s)
                if layers.update(needed.get(track, ()), now_s):
                    participant.report_publish_quality(track.info.track_type,
                                                       list(zip(track.rids, layers.active, strict=True)))
        self._activity = activity

    def _connection_quality(self, participants: Sequence[RtcParticipant]) -> dict[str, Grade]:
        grades = {p.session_id: self._grades.get(p.session_id) or QualityGrade() for p in participants}
        self._grades = grades
        changed: dict[str, Grade] = {}
        for participant in participants:
            scores = [s for s in (participant.uplink.score(), participant.downlink.score()) if s is not None]
            reported = grades[participant.session_id]
            if scores and reported.update(grade(min(scores))):
                changed[participant.session_id] = reported.current
        return changed


def _send_remb(participant: RtcParticipant, bitrate: int | None) -> None:
    ssrcs = tuple(ssrc for track in participant.published if track.kind == "video" for ssrc in track.receiver.ssrcs)
    if bitrate is not None and ssrcs:
        participant.publisher.send_rtcp(bytes(Remb(participant.rtcp_ssrc, bitrate, ssrcs)))
