"""``LocalEntry``: WHIP and WHEP sessions on this process's rooms."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from weir.domain.sfu_tokens import SfuGrant
from weir.protocol.errors import APIError, ErrorCode, input_error, not_found
from weir.sfu.entry import EntryKind
from weir.sfu.entry_offers import play_offer, publish_offer
from weir.sfu.signaling.link import CoordinatorUnavailable
from weir.sfu.signaling.rooms import SignalingRooms
from weir.sfu.signaling.session import ParticipantSession

__all__ = ["LocalEntry"]

Negotiate = Callable[[ParticipantSession, str], Awaitable[str]]
NEGOTIATORS: dict[EntryKind, Negotiate] = {"whip": publish_offer, "whep": play_offer}


def coordinator_busy() -> APIError:
    """A 503: the coordinator did not answer the admission in time; the client may try again."""
    error = APIError(ErrorCode.INTERNAL, "the server is busy and did not admit the session in time: try again")
    error.status_code = 503
    return error


class LocalEntry:
    def __init__(self, rooms: SignalingRooms) -> None:
        self.rooms = rooms

    async def open(self, kind: EntryKind, grant: SfuGrant, sdp: str) -> str:
        try:
            admitted = await self.rooms.link.admit(grant.call_cid, grant.session_id)
        except CoordinatorUnavailable:
            raise coordinator_busy() from None
        if admitted is None:  # the call ended, or the session was removed, in between
            raise not_found(f"call {grant.call_cid}")
        record, participant_record = admitted
        joined = ParticipantSession(grant, participant_record, self.rooms.room(record), [])
        await self.rooms.add(joined)
        try:
            return await NEGOTIATORS[kind](joined, sdp)
        except ValueError as error:
            await self.rooms.remove(joined, "left")
            raise input_error("sdp", str(error)) from None
        except APIError:
            await self.rooms.remove(joined, "left")
            raise

    async def close(self, call_cid: str, session_id: str, user_id: str | None) -> bool:
        joined = self.rooms.find(call_cid, session_id)
        if joined is None or (user_id is not None and joined.user_id != user_id):
            return False
        await self.rooms.remove(joined, "left")
        return True
