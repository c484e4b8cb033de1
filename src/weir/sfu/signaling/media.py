"""What signaling needs of the media plane (``weir.sfu.rtc``): a room per call, a participant per session.

Callbacks are attributes the signaling layer sets; the media plane awaits them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from weir.protocol.sfu.models import ConnectionQuality
from weir.sfu.rtc.model import Subscription, Target, TrackInfo

Candidate = dict[str, Any]


class MediaParticipant(Protocol):
    on_ice_candidate: Callable[[Target, Candidate], Awaitable[None]] | None
    on_subscriber_offer: Callable[[str, int], Awaitable[None]] | None
    on_track_published: Callable[[TrackInfo], Awaitable[None]] | None
    on_track_unpublished: Callable[[TrackInfo], Awaitable[None]] | None
    on_connection_state: Callable[[str], Awaitable[None]] | None
    on_inbound_state: Callable[[list[tuple[str, str, bool]]], Awaitable[None]] | None  # (session, track type, paused)
    on_publish_quality: Callable[[str, list[tuple[str, bool]]], Awaitable[None]] | None  # track type, (rid, active)

    @property
    def tracks(self) -> list[TrackInfo]:
        """The tracks this participant publishes, with their current mute state."""
        ...

    def track_stats(self) -> dict[str, Any]:
        """The SFU's cumulative counters of this participant's tracks (``weir.sfu.rtc.trackstats``)."""
        ...

    async def set_publisher_offer(self, sdp: str, tracks: list[TrackInfo]) -> str: ...

    async def set_subscriber_answer(self, sdp: str, negotiation_id: int) -> None: ...

    async def answer_subscriber_offer(self, sdp: str, wanted: list[Subscription]) -> str: ...

    async def add_ice_candidate(self, target: Target, candidate: Candidate | None) -> None: ...

    async def update_subscriptions(self, subscriptions: list[Subscription]) -> None: ...

    def set_muted(self, track_type: str, muted: bool) -> None: ...

    async def restart_ice(self, target: Target) -> None: ...


class MediaRoom(Protocol):
    on_audio_levels: Callable[[dict[str, float]], Awaitable[None]] | None
    on_dominant_speaker: Callable[[str], Awaitable[None]] | None
    on_connection_quality: Callable[[dict[str, ConnectionQuality]], Awaitable[None]] | None
    pinned: frozenset[str]  # sessions pinned for everyone: their video is the last a subscriber loses

    async def add_participant(self, session_id: str, user_id: str) -> MediaParticipant: ...

    async def remove_participant(self, session_id: str) -> None: ...

    def track(self, key: tuple[str, str]) -> object | None:
        """The track (session id, track type) published in the call, if it is here (relayed ones too)."""
        ...

    async def close(self) -> None: ...


MediaRoomFactory = Callable[[str], MediaRoom]

__all__ = ["Candidate", "MediaParticipant", "MediaRoom", "MediaRoomFactory"]
