"""Answering a WHIP or WHEP offer on the SFU that holds the session (``LocalEntry``, in the main process or a media
worker). No coordinator code is needed here, so a worker process does not load it and starts sooner."""

from __future__ import annotations

import asyncio

from weir.protocol.errors import APIError, ErrorCode
from weir.rtc.sdp import SdpError, parse
from weir.sfu.rtc.model import Subscription, TrackInfo
from weir.sfu.signaling.session import ParticipantSession

__all__ = ["RELAYED_WAIT_SECONDS", "offered_tracks", "play_offer", "publish_offer", "viewable_tracks"]

RELAYED_WAIT_SECONDS = 5.0  # a viewer on an SFU new to a cascaded call waits this long for the others' tracks


def offered_tracks(sdp: str, session_id: str) -> list[TrackInfo]:
    """The tracks a WHIP offer publishes: its first sending audio and video m-sections; SdpError if none."""
    tracks: dict[str, TrackInfo] = {}
    for media in parse(sdp).media:
        if media.kind in ("audio", "video") and media.kind not in tracks and not media.rejected and media.mid and (
            media.direction in ("sendonly", "sendrecv")
        ):
            tracks[media.kind] = TrackInfo(session_id=session_id, track_type=media.kind, mid=media.mid)  # type: ignore[arg-type]
    if not tracks:
        raise SdpError("the offer sends no audio or video")
    return list(tracks.values())


async def publish_offer(joined: ParticipantSession, sdp: str) -> str:
    """WHIP: the publisher's offer, its tracks published."""
    return await joined.media.set_publisher_offer(sdp, offered_tracks(sdp, joined.id))


def viewable_tracks(viewer: ParticipantSession) -> list[Subscription]:
    """The call's tracks here: those of this SFU's other sessions, and those relayed from other SFUs."""
    room = viewer.room
    local = [Subscription(session.id, track.track_type) for session in room.sessions.values()
             if session is not viewer for track in session.tracks]
    relayed = [Subscription(participant.session_id, track_type) for participant in room.remote.values()
               for track_type in participant.published_tracks
               if room.media.track((participant.session_id, track_type)) is not None]
    return local + relayed


async def play_offer(viewer: ParticipantSession, sdp: str) -> str:
    """WHEP: the viewer's receive-only offer, answered with the call's published tracks. On an SFU that just
    joined a cascaded call, the other SFUs' tracks arrive over the relay a moment after the admission: those
    are waited for (up to ``RELAYED_WAIT_SECONDS``) while nothing is published here."""
    wanted = viewable_tracks(viewer)
    if not wanted and viewer.room.relay is not None:
        deadline = asyncio.get_running_loop().time() + RELAYED_WAIT_SECONDS
        while not wanted and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
            wanted = viewable_tracks(viewer)
        await asyncio.sleep(0.2)  # the rest of an SFU's announcement: its other tracks
        wanted = viewable_tracks(viewer)
    if not wanted:
        raise APIError(ErrorCode.CONFLICT, f"nothing is published in call {viewer.room.cid} yet")
    return await viewer.media.answer_subscriber_offer(sdp, wanted)
