"""Participant sorting: comparators, ways to combine them, and the documented presets.

A comparator takes two participants and returns a negative number when ``a`` comes first, a positive one when
``b`` does, and 0 when it has no preference. Sort with ``sort_participants(participants, comparator)``.

The seed names the comparators and the three presets but not what the presets contain; Weir's presets:

- ``regular`` (grid): pinned, screen sharing, publishing video, publishing audio, then by name. Speaking does
  not reorder a grid.
- ``speaker`` (spotlight, picture-in-picture): pinned, screen sharing, dominant speaker, speaking, publishing
  video, publishing audio, then by name.
- ``livestream_or_audio_room``: pinned, screen sharing, the roles ``admin``, ``host``, ``speaker`` (in that
  order), dominant speaker, speaking, publishing video, publishing audio, then by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cmp_to_key

from weir.client.state import CallParticipantState, SfuParticipantSource, SfuTrackType

Comparator = Callable[[CallParticipantState, CallParticipantState], int]


def _first_when(predicate: Callable[[CallParticipantState], bool]) -> Comparator:
    """Participants for whom ``predicate`` holds come first."""
    def compare(a: CallParticipantState, b: CallParticipantState) -> int:
        return int(predicate(b)) - int(predicate(a))

    return compare


def _by_rank(rank: Callable[[CallParticipantState], int]) -> Comparator:
    """Lower rank first."""
    def compare(a: CallParticipantState, b: CallParticipantState) -> int:
        return (rank(a) > rank(b)) - (rank(a) < rank(b))

    return compare


def combine_comparators(*comparators: Comparator) -> Comparator:
    """The first comparator with a preference decides."""
    def compare(a: CallParticipantState, b: CallParticipantState) -> int:
        for comparator in comparators:
            result = comparator(a, b)
            if result:
                return result
        return 0

    return compare


def descending(comparator: Comparator) -> Comparator:
    """``comparator`` reversed."""
    return lambda a, b: comparator(b, a)


def conditional(enabled: Callable[[], bool], comparator: Comparator) -> Comparator:
    """``comparator`` while ``enabled()`` is true; no preference otherwise."""
    return lambda a, b: comparator(a, b) if enabled() else 0


def sort_participants(participants: Iterable[CallParticipantState],
                      comparator: Comparator) -> list[CallParticipantState]:
    """A sorted copy; participants the comparator can't tell apart keep their order."""
    return sorted(participants, key=cmp_to_key(comparator))


dominant_speaker = _first_when(lambda p: p.is_dominant_speaker)
speaking = _first_when(lambda p: p.is_speaking)
screen_sharing = _first_when(lambda p: SfuTrackType.SCREEN_SHARE in p.published_tracks)
publishing_video = _first_when(lambda p: SfuTrackType.VIDEO in p.published_tracks)
publishing_audio = _first_when(lambda p: SfuTrackType.AUDIO in p.published_tracks)


def pinned(a: CallParticipantState, b: CallParticipantState) -> int:
    """Pinned participants first; of two pinned, the more recently pinned first."""
    if a.pin is None or b.pin is None:
        return _first_when(lambda p: p.pin is not None)(a, b)
    return (a.pin.pinned_at < b.pin.pinned_at) - (a.pin.pinned_at > b.pin.pinned_at)


def reaction_type(type: str) -> Comparator:
    """Participants whose current reaction is of ``type`` first."""
    return _first_when(lambda p: p.reaction is not None and p.reaction.type == type)


def by_role(*roles: str) -> Comparator:
    """Participants holding one of ``roles`` first, in the order the roles are given."""
    def rank(p: CallParticipantState) -> int:
        return min((roles.index(r) for r in p.roles if r in roles), default=len(roles))

    return _by_rank(rank)


def by_participant_source(*sources: SfuParticipantSource) -> Comparator:
    """Participants from ``sources`` first, in the order given (by default the enum's order, WebRTC first)."""
    order = list(sources or SfuParticipantSource)
    return _by_rank(lambda p: order.index(p.participant_source) if p.participant_source in order else len(order))


def by_name(a: CallParticipantState, b: CallParticipantState) -> int:
    """Alphabetically by name (case-insensitive), then by user id."""
    def key(p: CallParticipantState) -> tuple[str, str]:
        return (p.name or p.user_id).casefold(), p.user_id

    return (key(a) > key(b)) - (key(a) < key(b))


class CallParticipantSortingPresets:
    regular = staticmethod(combine_comparators(pinned, screen_sharing, publishing_video, publishing_audio, by_name))
    speaker = staticmethod(combine_comparators(pinned, screen_sharing, dominant_speaker, speaking, publishing_video,
                                               publishing_audio, by_name))
    livestream_or_audio_room = staticmethod(combine_comparators(
        pinned, screen_sharing, by_role("admin", "host", "speaker"), dominant_speaker, speaking, publishing_video,
        publishing_audio, by_name))
