"""One call on the SFU: its participant sessions, pins and settings, and its media room.

With cascading, ``remote`` holds the participants other SFUs of the call host (as they describe them), so the
roster is the whole call's, and ``relay`` hears of this SFU's sessions joining and leaving.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from weir.protocol.sfu.events import (
    AudioLevel,
    AudioLevelChangedEvent,
    ConnectionQualityChangedEvent,
    ConnectionQualityInfo,
    DominantSpeakerChangedEvent,
)
from weir.protocol.sfu.models import CallState, ConnectionQuality, Outbound, Participant, ParticipantCount, Pin
from weir.sfu.signaling.link import CallRecord
from weir.sfu.signaling.media import MediaRoom
from weir.sfu.signaling.session import SPEAKING_LEVEL, ParticipantSession

T = TypeVar("T")

# The seed: the participant list is truncated to 250, publishers first.
MAX_LISTED_PARTICIPANTS = 250


class ParticipantRelay(Protocol):
    """Who tells the other SFUs hosting the call of this SFU's sessions."""

    def local_joined(self, session: ParticipantSession) -> None: ...

    def local_left(self, session: ParticipantSession, reason: str) -> None: ...

    def remote_left(self, session_id: str, reason: str) -> None:
        """The coordinator ended a session another SFU held (that SFU may be gone)."""
        ...


class SignalingRoom:
    def __init__(self, record: CallRecord, media: MediaRoom) -> None:
        self.cid = record.cid
        self.media = media
        self.sessions: dict[str, ParticipantSession] = {}
        self.arriving = 0  # sessions whose media peer is being made
        self.dominant_speaker: str | None = None
        self.remote: dict[str, Participant] = {}  # session id → a participant another SFU of the call hosts
        self.relay: ParticipantRelay | None = None
        self.refresh(record)
        media.on_audio_levels = self._audio_levels
        media.on_dominant_speaker = self._dominant_speaker
        media.on_connection_quality = self._connection_quality

    def refresh(self, record: CallRecord) -> None:
        """Take the coordinator's current view (each join reads it afresh)."""
        self.started_at = record.started_at
        self.pins = list(record.pins)
        self.settings = record.settings

    @property
    def pins(self) -> list[Pin]:
        return self._pins

    @pins.setter
    def pins(self, pins: list[Pin]) -> None:
        self._pins = list(pins)
        self.media.pinned = frozenset(pin.session_id for pin in self._pins)

    def pin_of(self, session_id: str) -> Pin | None:
        return next((p for p in self.pins if p.session_id == session_id), None)

    def of_user(self, user_id: str) -> list[ParticipantSession]:
        return [s for s in self.sessions.values() if s.user_id == user_id]

    def listed(self) -> list[ParticipantSession]:
        """The sessions others see: every one but hidden recording workers."""
        return [s for s in self.sessions.values() if not s.hidden]

    def participant_of(self, session_id: str) -> Participant | None:
        """The participant of a session in the call, here or on another SFU."""
        session = self.sessions.get(session_id)
        return session.participant() if session is not None else self.remote.get(session_id)

    def count(self) -> ParticipantCount:
        listed = self.listed()
        return ParticipantCount(total=len(listed) + len(self.remote),
                                anonymous=sum(1 for s in listed if s.record.anonymous))

    def call_state(self) -> CallState:
        participants = [s.participant() for s in self.listed()] + list(self.remote.values())
        participants.sort(key=lambda p: not p.published_tracks)  # stable: publishers first, then join order
        return CallState(participants=participants[:MAX_LISTED_PARTICIPANTS], pins=self.pins,
                         started_at=self.started_at, participant_count=self.count())

    def _present(self, by_session: dict[str, T]) -> list[tuple[ParticipantSession, T]]:
        """The entries of ``by_session`` whose session is (still) in the call."""
        return [(session, value) for session_id, value in by_session.items()
                if (session := self.sessions.get(session_id)) is not None]

    async def _audio_levels(self, levels: dict[str, float]) -> None:
        changed = []
        for session_id, level in levels.items():
            session = self.sessions.get(session_id)
            if session is not None:
                session.audio_level = level
            owner = session or self.remote.get(session_id)  # a participant on another SFU (cascading)
            if owner is not None:
                changed.append(AudioLevel(session_id=session_id, user_id=owner.user_id, level=level,
                                          is_speaking=level >= SPEAKING_LEVEL))
        if changed:
            self.broadcast(AudioLevelChangedEvent(audio_levels=changed))

    async def _dominant_speaker(self, session_id: str) -> None:
        owner = self.sessions.get(session_id) or self.remote.get(session_id)
        if owner is not None:
            self.dominant_speaker = session_id
            self.broadcast(DominantSpeakerChangedEvent(session_id=session_id, user_id=owner.user_id))

    async def _connection_quality(self, grades: dict[str, ConnectionQuality]) -> None:
        changed = []
        for session, quality in self._present(grades):
            session.connection_quality = quality
            changed.append(ConnectionQualityInfo(session_id=session.id, user_id=session.user_id,
                                                 connection_quality=quality))
        if changed:
            self.broadcast(ConnectionQualityChangedEvent(updates=changed))

    def broadcast(self, event: Outbound, *, exclude: str | None = None) -> None:
        for session in self.sessions.values():
            if session.id != exclude:
                session.send(event)


__all__ = ["MAX_LISTED_PARTICIPANTS", "ParticipantRelay", "SignalingRoom"]
