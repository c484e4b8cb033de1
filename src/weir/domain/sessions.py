"""Session rules: who counts, when a call is full, when backstage opens, when the duration timer fires."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from weir.domain.effective_settings import Limits


class Participant(Protocol):
    user_id: str
    role: str
    anonymous: bool


def participant_counts(participants: Iterable[Participant]) -> tuple[dict[str, int], int]:
    """``participants_count_by_role`` and ``anonymous_participant_count``."""
    by_role: Counter[str] = Counter()
    anonymous = 0
    for participant in participants:
        if participant.anonymous:
            anonymous += 1
        else:
            by_role[participant.role] += 1
    return dict(by_role), anonymous


def is_full(
    limits: Limits, participants: Iterable[Participant], owner_id: str, joiner_id: str, joiner_role: str
) -> bool:
    """``limits.max_participants`` (0 = no limit), minus the owner and the excluded roles when configured."""
    maximum = limits.max_participants
    if maximum <= 0:
        return False
    exclude_owner = limits.max_participants_exclude_owner
    excluded_roles = limits.max_participants_exclude_roles

    def counts(user_id: str, role: str) -> bool:
        return not (exclude_owner and user_id == owner_id) and role not in excluded_roles

    if not counts(joiner_id, joiner_role):
        return False
    present = sum(1 for p in participants if counts(p.user_id, p.role))
    return present >= maximum


def backstage_open_for_all(now: datetime, starts_at: datetime | None, join_ahead_time_seconds: int | None) -> bool:
    """While backstage, everyone may join ``join_ahead_time_seconds`` before ``starts_at``."""
    if starts_at is None or not join_ahead_time_seconds:
        return False
    return now >= starts_at - timedelta(seconds=join_ahead_time_seconds)


def timer_ends_at(started_at: datetime | None, max_duration_seconds: int | None) -> datetime | None:
    """The call ends ``limits.max_duration_seconds`` after its session started (0 or unset: no timer)."""
    if started_at is None or not max_duration_seconds:
        return None
    return started_at + timedelta(seconds=max_duration_seconds)
