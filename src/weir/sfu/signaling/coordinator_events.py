"""The coordinator's events that change what happens on the SFU.

- ``call.permissions_updated``: the user's sessions get ``call_grants_updated``; tracks they may no longer
  publish are muted.
- ``call.user_muted``: the named track types of those users are muted (they may unmute: a mute is not a revoke).
- ``call.kicked_user`` / ``call.blocked_user``: the user's sessions are removed.
- ``call.session_participant_left``: a session the coordinator ended (``POST …/leave``, the inactivity sweep) is
  removed here too; one another SFU of the call held (cascading) leaves the roster, even if that SFU died.
- ``call.ended`` / ``call.deleted``: everyone gets ``call_ended``.
- ``call.updated``: changed pins go out as ``pins_updated``.
"""

from __future__ import annotations

from typing import Any

from weir.protocol.sfu.errors import SfuErrorCode, SignalError
from weir.protocol.sfu.events import CallGrantsUpdatedEvent, PinsUpdatedEvent
from weir.sfu.signaling.link import parse_pins
from weir.sfu.signaling.room import SignalingRoom
from weir.sfu.signaling.rooms import SignalingRooms
from weir.sfu.signaling.session import ParticipantSession

# call.user_muted names tracks as the coordinator's MuteUsers request does.
MUTED_TRACKS: dict[str, str] = {
    "audio": "audio", "video": "video", "screenshare": "screen_share", "screenshare_audio": "screen_share_audio",
}


def _user_id(event: dict[str, Any]) -> str:
    return str((event.get("user") or {}).get("id", ""))


def grants_changed(session: ParticipantSession, capabilities: list[str]) -> None:
    session.capabilities = frozenset(capabilities)
    session.send(CallGrantsUpdatedEvent(own_capabilities=sorted(session.capabilities),
                                        message="your permissions in this call changed"))
    session.set_muted({t: True for t in session.published() if not session.may_publish(t)})


def _mute(room: SignalingRoom, user_ids: list[str], reason: str) -> None:
    track_types = [MUTED_TRACKS[t] for t in reason.split(",") if t in MUTED_TRACKS]
    for user_id in user_ids:
        for session in room.of_user(user_id):
            session.set_muted(dict.fromkeys(track_types, True))


async def _remove(
    rooms: SignalingRooms, sessions: list[ParticipantSession], reason: str, *, tell_coordinator: bool,
) -> None:
    for session in sessions:
        if session.outbox is not None:
            removed = SignalError(SfuErrorCode.REMOVED_FROM_CALL, f"you were removed from the call ({reason})")
            session.outbox.fail(removed)
        await rooms.remove(session, reason, tell_coordinator=tell_coordinator)


def _pins_changed(room: SignalingRoom, call: dict[str, Any]) -> None:
    pins = list(parse_pins((call.get("session") or {}).get("pins") or []))
    if pins != room.pins:
        room.pins = pins
        room.broadcast(PinsUpdatedEvent(pins=pins))


async def on_coordinator_event(rooms: SignalingRooms, event: dict[str, Any]) -> None:
    room = rooms.rooms.get(str(event.get("call_cid")))
    if room is None:
        return
    kind = event.get("type")
    if kind == "call.permissions_updated":
        for session in room.of_user(_user_id(event)):
            grants_changed(session, list(event.get("own_capabilities") or []))
    elif kind == "call.user_muted":
        _mute(room, list(event.get("muted_user_ids") or []), str(event.get("reason", "")))
    elif kind in ("call.kicked_user", "call.blocked_user"):
        reason = "kicked" if kind == "call.kicked_user" else "blocked"
        await _remove(rooms, room.of_user(_user_id(event)), reason, tell_coordinator=True)
    elif kind == "call.session_participant_left":
        session_id = str((event.get("participant") or {}).get("user_session_id"))
        left = room.sessions.get(session_id)
        if left is not None:
            await _remove(rooms, [left], "removed", tell_coordinator=False)
        elif session_id in room.remote and room.relay is not None:
            room.relay.remote_left(session_id, str(event.get("reason") or "left"))
    elif kind in ("call.ended", "call.deleted"):
        await rooms.end_call(room, str(event.get("reason") or kind.removeprefix("call.")))
    elif kind == "call.updated":
        _pins_changed(room, event.get("call") or {})


__all__ = ["on_coordinator_event"]
