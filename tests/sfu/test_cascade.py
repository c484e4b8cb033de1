"""Cascading: one call spread over two SFU workers of ``weir serve`` (``WEIR_SFU_CASCADE_CALL_SIZE=1``), its
participants on different workers seeing and hearing each other through the SFU-to-SFU relay. The checks are
shared with tests/sfu/test_cascade_nodes.py, where the workers are ``weir sfu`` nodes on two hosts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.sfu.rtc_peers import LOOPBACK, SimulcastPublisher, eventually
from tests.sfu.signaling_peers import SignalingPeer, coordinator_join, running_sfu
from tests.sfu.test_integration_media import through
from tests.sfu.test_signaling_bandwidth import layers
from weir.sfu.rtc import IceConfig

Uid = Callable[[str], str]
FRAMES = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu("sqlite", tmp_path_factory.mktemp("cascade"), sfu_workers=2, sfu_cascade_call_size=1) as running:
        yield running


def sfu_url(joined: dict[str, Any]) -> str:
    return str(joined["credentials"]["server"]["url"])


def published(session_id: str, tracks: list[str]) -> Callable[[dict[str, Any]], bool]:
    def check(event: dict[str, Any]) -> bool:
        participant = event["participant"]
        return bool(participant["session_id"] == session_id and participant["published_tracks"] == tracks)

    return check


async def test_participants_on_two_workers_see_and_hear_each_other(server: RunningServer, uid: Uid) -> None:
    await see_and_hear_each_other(server, uid)


async def test_a_remote_subscriber_gets_the_simulcast_layer_its_size_calls_for(server: RunningServer,
                                                                                uid: Uid) -> None:
    await remote_subscriber_gets_its_layer(server, uid)


async def see_and_hear_each_other(server: RunningServer, uid: Uid, ice: IceConfig = LOOPBACK) -> None:
    """Two participants on two SFUs (``ice``: the clients' ICE) see and hear each other; audio levels, mute states
    and leaving cross too."""
    cid = f"default:{uid('c')}"
    bob = uid("bob")
    a_joined = await coordinator_join(server, uid("ada"), cid, create=True)
    b_joined = await coordinator_join(server, bob, cid)
    assert sfu_url(a_joined) != sfu_url(b_joined)  # the call is spread
    a = await SignalingPeer.join(a_joined, ice=ice)
    b = await SignalingPeer.join(b_joined, ice=ice)
    try:
        await a.wait_for("participant_joined", lambda e: e["participant"]["session_id"] == b.session_id)
        await a.publish()
        await b.publish()
        await b.wait_for("track_published", lambda e: e["session_id"] == a.session_id and e["track_type"] == "video")
        await a.wait_for("track_published", lambda e: e["session_id"] == b.session_id and e["track_type"] == "video")
        await a.subscribe(b)
        await b.subscribe(a)
        await eventually(lambda: all(x.received(y, t) > 0 for x, y in ((a, b), (b, a)) for t in ("audio", "video")),
                         timeout_s=40, what="audio and video both ways across the workers")

        # audio levels are read on the far worker from the relayed audio
        await a.wait_for("audio_level_changed", lambda e: any(
            x["session_id"] == b.session_id and x["is_speaking"] for x in e["audio_levels"]))

        # mute states and leaving cross too
        await b.send({"type": "update_mute_states", "mute_states": [{"track_type": "audio", "muted": True}]})
        await a.wait_for("participant_updated", published(b.session_id, ["video"]))
        await b.close()
        left = await a.wait_for("participant_left", lambda e: e["participant"]["session_id"] == b.session_id)
        assert left["participant"]["user_id"] == bob
        await a.wait_for("track_unpublished", lambda e: e["session_id"] == b.session_id)
    finally:
        await a.close()
        await b.close()


async def remote_subscriber_gets_its_layer(server: RunningServer, uid: Uid, ice: IceConfig = LOOPBACK) -> None:
    """The publisher on one worker, a subscriber on the other and one on either: each decodes the layer its size
    calls for, a switch on the far worker waits for a keyframe the publisher is asked for across the relay, and
    the layers the far worker asks for count among those the publisher is told to keep sending."""
    cid = f"default:{uid('c')}"
    joins = [await coordinator_join(server, uid(name), cid, create=name == "pub") for name in ("pub", "far", "near")]
    assert sfu_url(joins[0]) != sfu_url(joins[1])  # "near" is on either (sessions still leaving count)
    pub, far, near = [await SignalingPeer.join(joined, ice=ice) for joined in joins]
    publisher = SimulcastPublisher(None, pub.session_id, ice)
    track_id = f"{pub.session_id}|video"
    try:
        await far.subscribe(pub, track_types=("video",), dimension=(64, 48))
        await near.subscribe(pub, track_types=("video",), dimension=(256, 192))
        await publisher.publish_through(through(pub))
        await eventually(lambda: far.frames[track_id] >= FRAMES and near.frames[track_id] >= FRAMES,
                         timeout_s=40, what="video on both workers")
        assert (far.sizes[track_id], near.sizes[track_id]) == ((64, 48), (256, 192))

        plis = publisher.plis["h"]
        await far.subscribe(pub, track_types=("video",), dimension=(100, 80))
        await eventually(lambda: far.sizes[track_id] == (128, 96), timeout_s=30, what="the far switch")
        assert publisher.plis["h"] > plis  # the keyframe was asked for across the relay
        assert near.sizes[track_id] == (256, 192)
        # the publisher keeps sending what the far worker asks for, and pauses only what nobody wants
        await pub.wait_for("change_publish_quality", lambda e: layers(e) == {"q": False, "h": True, "f": True},
                           timeout=30)
    finally:
        await publisher.close()
        for peer in (pub, far, near):
            await peer.close()
