"""EffectiveSettings: the typed reading of a call's settings, with the defaults the coordinator acts on."""

from __future__ import annotations

from weir.domain.calltypes import BUILTIN_CALL_TYPES
from weir.domain.effective_settings import EffectiveSettings


def test_builtin_settings_read_typed() -> None:
    livestream = EffectiveSettings.of(BUILTIN_CALL_TYPES["livestream"].settings)
    assert livestream.backstage_enabled is True
    assert livestream.raw is BUILTIN_CALL_TYPES["livestream"].settings, "the API still returns the stored JSON"
    default = EffectiveSettings.of(BUILTIN_CALL_TYPES["default"].settings)
    assert default.backstage_enabled is False and default.ring.incoming_call_ms == 15000
    assert default.access_request_allowed("audio") is True


def test_missing_or_malformed_sections_fall_back_to_the_defaults() -> None:
    empty = EffectiveSettings.of({"limits": None, "ring": "bad", "audio": {"enabled": False}})
    assert empty.limits.max_participants == 0 and empty.limits.max_duration_seconds == 0
    assert empty.inactivity_timeout_seconds == 30 and empty.ring.end_call_when_all_rejected is True
    assert empty.join_ahead_time_seconds is None and not empty.access_request_allowed("audio")
    limited = EffectiveSettings.of({"limits": {"max_participants": 3, "max_participants_exclude_roles": ["host"]}})
    assert limited.limits.max_participants == 3 and limited.limits.max_participants_exclude_roles == {"host"}
