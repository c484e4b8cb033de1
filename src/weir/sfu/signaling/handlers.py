"""What the SFU does with each request of a joined session (``join`` itself is in join.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from weir.protocol.sfu.errors import SfuErrorCode, SignalError
from weir.protocol.sfu.events import HealthCheckResponseEvent, PublisherAnswerEvent
from weir.protocol.sfu.requests import (
    AnyRequest,
    IceRestartRequest,
    IceTrickleRequest,
    LeaveRequest,
    SendAnswerRequest,
    SetPublisherRequest,
    UpdateMuteStatesRequest,
    UpdateSubscriptionsRequest,
)
from weir.sfu.rtc.model import Layer, MediaClosed, Subscription, TrackInfo
from weir.sfu.signaling.rooms import SignalingRooms
from weir.sfu.signaling.session import ParticipantSession, candidate_to_media

Handler = Callable[[SignalingRooms, ParticipantSession, Any], Awaitable[None]]
# Trickled candidates per peer connection and ICE generation: real clients send a handful; each one costs
# connectivity checks against every local candidate.
MAX_TRICKLED_CANDIDATES = 64


def _refuse_unpermitted(session: ParticipantSession, track_types: list[str], request_id: str | None) -> None:
    refused = sorted({t for t in track_types if not session.may_publish(t)})
    if refused:
        raise SignalError(SfuErrorCode.PERMISSION_DENIED,
                          f"you may not publish {', '.join(refused)} in this call (missing capability)", request_id)


async def set_publisher(rooms: SignalingRooms, session: ParticipantSession, request: SetPublisherRequest) -> None:
    # A muted track may be announced without the capability (so renegotiation keeps working after a revoke).
    _refuse_unpermitted(session, [t.track_type for t in request.tracks if not t.muted], request.request_id)
    tracks = [
        TrackInfo(session_id=session.id, track_type=t.track_type, mid=t.mid, codec=t.codec, muted=t.muted,
                  layers=tuple(Layer(rid=x.rid, width=x.width, height=x.height, bitrate=x.bitrate) for x in t.layers))
        for t in request.tracks
    ]
    session.trickled.pop("publisher", None)  # a new offer may restart ICE
    try:
        answer = await session.media.set_publisher_offer(request.sdp, tracks)
    except ValueError as error:
        raise SignalError(SfuErrorCode.NEGOTIATION_FAILED, f"publisher offer refused: {error}",
                          request.request_id) from error
    session.send(PublisherAnswerEvent(sdp=answer))


async def send_answer(rooms: SignalingRooms, session: ParticipantSession, request: SendAnswerRequest) -> None:
    try:
        await session.media.set_subscriber_answer(request.sdp, request.negotiation_id)
    except ValueError as error:
        raise SignalError(SfuErrorCode.NEGOTIATION_FAILED, f"subscriber answer refused: {error}",
                          request.request_id) from error


async def ice_trickle(rooms: SignalingRooms, session: ParticipantSession, request: IceTrickleRequest) -> None:
    if request.candidate is not None:
        count = session.trickled.get(request.target, 0)
        if count >= MAX_TRICKLED_CANDIDATES:
            raise SignalError(SfuErrorCode.INVALID_MESSAGE, f"at most {MAX_TRICKLED_CANDIDATES} candidates per peer "
                              "connection until an ICE restart", request.request_id)
        session.trickled[request.target] = count + 1
    candidate = None if request.candidate is None else candidate_to_media(request.candidate)
    try:
        await session.media.add_ice_candidate(request.target, candidate)
    except ValueError as error:
        raise SignalError(SfuErrorCode.INVALID_MESSAGE, f"candidate: {error}", request.request_id) from error


async def update_subscriptions(
    rooms: SignalingRooms, session: ParticipantSession, request: UpdateSubscriptionsRequest,
) -> None:
    # Tracks of sessions that are gone (or never were) are left out: a subscriber may not have heard yet.
    room = session.room
    present = room.sessions.keys() | room.remote.keys()  # remote: on another SFU of the call (cascading)
    wanted = [
        Subscription(session_id=t.session_id, track_type=t.track_type,
                     width=t.dimension.width if t.dimension else 0, height=t.dimension.height if t.dimension else 0)
        for t in request.tracks if t.session_id in present and t.session_id != session.id
    ]
    try:
        await session.media.update_subscriptions(wanted)
    except MediaClosed as error:
        raise SignalError(SfuErrorCode.MEDIA_CONNECTION_FAILED, str(error), request.request_id) from error
    except ValueError as error:
        raise SignalError(SfuErrorCode.INVALID_MESSAGE, f"subscriptions: {error}", request.request_id) from error


async def update_mute_states(
    rooms: SignalingRooms, session: ParticipantSession, request: UpdateMuteStatesRequest,
) -> None:
    _refuse_unpermitted(session, [m.track_type for m in request.mute_states if not m.muted], request.request_id)
    session.set_muted({m.track_type: m.muted for m in request.mute_states})


async def ice_restart(rooms: SignalingRooms, session: ParticipantSession, request: IceRestartRequest) -> None:
    if request.target == "subscriber":
        session.subscriber_ice_restart = True
    session.trickled.pop(request.target, None)
    await session.media.restart_ice(request.target)


async def leave(rooms: SignalingRooms, session: ParticipantSession, request: LeaveRequest) -> None:
    await rooms.remove(session, "left")


async def send_stats(rooms: SignalingRooms, session: ParticipantSession, request: Any) -> None:
    """Kept for the session's next stats sample (``weir.sfu.signaling.stats``)."""
    session.last_stats = {"publisher": request.publisher, "subscriber": request.subscriber}
    session.stats.client_report(request.publisher, request.subscriber)


async def health_check(rooms: SignalingRooms, session: ParticipantSession, request: Any) -> None:
    session.send(HealthCheckResponseEvent(participant_count=session.room.count()))


async def already_joined(rooms: SignalingRooms, session: ParticipantSession, request: Any) -> None:
    raise SignalError(SfuErrorCode.ALREADY_JOINED, "this socket has joined already", request.request_id)


HANDLERS: dict[str, Handler] = {
    "join": already_joined, "set_publisher": set_publisher, "send_answer": send_answer, "ice_trickle": ice_trickle,
    "update_subscriptions": update_subscriptions, "update_mute_states": update_mute_states,
    "ice_restart": ice_restart, "leave": leave, "send_stats": send_stats, "health_check": health_check,
}


async def handle(rooms: SignalingRooms, session: ParticipantSession, request: AnyRequest) -> None:
    await HANDLERS[request.type](rooms, session, request)


__all__ = ["HANDLERS", "handle"]
