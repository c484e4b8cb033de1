"""``RtcRoom``: one call's media plane: its participants, what they publish, and audio levels.

The forwarding graph is the published tracks (by publisher session and track type) and, per participant, the
down-tracks of its subscriber side. Publishing, unpublishing, muting and subscription changes go through the
room so that every participant's subscriber side is brought up to date. The room is each participant's
``ParticipantListener`` (listener.py): participants report their tracks to it, and it tells every participant
through their public ``track_published`` / ``track_unpublished`` / ``track_muted``.

Audio levels come from the ``ssrc-audio-level`` header extension of microphone tracks (no audio is decoded):
every ``AUDIO_LEVEL_INTERVAL_MS`` the loudest level each publisher sent is reported as a linear 0..1 value
through ``on_audio_levels`` (when anything changed), and ``on_dominant_speaker`` names a new dominant speaker.

With cascading (``weir.sfu.cascade``), tracks relayed from another SFU join the graph through
``add_remote_track`` and its siblings, and ``relay`` hears of the tracks published here (to relay them on).

Every ``ASSESSMENT_INTERVAL_S`` an ``Assessment`` runs (bandwidth estimates and allocation, simulcast layers to
pause, connection quality); ``on_connection_quality`` gets the participants whose grade changed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from weir.rtc.config import IceConfig
from weir.sfu.audiolevel import SILENCE_DBOV, DominantSpeaker
from weir.sfu.quality import Grade
from weir.sfu.rtc.assessment import ASSESSMENT_INTERVAL_S, Assessment
from weir.sfu.rtc.dtls import MediaCertificate
from weir.sfu.rtc.events import EventQueue
from weir.sfu.rtc.participant import RtcParticipant
from weir.sfu.rtc.totals import MediaTotals
from weir.sfu.rtc.track import PublishedTrack
from weir.sfu.rtc.udpmux import SharedSockets

__all__ = ["AUDIO_LEVEL_INTERVAL_MS", "RtcRoom", "TrackRelay", "linear_level"]

AUDIO_LEVEL_INTERVAL_MS = 250

logger = logging.getLogger(__name__)


class TrackRelay(Protocol):
    """Who relays this room's own tracks to the other SFUs hosting the call."""

    def local_track_published(self, track: PublishedTrack) -> None: ...

    def local_track_unpublished(self, track: PublishedTrack) -> None: ...

    def local_track_muted(self, track: PublishedTrack) -> None: ...

    def demanded(self) -> dict[PublishedTrack, frozenset[int]]:
        """The layers of this room's tracks the other SFUs ask for."""
        ...

    def needed(self, layers: dict[PublishedTrack, set[int]]) -> None:
        """The layers of each track this room's subscribers ask for (relayed tracks' go to their SFU)."""
        ...


def linear_level(dbov: int) -> float:
    """An RFC 6464 level (0 loudest, 127 silence, in -dBov) as a linear amplitude in 0..1, 3 decimals."""
    return 0.0 if dbov >= SILENCE_DBOV else round(10 ** (-dbov / 20), 3)


