"""Every call on this SFU: rooms by call, sessions joining and leaving, and sessions that vanish.

A session vanishes when its socket closes without ``leave``, or its ICE connection fails, and nothing brings it
back within the fast-reconnect deadline. It is then removed as if it had left: its tracks are unpublished, the
others are told, and so is the coordinator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from weir.protocol.leave_reasons import SESSION_DISCONNECTED
from weir.protocol.sfu.errors import SfuErrorCode, SignalError
from weir.protocol.sfu.events import (
    CallEndedEvent,
    GoAwayEvent,
    ParticipantJoinedEvent,
    ParticipantLeftEvent,
    TrackUnpublishedEvent,
)
from weir.sfu.signaling.link import CallRecord, CoordinatorLink
from weir.sfu.signaling.media import MediaRoomFactory
from weir.sfu.signaling.outbox import NORMAL_CLOSURE
from weir.sfu.signaling.room import SignalingRoom
from weir.sfu.signaling.session import ParticipantSession

log = logging.getLogger(__name__)

DISCONNECTED = SESSION_DISCONNECTED


class SignalingRooms:
    def __init__(self, link: CoordinatorLink, media_rooms: MediaRoomFactory, deadline_seconds: float) -> None:
        self.link = link
        self.media_rooms = media_rooms
        self.deadline_seconds = deadline_seconds
        self.rooms: dict[str, SignalingRoom] = {}
        self.joining: set[str] = set()
        self._vanishing: dict[ParticipantSession, asyncio.Task[None]] = {}
        self.on_room_opened: Callable[[SignalingRoom], object] | None = None  # cascading: weir.sfu.cascade
        self.on_room_closed: Callable[[SignalingRoom], object] | None = None

    def find(self, call_cid: str, session_id: str) -> ParticipantSession | None:
        room = self.rooms.get(call_cid)
        return None if room is None else room.sessions.get(session_id)

    def all_sessions(self) -> list[ParticipantSession]:
        return [s for room in self.rooms.values() for s in room.sessions.values()]

    def room(self, record: CallRecord, *, hidden: bool = False) -> SignalingRoom:
        room = self.rooms.get(record.cid)
        if room is None:
            room = self.rooms[record.cid] = SignalingRoom(record, self.media_rooms(record.cid))
            if self.on_room_opened is not None:
                self.on_room_opened(room)
        elif not hidden:  # a hidden session's record is empty: the room keeps what the others brought
            room.refresh(record)
        return room

    async def add(self, session: ParticipantSession) -> None:
        """Give the session its media peer, then put it on the roster and tell the others."""
        room = session.room
        room.arriving += 1  # keeps the room open while the media peer is made
        try:
            media = await room.media.add_participant(session.id, session.user_id)
        except BaseException:
            room.arriving -= 1
            await self._close_if_empty(room)
            raise
        room.arriving -= 1
        session.bind(media)
        media.on_connection_state = lambda state: self._connection_state(session, state)
        room.sessions[session.id] = session
        if session.hidden:
            return
        room.broadcast(ParticipantJoinedEvent(participant=session.participant()), exclude=session.id)
        if room.relay is not None:
            room.relay.local_joined(session)

    async def remove(self, session: ParticipantSession, reason: str, *, tell_coordinator: bool = True) -> None:
        """Take the session out of the call: the coordinator first, so that it agrees by the time others hear."""
        room = session.room
        if room.sessions.get(session.id) is not session:
            return
        del room.sessions[session.id]
        self.resumed(session)
        if session.outbox is not None:  # closed already when the client was told why
            session.outbox.close(NORMAL_CLOSURE, reason)
        if session.hidden:
            if not await self._close_if_empty(room):
                await room.media.remove_participant(session.id)
            return
        if tell_coordinator:
            try:
                await self.link.participant_left(room.cid, session.id, reason)
            except Exception:
                log.exception("could not tell the coordinator that %s left %s", session.id, room.cid)
        gone = session.participant()
        for track_type in sorted(t.track_type for t in session.tracks):
            room.broadcast(TrackUnpublishedEvent(session_id=session.id, track_type=track_type, cause="left",
                                                 participant=gone))
        room.broadcast(ParticipantLeftEvent(participant=gone, reason=reason))
        if room.relay is not None:
            room.relay.local_left(session, reason)
        if not await self._close_if_empty(room):
            await room.media.remove_participant(session.id)

    async def _close_if_empty(self, room: SignalingRoom) -> bool:
        if room.sessions or room.arriving or self.rooms.get(room.cid) is not room:
            return False
        del self.rooms[room.cid]
        if self.on_room_closed is not None:
            self.on_room_closed(room)
        await room.media.close()
        return True

    # --- vanishing -----------------------------------------------------------------------------------------
    def socket_lost(self, session: ParticipantSession) -> None:
        session.outbox = None
        self._start_vanishing(session)

    def resumed(self, session: ParticipantSession) -> None:
        """The socket is back (and ICE has not failed): the session stays."""
        task = self._vanishing.pop(session, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def _start_vanishing(self, session: ParticipantSession) -> None:
        if session not in self._vanishing and session.room.sessions.get(session.id) is session:
            self._vanishing[session] = asyncio.create_task(self._vanish(session))

    async def _vanish(self, session: ParticipantSession) -> None:
        await asyncio.sleep(self.deadline_seconds)
        if session.outbox is not None:  # the socket is here but media is not: ICE failed and was not restarted
            session.outbox.fail(SignalError(SfuErrorCode.MEDIA_CONNECTION_FAILED,
                                            "the media connection failed and was not restarted in time"))
        await self.remove(session, DISCONNECTED)

    async def _connection_state(self, session: ParticipantSession, state: str) -> None:
        if state == "failed":
            session.media_failed = True
            self._start_vanishing(session)
        elif state == "connected":
            session.media_failed = False
            if session.outbox is not None:
                self.resumed(session)

    # --- whole calls ---------------------------------------------------------------------------------------
    async def end_call(self, room: SignalingRoom, reason: str) -> None:
        """The coordinator ended the call: everyone is told and let go (the coordinator already removed them)."""
        room.broadcast(CallEndedEvent(reason=reason))
        for session in list(room.sessions.values()):
            await self.remove(session, "call_ended", tell_coordinator=False)

    def send_away(self) -> None:
        """This SFU drains: clients are asked to migrate, and keep their media here until they have."""
        for room in self.rooms.values():
            room.broadcast(GoAwayEvent(reason="shutting_down"))

    async def go_away(self) -> None:
        """This SFU stops: clients are asked to migrate; the coordinator keeps their participation until then."""
        for room in list(self.rooms.values()):
            room.broadcast(GoAwayEvent(reason="shutting_down"))
            for session in room.sessions.values():
                self.resumed(session)
                if session.outbox is not None:
                    session.outbox.close(NORMAL_CLOSURE, "going away")
            room.sessions.clear()
            await room.media.close()
        self.rooms.clear()


__all__ = ["DISCONNECTED", "SignalingRooms"]
