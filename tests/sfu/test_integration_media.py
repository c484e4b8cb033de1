"""Whole calls through ``weir serve``: real aiortc clients join through the coordinator, signal over the SFU's
WebSocket and decode each other's media on 127.0.0.1. Four participants with mutes, leaving and rejoining; a
simulcast publisher whose subscribers each decode the layer their size calls for; and a lossy path that NACKs
repair.

SQLite only: the database takes no part in media (the signaling tests run the coordinator's side on both).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.sfu.lossy import LossyPath
from tests.sfu.rtc_peers import SimulcastPublisher, eventually
from tests.sfu.signaling_peers import SignalingPeer, coordinator_join, running_sfu
from weir.sfu.rtc import TrackInfo

Uid = Callable[[str], str]
KINDS = ("audio", "video")
FRAMES = 15  # decoded frames that prove a stream works (half a second of video)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu("sqlite", tmp_path_factory.mktemp("sfu-integration")) as running:
        yield running


async def joined(server: RunningServer, user_id: str, cid: str, **body: Any) -> SignalingPeer:
    return await SignalingPeer.join(await coordinator_join(server, user_id, cid, **body))


def others(peer: SignalingPeer, peers: list[SignalingPeer]) -> list[SignalingPeer]:
    return [other for other in peers if other is not peer]


def everyone_decodes_everyone(peers: list[SignalingPeer]) -> bool:
    return all(p.received(o, kind) > 0 for p in peers for o in others(p, peers) for kind in KINDS)


async def settled(count: Callable[[], int], quiet_s: float = 0.6) -> int:
    """``count()`` once it has stopped changing for ``quiet_s`` (frames in flight are decoded meanwhile)."""
    while True:
        before = count()
        await asyncio.sleep(quiet_s)
        if count() == before:
            return before


# --- four participants ---------------------------------------------------------------------------------------
async def test_four_participants_mute_leave_and_rejoin(server: RunningServer, uid: Uid) -> None:
    cid = f"default:{uid('c')}"
    users = [uid(name) for name in ("ann", "ben", "cat", "dan")]
    peers = [await joined(server, users[0], cid, create=True)]
    peers += [await joined(server, user, cid) for user in users[1:]]
    gone: list[SignalingPeer] = []
    try:
        for peer in peers:
            await peer.subscribe(*others(peer, peers))  # kept until the tracks are published
        for peer in peers:
            await peer.publish()
        await eventually(lambda: everyone_decodes_everyone(peers), timeout_s=30, what="12 pairs of audio and video")
        ann, rest = peers[0], peers[1:]

        # Ann mutes her video: the others are told, and her video stops reaching them while her audio goes on.
        await ann.send({"type": "update_mute_states", "mute_states": [{"track_type": "video", "muted": True}]})
        for peer in rest:
            muted = await peer.wait_for("participant_updated", lambda e: e["participant"]["published_tracks"] == [
                "audio"])
            assert muted["participant"]["session_id"] == ann.session_id
        stopped = [await settled(lambda p=p: p.received(ann, "video")) for p in rest]
        audio = [p.received(ann, "audio") for p in rest]
        await asyncio.sleep(0.6)
        assert [p.received(ann, "video") for p in rest] == stopped
        assert all(p.received(ann, "audio") > before for p, before in zip(rest, audio, strict=True))

        await ann.send({"type": "update_mute_states", "mute_states": [{"track_type": "video", "muted": False}]})
        for peer in rest:
            await peer.wait_for("participant_updated", lambda e: e["participant"]["published_tracks"] == [
                "audio", "video"])
        resumed = list(zip(rest, stopped, strict=True))
        await eventually(lambda: all(p.received(ann, "video") >= n + FRAMES for p, n in resumed),
                         timeout_s=15, what="ann's video after unmuting")

        # Ann leaves: everyone is told that she and her tracks are gone.
        await ann.send({"type": "leave"})
        assert await ann.closed() == 1000
        gone.append(ann)
        for peer in rest:
            left = await peer.wait_for("participant_left", lambda e: e["participant"]["session_id"] == ann.session_id)
            assert left["reason"] == "left"
            unpublished = {(e["track_type"], e["cause"]) for e in peer.of_type("track_unpublished")
                           if e["session_id"] == ann.session_id}
            assert unpublished == {("audio", "left"), ("video", "left")}

        # She joins again: a new session, whose media flows both ways.
        again = await joined(server, users[0], cid)
        assert again.session_id != ann.session_id
        peers = [again, *rest]
        for peer in peers:
            await peer.subscribe(*others(peer, peers))
        await again.publish()
        for peer in rest:
            joined_event = await peer.wait_for("participant_joined", lambda e: (
                e["participant"]["session_id"] == again.session_id))
            assert joined_event["participant"]["user_id"] == users[0]
        await eventually(lambda: everyone_decodes_everyone(peers), timeout_s=30, what="media with the new session")
    finally:
        for peer in peers + gone:
            await peer.close()


# --- simulcast -----------------------------------------------------------------------------------------------
class HdSimulcastPublisher(SimulcastPublisher):
    LAYERS = (("q", 320, 180), ("h", 640, 360), ("f", 1280, 720))


def through(peer: SignalingPeer) -> Callable[[str, list[TrackInfo]], Awaitable[str]]:
    """A simulcast publisher's offer, sent over ``peer``'s signaling socket with its layers announced."""

    async def offer(sdp: str, tracks: list[TrackInfo]) -> str:
        announced = [{"track_type": t.track_type, "mid": t.mid, "layers": [
            {"rid": x.rid, "width": x.width, "height": x.height, "bitrate": x.bitrate} for x in t.layers]}
            for t in tracks]
        return (await peer.set_publisher(sdp, announced))["sdp"]

    return offer


async def test_simulcast_subscribers_decode_the_layer_their_size_calls_for(server: RunningServer, uid: Uid) -> None:
    cid = f"default:{uid('c')}"
    signaling = await joined(server, uid("pub"), cid, create=True)
    small, large = await joined(server, uid("small"), cid), await joined(server, uid("large"), cid)
    publisher = HdSimulcastPublisher(None, signaling.session_id)
    try:
        await small.subscribe(signaling, track_types=("video",), dimension=(320, 180))
        await large.subscribe(signaling, track_types=("video",), dimension=(1280, 720))
        await publisher.publish_through(through(signaling))
        track_id = f"{signaling.session_id}|video"
        await eventually(lambda: small.frames[track_id] >= FRAMES and large.frames[track_id] >= FRAMES,
                         timeout_s=30, what="both layers decoded")
        assert small.sizes[track_id] == (320, 180)
        assert large.sizes[track_id] == (1280, 720)
        published = await small.wait_for("track_published", lambda e: e["session_id"] == signaling.session_id)
        assert published["track_type"] == "video"
    finally:
        await publisher.close()
        for peer in (signaling, small, large):
            await peer.close()


# --- a lossy path --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lossy", ["subscriber", "publisher"])
async def test_video_keeps_decoding_with_five_percent_loss(server: RunningServer, uid: Uid, lossy: str) -> None:
    """Loss between the SFU and a subscriber is repaired from the SFU's buffer; loss between the publisher and
    the SFU by the SFU's own NACKs to the publisher. aiortc negotiates RTX both ways, so repairs are RTX packets."""
    cid = f"default:{uid('c')}"
    pub = await joined(server, uid("pub"), cid, create=True)
    sub = await joined(server, uid("sub"), cid)
    try:
        await pub.publish(audio=False)
        await sub.subscribe(pub, track_types=("video",))
        await eventually(lambda: sub.received(pub, "video") >= FRAMES, timeout_s=20, what="video before the loss")
        pc = sub.subscriber_pc if lossy == "subscriber" else pub.publisher_pc
        path = LossyPath(pc, 0.05, seed=4)
        start = sub.received(pub, "video")
        await eventually(lambda: sub.received(pub, "video") >= start + 150 and path.dropped_rtp >= 5, timeout_s=30,
                         what="5 s of video through the loss")
        if lossy == "subscriber":
            # The SFU resent what was lost from its buffer, as RTX packets: most lost packets arrived after all.
            assert path.rtx_received >= path.lost_rtp // 2 > 0, (path.lost_rtp, path.rtx_received)
        else:
            # The SFU NACKed what the publisher's packets lacked, and the publisher sent most of it again as RTX.
            assert path.rtx_sent >= path.dropped_rtp // 2 > 0, (path.dropped_rtp, path.rtx_sent)
    finally:
        await pub.close()
        await sub.close()
