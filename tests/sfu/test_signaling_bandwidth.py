"""Bandwidth and quality events through ``weir serve``: real aiortc clients on the SFU's signaling socket get
``change_publish_quality``, ``inbound_state_notification`` and ``connection_quality_changed``, and the
participant model carries the connection quality."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.sfu.lossy import LossyPath
from tests.sfu.rtc_peers import SimulcastPublisher, eventually
from tests.sfu.signaling_peers import SignalingPeer, coordinator_join, running_sfu
from tests.sfu.test_integration_media import through

Uid = Callable[[str], str]
Event = dict[str, Any]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu("sqlite", tmp_path_factory.mktemp("sfu-bandwidth")) as running:
        yield running


async def joined(server: RunningServer, user_id: str, cid: str, **body: Any) -> SignalingPeer:
    return await SignalingPeer.join(await coordinator_join(server, user_id, cid, **body),
                                    capabilities=["subscriber_video_pause"])


def layers(event: Event) -> dict[str, bool]:
    (sender,) = event["video_senders"]
    assert sender["track_type"] == "video"
    return {layer["rid"]: layer["active"] for layer in sender["layers"]}


def quality_of(session_id: str, quality: str) -> Callable[[Event], bool]:
    return lambda event: any(u["session_id"] == session_id and u["connection_quality"] == quality
                             for u in event["updates"])


async def test_publish_quality_inbound_state_and_connection_quality(server: RunningServer, uid: Uid) -> None:
    cid, publishing_user = f"default:{uid('c')}", uid("pub")
    pub = await joined(server, publishing_user, cid, create=True)
    sub = await joined(server, uid("sub"), cid)
    publisher = SimulcastPublisher(None, pub.session_id)
    late: SignalingPeer | None = None
    try:
        await sub.subscribe(pub, track_types=("video",), dimension=(64, 48))
        await publisher.publish_through(through(pub))

        # Only the low layer is received: the publisher is told to pause the others.
        paused = await pub.wait_for("change_publish_quality", lambda e: layers(e) == {"q": True, "h": False,
                                                                                    "f": False}, timeout=20)
        assert paused["video_senders"][0]["track_type"] == "video"
        await pub.wait_for("connection_quality_changed", quality_of(sub.session_id, "excellent"), timeout=20)

        # The subscriber's path loses heavily: its video is paused, it is told, and its quality is poor for all.
        path = LossyPath(sub.subscriber_pc, 0.4, seed=11)
        # (a layer holds at least 8 s, and loss reports come every few seconds: slow on loaded shared cores)
        state = await sub.wait_for("inbound_state_notification", lambda e: e["inbound_video_states"][0]["paused"],
                                   timeout=60)
        assert state["inbound_video_states"] == [{"session_id": pub.session_id, "user_id": publishing_user,
                                                  "track_type": "video", "paused": True}]
        await pub.wait_for("connection_quality_changed", quality_of(sub.session_id, "poor"), timeout=20)
        late = await joined(server, uid("late"), cid)
        roster = {p["session_id"]: p for p in late.of_type("join_response")[0]["call_state"]["participants"]}
        assert roster[sub.session_id]["connection_quality"] == "poor"

        # Once the path is clean again the video resumes.
        path.rate = 0.0
        await sub.wait_for("inbound_state_notification", lambda e: not e["inbound_video_states"][0]["paused"],
                           timeout=40)
    finally:
        await publisher.close()
        for peer in (pub, sub, late):
            if peer is not None:
                await peer.close()


async def test_a_client_without_the_capability_is_not_told_of_paused_video(server: RunningServer, uid: Uid) -> None:
    cid = f"default:{uid('c')}"
    pub = await joined(server, uid("pub"), cid, create=True)
    sub = await SignalingPeer.join(await coordinator_join(server, uid("sub"), cid))
    try:
        await pub.publish(audio=False)
        await sub.subscribe(pub, track_types=("video",))
        await eventually(lambda: sub.received(pub, "video") > 0, timeout_s=20, what="video before the loss")
        LossyPath(sub.subscriber_pc, 0.4, seed=12)
        await pub.wait_for("connection_quality_changed", quality_of(sub.session_id, "poor"), timeout=40)
        await asyncio.sleep(5)  # the video pauses within a second or two of the loss (the test above)
        assert sub.of_type("inbound_state_notification") == []
    finally:
        await pub.close()
        await sub.close()
