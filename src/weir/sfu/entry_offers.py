"""Answering a WHIP or WHEP offer on the SFU that holds the session (``LocalEntry``, in the main process or a media
worker). No coordinator code is needed here, so a worker process does not load it and starts sooner."""

from __future__ import annotations

from weir.protocol.errors import APIError, ErrorCode
from weir.rtc.sdp import SdpError, parse
from weir.sfu.rtc.model import Subscription, TrackInfo
from weir.sfu.signaling.session import ParticipantSession

__all__ = ["offered_tracks", "play_offer", "publish_offer"]


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


async def play_offer(viewer: ParticipantSession, sdp: str) -> str:
    """WHEP: the viewer's receive-only offer, answered with the call's published tracks."""
    wanted = [Subscription(session.id, track.track_type) for session in viewer.room.sessions.values()
              if session is not viewer for track in session.tracks]
    if not wanted:
        raise APIError(ErrorCode.CONFLICT, f"nothing is published in call {viewer.room.cid} yet")
    return await viewer.media.answer_subscriber_offer(sdp, wanted)
