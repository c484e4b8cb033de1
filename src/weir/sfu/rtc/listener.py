"""``ParticipantListener``: what an ``RtcParticipant`` reports to the room that owns it.

As in mediasoup, the owner hands each child a listener and the child reports to it: ``RtcRoom`` implements this
protocol and creates its participants with itself as their listener. The participant knows the room only
through this module, so ``participant.py`` never imports ``room.py`` (the room imports the participant to
create it, and calls its public ``gather``, ``shutdown`` and ``track_*`` methods).
"""

from __future__ import annotations

from typing import Protocol

from weir.sfu.rtc.track import PublishedTrack

__all__ = ["ParticipantListener"]


class ParticipantListener(Protocol):
    def track(self, key: tuple[str, str]) -> PublishedTrack | None:
        """The track published under (session id, track type), if any: what a subscription forwards."""
        ...

    def track_published(self, track: PublishedTrack) -> None:
        """A participant published ``track`` (or republished it with another codec or other layers)."""
        ...

    def track_unpublished(self, track: PublishedTrack) -> None:
        """A participant stopped publishing ``track``, or its publisher connection ended."""
        ...

    def track_muted(self, track: PublishedTrack) -> None:
        """``track.info.muted`` changed: its forwarding pauses or resumes for every subscriber."""
        ...

    def observe_audio(self, track: PublishedTrack, level: int, voice: bool) -> None:
        """One audio packet's level (RFC 6464 -dBov) and voice flag, for audio levels and the dominant speaker."""
        ...

    async def remove_participant(self, session_id: str) -> None:
        """The participant asks to leave (``RtcParticipant.close``): the owner shuts it down once."""
        ...
