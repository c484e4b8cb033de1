"""Two real aiortc clients join one call through the coordinator and the SFU's signaling WebSocket, publish
audio and video, and decode each other's media; mutes, the coordinator's mutes and leaving reach the other."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.conftest import RunningServer
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import SignalingPeer, coordinator_join, running_sfu

Uid = Callable[[str], str]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu(request.param, tmp_path_factory.mktemp(f"sfu-media-{request.param}")) as running:
        yield running


async def test_two_clients_see_and_hear_each_other(server: RunningServer, api: httpx.Client, uid: Uid) -> None:
    cid, ada, bob = f"default:{uid('c')}", uid("ada"), uid("bob")
    a = await SignalingPeer.join(await coordinator_join(server, ada, cid, create=True))
    b = await SignalingPeer.join(await coordinator_join(server, bob, cid))
    try:
        await a.publish()
        await b.publish()
        for peer, other in ((a, b), (b, a)):
            for track_type in ("audio", "video"):
                await peer.wait_for("track_published", lambda e, t=track_type, o=other: (
                    e["session_id"] == o.session_id and e["track_type"] == t))
        await a.subscribe(b)
        await b.subscribe(a)
        await eventually(lambda: all(p.received(o, t) > 0 for p, o in ((a, b), (b, a)) for t in ("audio", "video")),
                         timeout_s=30, what="decoded audio and video both ways")
        assert a.of_type("subscriber_offer")[0]["negotiation_id"] >= 1

        # Audio levels and the dominant speaker come from the audio-level header extension.
        levels = await b.wait_for("audio_level_changed", lambda e: any(
            x["session_id"] == a.session_id and x["is_speaking"] for x in e["audio_levels"]))
        assert next(x for x in levels["audio_levels"] if x["session_id"] == a.session_id)["level"] > 0
        speaker = await b.wait_for("dominant_speaker_changed")
        assert speaker["session_id"] in (a.session_id, b.session_id)

        # Mute and unmute: the other sees the published tracks change.
        await a.send({"type": "update_mute_states", "mute_states": [{"track_type": "audio", "muted": True}]})
        muted = await b.wait_for("participant_updated", lambda e: e["participant"]["published_tracks"] == ["video"])
        assert muted["participant"]["session_id"] == a.session_id
        await a.send({"type": "update_mute_states", "mute_states": [{"track_type": "audio", "muted": False}]})
        await b.wait_for("participant_updated", lambda e: e["participant"]["published_tracks"] == ["audio", "video"])

        # A moderator's mute (the coordinator's mute_users) is enforced by the SFU.
        before = len(b.of_type("participant_updated"))
        response = api.post(f"/video/call/{cid.replace(':', '/')}/mute_users",
                            json={"user_ids": [ada], "audio": True, "muted_by_id": bob})
        assert response.status_code == 200, response.text
        await b.wait_for("participant_updated", lambda e: (
            len(b.of_type("participant_updated")) > before and e["participant"]["published_tracks"] == ["video"]))

        # Leaving: the other is told (tracks first, then the participant) and the coordinator agrees.
        await a.send({"type": "leave"})
        left = await b.wait_for("participant_left")
        assert left["participant"]["user_id"] == ada and left["reason"] == "left"
        gone = {e["track_type"] for e in b.of_type("track_unpublished") if e["session_id"] == a.session_id}
        assert gone == {"audio", "video"}
        session = api.get(f"/video/call/{cid.replace(':', '/')}").json()["call"]["session"]
        assert [p["user"]["id"] for p in session["participants"]] == [bob]
    finally:
        await a.close()
        await b.close()
