"""The four built-in call types, with the seed's defaults table and Weir's default grants.

The seed gives the settings of each type but not the grants; the grants below follow its descriptions
(``docs/decisions.md`` records them): ``default`` lets users talk and hosts/admins moderate, ``audio_room``
makes listeners request to speak, ``livestream`` lets every authenticated user watch, ``development`` grants
everything to everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from weir.domain.capabilities import ALL_CAPABILITIES, BUILTIN_ROLES, Capability
from weir.domain.settings import default_settings, merge_settings

C = Capability

_VIEWER = {C.READ_CALL, C.JOIN_CALL, C.CREATE_REACTION}
_TALKER = _VIEWER | {C.CREATE_CALL, C.SEND_AUDIO, C.SEND_VIDEO, C.SCREENSHARE, C.ENABLE_NOISE_CANCELLATION}
_MODERATOR = _TALKER | {
    C.JOIN_BACKSTAGE, C.MUTE_USERS, C.BLOCK_USERS, C.KICK_USER, C.REMOVE_CALL_MEMBER, C.UPDATE_CALL_MEMBER,
    C.UPDATE_CALL_PERMISSIONS, C.PIN_FOR_EVERYONE, C.END_CALL,
}


def _names(capabilities: set[Capability] | frozenset[str]) -> list[str]:
    return sorted(c.value if isinstance(c, Capability) else c for c in capabilities)


def _grants(user: set[Capability], member: set[Capability], anonymous: set[Capability]) -> dict[str, list[str]]:
    return {
        "user": _names(user),
        "guest": _names(user - {C.CREATE_CALL}),
        "call_member": _names(member),
        "anonymous": _names(anonymous),
        "moderator": _names(_MODERATOR),
        "host": _names(ALL_CAPABILITIES),
        "admin": _names(ALL_CAPABILITIES),
    }


def default_notification_settings() -> dict[str, Any]:
    def event(title: str, body: str) -> dict[str, Any]:
        return {"enabled": True, "apns": {"title": title, "body": body}, "fcm": {"data": {}}}

    return {
        "enabled": True,
        "call_live_started": event("{{ call.display_name }} started", "{{ user.display_name }} went live"),
        "session_started": event("{{ call.display_name }} started", "{{ user.display_name }} started a call"),
        "call_notification": event("{{ user.display_name }} calls you", "{{ user.display_name }} calls you"),
        "call_ring": event("{{ user.display_name }} calls you", "{{ user.display_name }} is calling"),
        "call_missed": event("Missed call", "missed call from {{ user.display_name }}"),
    }


@dataclass(frozen=True)
class BuiltinCallType:
    name: str
    settings: dict[str, Any]
    grants: dict[str, list[str]]


def _no_ring() -> dict[str, Any]:
    return {"incoming_call_timeout_ms": 0, "auto_cancel_timeout_ms": 0, "missed_call_timeout_ms": 0}


_FULL_HD = {"width": 1920, "height": 1080, "bitrate": 3_000_000}

BUILTIN_CALL_TYPES: dict[str, BuiltinCallType] = {
    "default": BuiltinCallType("default", default_settings(), _grants(_TALKER, _TALKER, set())),
    "audio_room": BuiltinCallType(
        "audio_room",
        merge_settings(default_settings(), {
            "audio": {"mic_default_on": False, "default_device": "speaker"},
            "backstage": {"enabled": True},
            "video": {"enabled": False, "access_request_enabled": False, "camera_default_on": False},
            "screensharing": {"enabled": False, "access_request_enabled": False},
            "ring": _no_ring(),
        }),
        _grants(_VIEWER | {C.CREATE_CALL}, _VIEWER, set()),
    ),
    "livestream": BuiltinCallType(
        "livestream",
        merge_settings(default_settings(), {
            "audio": {"access_request_enabled": False, "mic_default_on": False, "default_device": "speaker"},
            "backstage": {"enabled": True},
            "video": {"access_request_enabled": False, "target_resolution": _FULL_HD},
            "screensharing": {"access_request_enabled": False},
            "ring": _no_ring(),
        }),
        _grants(_VIEWER | {C.CREATE_CALL}, _VIEWER, {C.READ_CALL, C.JOIN_CALL}),
    ),
    "development": BuiltinCallType(
        "development",
        merge_settings(default_settings(), {"video": {"target_resolution": _FULL_HD}}),
        {role: _names(ALL_CAPABILITIES) for role in BUILTIN_ROLES},
    ),
}

# Custom call types start from the ``default`` type's grants; grants given at creation replace a role's list.
DEFAULT_GRANTS = BUILTIN_CALL_TYPES["default"].grants