def _now_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class RtcRoom:
    def __init__(self, call_cid: str, ice: IceConfig, sockets: SharedSockets | None = None) -> None:
        """``sockets``: the worker's shared sockets (udpmux.py), else each connection binds its own."""
        self.call_cid = call_cid
        self.ice = ice
        self.sockets = sockets
        self.certificate = MediaCertificate.generateCertificate()  # one per call: every connection presents it
        self.on_audio_levels: Callable[[dict[str, float]], Awaitable[None]] | None = None
        self.on_dominant_speaker: Callable[[str], Awaitable[None]] | None = None
        self.on_connection_quality: Callable[[dict[str, Grade]], Awaitable[None]] | None = None
        self._assessment = Assessment()
        self._participants: dict[str, RtcParticipant] = {}
        self._tracks: dict[tuple[str, str], PublishedTrack] = {}
        self._events = EventQueue()
        self._speaker = DominantSpeaker()
        self._loudest: dict[str, int] = {}  # session → lowest -dBov since the last report
        self._reported: dict[str, float] = {}
        self._dominant: str | None = None
        self.pinned: frozenset[str] = frozenset()  # sessions pinned for everyone
        self.relay: TrackRelay | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._closed = False
        self.totals: MediaTotals | None = None  # what this process forwarded (for /metrics), if it counts

    def participants(self) -> list[RtcParticipant]:
        return list(self._participants.values())

    def track(self, key: tuple[str, str]) -> PublishedTrack | None:
        """The published track of (session id, track type), if any."""
        return self._tracks.get(key)

    async def add_participant(self, session_id: str, user_id: str) -> RtcParticipant:
        """A new participant with both connections' candidates gathered; ValueError if the session is taken."""
        if self._closed:
            raise ValueError(f"call {self.call_cid} is closed")
        if session_id in self._participants:
            raise ValueError(f"session {session_id} is already in call {self.call_cid}")
        participant = RtcParticipant(self, session_id, user_id, self.ice, self.certificate, self.sockets)
        self._participants[session_id] = participant
        try:
            await participant.gather()
        except BaseException:
            self._participants.pop(session_id, None)
            await participant.shutdown()
            raise
        if self._ticker is None:
            self._ticker = asyncio.ensure_future(self._report_levels())
        return participant

    async def remove_participant(self, session_id: str) -> None:
        """Unpublish the participant's tracks (the others are told), stop its forwarding, close its connections."""
        participant = self._participants.pop(session_id, None)
        if participant is None:
            return
        if self.totals is not None:
            self.totals.retire_participant(participant)  # its down-tracks send nothing more from here
        await participant.shutdown()
        self._speaker.remove(session_id)
        self._loudest.pop(session_id, None)

    async def close(self) -> None:
        self._closed = True
        for session_id in list(self._participants):
            await self.remove_participant(session_id)
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        await self._events.drain()

    # --- the forwarding graph (ParticipantListener: called by participants)

    def track_published(self, track: PublishedTrack) -> None:
        """A participant published ``track``: every participant hears of it and subscribes if it wants it."""
        self._add(track)
        if self.relay is not None:
            self.relay.local_track_published(track)

    def track_unpublished(self, track: PublishedTrack) -> None:
        """A participant stopped publishing ``track``: every participant stops forwarding it."""
        self._remove(track)
        if self.relay is not None:
            self.relay.local_track_unpublished(track)

    def track_muted(self, track: PublishedTrack) -> None:
        """``track`` was muted or unmuted: every subscriber's down-track pauses or resumes."""
        self._muted(track)
        if self.relay is not None:
            self.relay.local_track_muted(track)

    # --- tracks relayed from other SFUs (weir.sfu.cascade): in the graph like the others, never relayed back

    def add_remote_track(self, track: PublishedTrack) -> None:
        self._add(track)

    def remove_remote_track(self, track: PublishedTrack) -> None:
        self._remove(track)

    def remote_track_muted(self, track: PublishedTrack) -> None:
        self._muted(track)

    def _add(self, track: PublishedTrack) -> None:
        self._tracks[track.key] = track
        for participant in self._participants.values():
            participant.track_published(track)

    def _remove(self, track: PublishedTrack) -> None:
        if self._tracks.get(track.key) is track:
            del self._tracks[track.key]
        if self.totals is not None:
            self.totals.retire_track(track)
        for participant in self._participants.values():
            participant.track_unpublished(track)

    def _muted(self, track: PublishedTrack) -> None:
        for participant in self._participants.values():
            participant.track_muted(track)

    # --- audio levels

    def observe_audio(self, track: PublishedTrack, level: int, voice: bool) -> None:
        """One packet's audio level (the router calls this per audio packet carrying the extension)."""
        if track.info.track_type != "audio":
            return
        session_id = track.info.session_id
        if level < self._loudest.get(session_id, SILENCE_DBOV + 1):
            self._loudest[session_id] = level
        self._speaker.observe(session_id, level, voice, _now_ms())

    async def _report_levels(self) -> None:
        """Every 250 ms: audio levels and the dominant speaker, and each subscriber's layers follow what arrives;
        every second, an assessment."""
        assess_every = round(ASSESSMENT_INTERVAL_S * 1000 / AUDIO_LEVEL_INTERVAL_MS)
        for tick in itertools.count(1):
            await asyncio.sleep(AUDIO_LEVEL_INTERVAL_MS / 1000)
            self._report_once()
            now_ns = time.monotonic_ns()
            if tick % assess_every == 0:
                self._assess(now_ns)
            for participant in self._participants.values():
                participant.follow_arriving_layers(now_ns)

    def _assess(self, now_ns: int) -> None:
        try:
            relayed = None if self.relay is None else self.relay.demanded()
            changed = self._assessment.run(list(self._participants.values()), self._priority, now_ns, relayed)
            if self.relay is not None:
                self.relay.needed(self._assessment.needed)
        except Exception:  # a fault here must not stop the ticker (audio levels, layers following arrivals)
            logger.exception("assessment of call %s failed", self.call_cid)
            return
        if changed:
            self._events.put(self.on_connection_quality, changed)

    def _priority(self, track: PublishedTrack) -> int:
        """How long a subscriber short of bandwidth keeps ``track``'s video: pinned participants longest, then
        screen shares and the dominant speaker, then those who spoke lately (the seed's dynascale)."""
        session_id = track.info.session_id
        if session_id in self.pinned:
            return 3
        if track.info.track_type == "screen_share" or session_id == self._dominant:
            return 2
        return 1 if self._speaker.activity(session_id, _now_ms()) else 0

    def _report_once(self) -> None:
        speakers = [key[0] for key in self._tracks if key[1] == "audio"]
        levels = {session_id: linear_level(self._loudest.get(session_id, SILENCE_DBOV)) for session_id in speakers}
        self._loudest.clear()
        if levels != self._reported:
            self._reported = levels
            self._events.put(self.on_audio_levels, dict(levels))
        dominant = self._speaker.pick(_now_ms())
        if isinstance(dominant, str) and dominant != self._dominant:
            self._dominant = dominant
            self._events.put(self.on_dominant_speaker, dominant)
