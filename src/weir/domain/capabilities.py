"""Capabilities: what one user may do in one call.

``own_capabilities`` = the grants of every call role the user holds, plus runtime grants, minus runtime
revokes, minus what the call's settings switch off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any


class Capability(str, Enum):
    # The 23 default capabilities the seed lists.
    JOIN_CALL = "join-call"
    READ_CALL = "read-call"
    CREATE_CALL = "create-call"
    JOIN_ENDED_CALL = "join-ended-call"
    JOIN_BACKSTAGE = "join-backstage"
    UPDATE_CALL = "update-call"
    UPDATE_CALL_SETTINGS = "update-call-settings"
    SCREENSHARE = "screenshare"
    SEND_VIDEO = "send-video"
    SEND_AUDIO = "send-audio"
    START_RECORD_CALL = "start-record-call"
    STOP_RECORD_CALL = "stop-record-call"
    START_BROADCAST_CALL = "start-broadcast-call"
    STOP_BROADCAST_CALL = "stop-broadcast-call"
    END_CALL = "end-call"
    MUTE_USERS = "mute-users"
    UPDATE_CALL_PERMISSIONS = "update-call-permissions"
    BLOCK_USERS = "block-users"
    CREATE_REACTION = "create-reaction"
    PIN_FOR_EVERYONE = "pin-for-everyone"
    REMOVE_CALL_MEMBER = "remove-call-member"
    START_TRANSCRIPTION_CALL = "start-transcription-call"
    STOP_TRANSCRIPTION_CALL = "stop-transcription-call"
    # The rest of the documented capability names.
    CHANGE_MAX_DURATION = "change-max-duration"
    ENABLE_NOISE_CANCELLATION = "enable-noise-cancellation"
    KICK_USER = "kick-user"
    SEND_CLOSED_CAPTIONS_CALL = "send-closed-captions-call"
    START_CLOSED_CAPTIONS_CALL = "start-closed-captions-call"
    STOP_CLOSED_CAPTIONS_CALL = "stop-closed-captions-call"
    START_FRAME_RECORD_CALL = "start-frame-record-call"
    STOP_FRAME_RECORD_CALL = "stop-frame-record-call"
    START_INDIVIDUAL_RECORD_CALL = "start-individual-record-call"
    STOP_INDIVIDUAL_RECORD_CALL = "stop-individual-record-call"
    START_RAW_RECORD_CALL = "start-raw-record-call"
    STOP_RAW_RECORD_CALL = "stop-raw-record-call"
    UPDATE_CALL_MEMBER = "update-call-member"


ALL_CAPABILITIES: frozenset[str] = frozenset(c.value for c in Capability)

# Call roles every call type knows. ``call_member`` is what a member gets unless a role is named;
# the creator of a call also holds ``host``; ``anonymous`` is a ``!anon`` token.
BUILTIN_ROLES = ("user", "moderator", "host", "admin", "call_member", "guest", "anonymous")
MEMBER_ROLE = "call_member"
CREATOR_ROLE = "host"
ANONYMOUS_ROLE = "anonymous"


_C = Capability

# (settings path, value that switches the feature off, capabilities it removes)
_SETTINGS_SWITCHES: tuple[tuple[tuple[str, ...], Any, tuple[Capability, ...]], ...] = (
    (("video", "enabled"), False, (_C.SEND_VIDEO,)),
    (("screensharing", "enabled"), False, (_C.SCREENSHARE,)),
    (("recording", "mode"), "disabled", (_C.START_RECORD_CALL, _C.STOP_RECORD_CALL)),
    (("broadcasting", "enabled"), False, (_C.START_BROADCAST_CALL, _C.STOP_BROADCAST_CALL)),
    (("transcription", "mode"), "disabled", (_C.START_TRANSCRIPTION_CALL, _C.STOP_TRANSCRIPTION_CALL)),
    (("transcription", "closed_caption_mode"), "disabled",
     (_C.START_CLOSED_CAPTIONS_CALL, _C.STOP_CLOSED_CAPTIONS_CALL, _C.SEND_CLOSED_CAPTIONS_CALL)),
    (("frame_recording", "mode"), "disabled", (_C.START_FRAME_RECORD_CALL, _C.STOP_FRAME_RECORD_CALL)),
    (("individual_recording", "mode"), "disabled",
     (_C.START_INDIVIDUAL_RECORD_CALL, _C.STOP_INDIVIDUAL_RECORD_CALL)),
    (("raw_recording", "mode"), "disabled", (_C.START_RAW_RECORD_CALL, _C.STOP_RAW_RECORD_CALL)),
    (("audio", "noise_cancellation", "mode"), "disabled", (_C.ENABLE_NOISE_CANCELLATION,)),
)


def _lookup(settings: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = settings
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def disabled_by_settings(settings: Mapping[str, Any]) -> set[str]:
    """Capabilities a call's settings turn off, whatever the grants say."""
    return {
        capability.value
        for path, off_value, capabilities in _SETTINGS_SWITCHES
        if _lookup(settings, path) == off_value
        for capability in capabilities
    }


def call_roles(
    app_role: str | None, member_role: str | None, is_creator: bool, token_role: str | None
) -> list[str]:
    """The call roles a caller holds: their app role, their member role, ``host`` if they created the call,
    and the role a call token names. ``app_role`` None means an anonymous caller."""
    roles = [app_role or ANONYMOUS_ROLE]
    for role in (member_role, CREATOR_ROLE if is_creator else None, token_role):
        if role and role not in roles:
            roles.append(role)
    return roles


def own_capabilities(
    grants: Mapping[str, Iterable[str]],
    roles: Iterable[str],
    settings: Mapping[str, Any],
    granted: Iterable[str] = (),
    revoked: Iterable[str] = (),
) -> list[str]:
    capabilities: set[str] = set()
    for role in roles:
        capabilities.update(grants.get(role, ()))
    capabilities.update(granted)
    capabilities.difference_update(revoked)
    capabilities.difference_update(disabled_by_settings(settings))
    return sorted(capabilities & ALL_CAPABILITIES)
