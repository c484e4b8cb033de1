"""The SFU signaling server through ``weir serve``'s app: join credentials, edges, tokens, bad input, the
coordinator's changes reaching the SFU, and clients that vanish. Media flows in test_signaling_media.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from aiortc import RTCPeerConnection

from tests.conftest import RunningServer, assert_error
from tests.sfu.rtc_peers import Tone, eventually, loopback_only
from tests.sfu.signaling_peers import FAST_RECONNECT_DEADLINE, SignalingPeer, coordinator_join, running_sfu
from weir.domain.sfu_tokens import create_sfu_token, verify_sfu_token
from weir.sfu.signaling.handlers import MAX_TRICKLED_CANDIDATES

Uid = Callable[[str], str]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu(request.param, tmp_path_factory.mktemp(f"sfu-{request.param}")) as running:
        yield running


def participants(api: httpx.Client, cid: str) -> list[str]:
    """The coordinator's view: user session ids of the running session's participants."""
    call_type, call_id = cid.split(":")
    session = api.get(f"/video/call/{call_type}/{call_id}").json()["call"]["session"]
    return [p["user_session_id"] for p in (session or {}).get("participants", [])]


# --- the coordinator's side ---------------------------------------------------------------------------------
async def test_join_returns_sfu_credentials_for_this_session(server: RunningServer, uid: Uid) -> None:
    cid = f"default:{uid('c')}"
    joined = await coordinator_join(server, uid("ada"), cid, create=True)
    credentials = joined["credentials"]
    assert credentials["server"] == {"url": server.base_url.replace("http", "ws") + "/sfu/ws", "edge_name": "local"}
    assert credentials["ice_servers"] == []
    assert joined["stats_options"] == {"reporting_interval_ms": 10_000}
    grant = verify_sfu_token(server.api_secret, credentials["token"])
    assert (grant.call_cid, grant.session_id) == (cid, joined["user_session_id"])
    assert grant.capabilities == set(joined["own_capabilities"]) and "send-audio" in grant.capabilities


def test_edges_list_the_embedded_sfu_and_its_latency_url(api: httpx.Client, server: RunningServer) -> None:
    edges = api.get("/edges").json()["edges"]
    assert edges == [{"name": "local", "latency_test_url": server.base_url + "/sfu/latency"}]
    assert httpx.get(edges[0]["latency_test_url"]).status_code == 200


async def test_an_sfu_token_is_no_api_token(server: RunningServer, uid: Uid) -> None:
    joined = await coordinator_join(server, uid("ada"), f"default:{uid('c')}", create=True)
    response = httpx.get(server.base_url + "/api/v1/edges", params={"api_key": server.api_key},
                         headers={"Authorization": joined["credentials"]["token"]})
    assert_error(response, 401)


# --- tokens and sessions ------------------------------------------------------------------------------------
def forged(server: RunningServer, joined: dict[str, Any], **change: Any) -> str:
    grant = verify_sfu_token(server.api_secret, joined["credentials"]["token"])
    claims = {"call_cid": grant.call_cid, "user_id": grant.user_id, "session_id": grant.session_id,
              "role": grant.role, "capabilities": sorted(grant.capabilities), **change}
    secret = claims.pop("secret", server.api_secret)
    return create_sfu_token(secret, **claims)


@pytest.mark.parametrize("case, code", [
    ("forged", "invalid_token"), ("expired", "token_expired"), ("other_session", "invalid_token"),
    ("other_call", "session_not_found"), ("garbage", "invalid_token"),
])
async def test_bad_tokens_get_an_error_and_a_close(server: RunningServer, uid: Uid, case: str, code: str) -> None:
    cid, other = f"default:{uid('c')}", f"default:{uid('c')}"
    joined = await coordinator_join(server, uid("ada"), cid, create=True)
    await coordinator_join(server, uid("bob"), other, create=True)
    token = {
        "forged": lambda: forged(server, joined, secret="x" * 40),
        "expired": lambda: forged(server, joined, ttl_seconds=30, now=0),
        "other_session": lambda: forged(server, joined, session_id="someone-else"),
        "other_call": lambda: forged(server, joined, call_cid=other),
        "garbage": lambda: "not.a.token",
    }[case]()
    peer = await SignalingPeer.open(joined["credentials"]["server"]["url"], joined["user_session_id"])
    await peer.send({"type": "join", "token": token, "session_id": joined["user_session_id"], "request_id": "j1"})
    error = await peer.wait_for("error")
    assert error["error"]["code"] == code and error["request_id"] == "j1", error
    assert await peer.closed() == 1008
    await peer.close()


async def test_bad_messages_get_errors_and_the_socket_stays(server: RunningServer, uid: Uid) -> None:
    joined = await coordinator_join(server, uid("ada"), f"default:{uid('c')}", create=True)
    peer = await SignalingPeer.open(joined["credentials"]["server"]["url"], joined["user_session_id"])
    await peer.send({"type": "health_check"})
    assert (await peer.wait_for("error"))["error"]["code"] == "not_joined"
    await peer.ws.send("{not json")
    await peer.ws.send(b"\x00binary")
    await peer.send({"type": "dance"})
    await peer.send({"type": "join", "token": joined["credentials"]["token"],
                     "session_id": joined["user_session_id"]})
    await peer.wait_for("join_response")
    await peer.send({"type": "update_subscriptions", "tracks": "all"})
    await peer.send({"type": "join", "token": "t", "session_id": joined["user_session_id"]})
    await peer.send({"type": "health_check"})
    count = await peer.wait_for("health_check_response")
    assert count["participant_count"] == {"total": 1, "anonymous": 0}
    codes = [e["error"]["code"] for e in peer.of_type("error")]
    assert codes == ["not_joined", "invalid_message", "invalid_message", "unknown_message_type",
                     "invalid_message", "already_joined"]
    await peer.close()


async def test_trickled_candidates_are_capped_per_peer_connection(server: RunningServer, uid: Uid) -> None:
    joined = await coordinator_join(server, uid("ada"), f"default:{uid('c')}", create=True)
    peer = await SignalingPeer.open(joined["credentials"]["server"]["url"], joined["user_session_id"])
    await peer.send({"type": "join", "token": joined["credentials"]["token"],
                     "session_id": joined["user_session_id"]})
    await peer.wait_for("join_response")
    for port in range(10_000, 10_000 + MAX_TRICKLED_CANDIDATES + 3):
        await peer.send({"type": "ice_trickle", "target": "publisher", "candidate": {
            "candidate": f"candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host", "sdp_mid": "0",
            "sdp_mline_index": 0}})
    await peer.send({"type": "health_check"})
    await peer.wait_for("health_check_response")
    errors = [e["error"] for e in peer.of_type("error")]
    assert [e["code"] for e in errors] == ["invalid_message"] * 3, errors
    assert "candidates per peer connection" in errors[0]["message"]
    await peer.close()


async def test_a_session_the_coordinator_ended_cannot_join(server: RunningServer, api: httpx.Client,
                                                           uid: Uid) -> None:
    cid = f"default:{uid('c')}"
    joined = await coordinator_join(server, uid("ada"), cid, create=True)
    api.post(f"/video/call/{cid.replace(':', '/')}/leave", json={"user_session_id": joined["user_session_id"]})
    peer = await SignalingPeer.open(joined["credentials"]["server"]["url"], joined["user_session_id"])
    await peer.send({"type": "join", "token": joined["credentials"]["token"], "session_id": joined["user_session_id"]})
    error = await peer.wait_for("error")
    assert error["error"]["code"] == "session_not_found" and error["reconnect_strategy"] == "rejoin"
    assert await peer.closed() == 1008
    await peer.close()


# --- the call, as the SFU sees it ---------------------------------------------------------------------------
async def test_join_response_and_participant_joined(server: RunningServer, uid: Uid) -> None:
    cid, ada, bob = f"default:{uid('c')}", uid("ada"), uid("bob")
    a = await SignalingPeer.join(await coordinator_join(server, ada, cid, create=True))
    response = a.of_type("join_response")[0]
    assert [p["user_id"] for p in response["call_state"]["participants"]] == [ada]
    assert response["call_state"]["participant_count"] == {"total": 1, "anonymous": 0}
    assert response["reconnected"] is False and response["fast_reconnect_deadline_seconds"] == FAST_RECONNECT_DEADLINE
    video = next(o for o in response["publish_options"] if o["track_type"] == "video")
    assert [layer["rid"] for layer in video["layers"]] == ["q", "h", "f"]
    b = await SignalingPeer.join(await coordinator_join(server, bob, cid))
    joined = await a.wait_for("participant_joined")
    assert joined["participant"]["user_id"] == bob and joined["participant"]["roles"] == ["user"]
    assert len(b.of_type("join_response")[0]["call_state"]["participants"]) == 2
    await a.close()
    await b.close()


async def test_a_vanished_client_is_removed_after_the_deadline(server: RunningServer, api: httpx.Client,
                                                               uid: Uid) -> None:
    cid = f"default:{uid('c')}"
    a_joined = await coordinator_join(server, uid("ada"), cid, create=True)
    a = await SignalingPeer.join(a_joined)
    b = await SignalingPeer.join(await coordinator_join(server, uid("bob"), cid))
    await b.ws.close()  # no leave: the socket is simply gone
    left = await a.wait_for("participant_left", timeout=FAST_RECONNECT_DEADLINE + 10)
    assert left["participant"]["session_id"] == b.session_id and left["reason"] == "disconnected"
    assert participants(api, cid) == [a_joined["user_session_id"]]
    await a.close()
    await b.close()


async def test_a_fast_reconnect_resumes_the_session(server: RunningServer, uid: Uid) -> None:
    cid = f"default:{uid('c')}"
    a = await SignalingPeer.join(await coordinator_join(server, uid("ada"), cid, create=True))
    b_joined = await coordinator_join(server, uid("bob"), cid)
    b = await SignalingPeer.join(b_joined)
    await b.ws.close()
    again = await SignalingPeer.join(b_joined, reconnect_details={"strategy": "fast", "attempt": 1})
    assert again.of_type("join_response")[0]["reconnected"] is True
    await asyncio.sleep(FAST_RECONNECT_DEADLINE + 0.5)  # past the deadline: nobody was removed
    await a.send({"type": "health_check"})
    assert (await a.wait_for("health_check_response"))["participant_count"]["total"] == 2
    assert not a.of_type("participant_left")
    for peer in (a, b, again):
        await peer.close()


async def test_a_second_socket_replaces_the_first(server: RunningServer, uid: Uid) -> None:
    joined = await coordinator_join(server, uid("ada"), f"default:{uid('c')}", create=True)
    first = await SignalingPeer.join(joined)
    second = await SignalingPeer.join(joined)
    error = await first.wait_for("error")
    assert error["error"]["code"] == "session_replaced" and error["reconnect_strategy"] == "disconnect"
    assert await first.closed() == 1008
    assert second.of_type("join_response")[0]["reconnected"] is True
    await first.close()
    await second.close()


async def test_leave_ends_participation_everywhere(server: RunningServer, api: httpx.Client, uid: Uid) -> None:
    cid = f"default:{uid('c')}"
    a_joined = await coordinator_join(server, uid("ada"), cid, create=True)
    a = await SignalingPeer.join(a_joined)
    b = await SignalingPeer.join(await coordinator_join(server, uid("bob"), cid))
    await b.send({"type": "leave", "reason": "done"})
    assert await b.closed() == 1000
    left = await a.wait_for("participant_left")
    assert left["reason"] == "left" and left["participant"]["session_id"] == b.session_id
    assert participants(api, cid) == [a_joined["user_session_id"]]
    await a.close()
    await b.close()


async def test_a_rejoin_replaces_the_previous_session(server: RunningServer, api: httpx.Client, uid: Uid) -> None:
    cid, bob = f"default:{uid('c')}", uid("bob")
    a = await SignalingPeer.join(await coordinator_join(server, uid("ada"), cid, create=True))
    first = await SignalingPeer.join(await coordinator_join(server, bob, cid))
    second_joined = await coordinator_join(server, bob, cid)
    second = await SignalingPeer.join(second_joined, reconnect_details={
        "strategy": "rejoin", "previous_session_id": first.session_id})
    left = await a.wait_for("participant_left")
    assert left["participant"]["session_id"] == first.session_id and left["reason"] == "rejoined"
    assert (await first.wait_for("error"))["error"]["code"] == "session_replaced"
    assert await first.closed() == 1008
    assert first.session_id not in participants(api, cid)
    assert second.session_id in participants(api, cid)
    for peer in (a, first, second):
        await peer.close()



async def test_the_inactivity_sweep_spares_participants_connected_to_the_sfu(
    server: RunningServer, api: httpx.Client, uid: Uid
) -> None:
    """Neither has a coordinator WebSocket; only the one the SFU holds stays (the SFU marks it present)."""
    cid, ada, ghost = f"default:{uid('c')}", uid("ada"), uid("ghost")
    api.post(f"/video/call/{cid.replace(':', '/')}", json={"data": {
        "created_by_id": ada, "settings_override": {"session": {"inactivity_timeout_seconds": 5}}}})
    a_joined = await coordinator_join(server, ada, cid)
    a = await SignalingPeer.join(a_joined)
    ghost_joined = await coordinator_join(server, ghost, cid)  # never connects to the SFU
    await eventually(lambda: ghost_joined["user_session_id"] not in participants(api, cid), timeout_s=20,
                     what="the ghost's timeout")
    assert participants(api, cid) == [a_joined["user_session_id"]]
    await a.close()

# --- the coordinator's changes reach the SFU ----------------------------------------------------------------
async def test_grants_updated_and_publishing_without_the_capability(
    server: RunningServer, api: httpx.Client, uid: Uid
) -> None:
    cid, listener = f"audio_room:{uid('c')}", uid("lis")
    api.post(f"/video/call/{cid.replace(':', '/')}", json={"data": {"created_by_id": uid("host")}})
    api.post(f"/video/call/{cid.replace(':', '/')}/go_live")  # audio rooms start in backstage
    peer = await SignalingPeer.join(await coordinator_join(server, listener, cid))
    assert "send-audio" not in peer.of_type("join_response")[0]["own_capabilities"]
    publish = {"type": "set_publisher", "sdp": "v=0", "tracks": [{"track_type": "audio", "mid": "0"}]}
    await peer.send({**publish, "request_id": "p1"})
    refused = await peer.wait_for("error")
    assert refused["error"]["code"] == "permission_denied" and refused["request_id"] == "p1"
    await peer.send({"type": "update_mute_states", "mute_states": [{"track_type": "audio", "muted": False}],
                     "request_id": "m1"})
    assert (await peer.wait_for("error", lambda e: e["request_id"] == "m1"))["error"]["code"] == "permission_denied"

    granted = api.post(f"/video/call/{cid.replace(':', '/')}/user_permissions",
                       json={"user_id": listener, "grant_permissions": ["send-audio"]})
    assert granted.status_code == 200, granted.text
    update = await peer.wait_for("call_grants_updated")
    assert "send-audio" in update["own_capabilities"]
    await peer.send({**publish, "request_id": "p2"})  # now allowed: the (bad) offer itself is what fails
    assert (await peer.wait_for("error", lambda e: e["request_id"] == "p2"))["error"]["code"] == "negotiation_failed"

    api.post(f"/video/call/{cid.replace(':', '/')}/user_permissions",
             json={"user_id": listener, "revoke_permissions": ["send-audio"]})
    await peer.wait_for("call_grants_updated", lambda e: "send-audio" not in e["own_capabilities"])
    await peer.close()


async def test_pins_kicks_and_the_call_ending_reach_the_sfu(server: RunningServer, api: httpx.Client,
                                                            uid: Uid) -> None:
    cid, ada, bob = f"default:{uid('c')}", uid("ada"), uid("bob")
    path = f"/video/call/{cid.replace(':', '/')}"
    a = await SignalingPeer.join(await coordinator_join(server, ada, cid, create=True))
    b = await SignalingPeer.join(await coordinator_join(server, bob, cid))
    assert api.post(f"{path}/pin", json={"user_id": bob, "session_id": b.session_id}).status_code == 200
    pins = await a.wait_for("pins_updated")
    assert [p["session_id"] for p in pins["pins"]] == [b.session_id]

    assert api.post(f"{path}/kick", json={"user_id": bob}).status_code == 200
    removed = await b.wait_for("error")
    assert removed["error"]["code"] == "removed_from_call" and removed["reconnect_strategy"] == "disconnect"
    assert (await a.wait_for("participant_left"))["reason"] == "kicked"
    assert b.session_id not in participants(api, cid)

    assert api.post(f"{path}/mark_ended").status_code == 200
    assert (await a.wait_for("call_ended"))["type"] == "call_ended"
    assert await a.closed() == 1000
    await a.close()
    await b.close()




async def test_a_client_whose_ice_fails_is_removed(server: RunningServer, api: httpx.Client, uid: Uid) -> None:
    """The publisher offers and goes silent: ICE fails (the media plane's 20 s connect timeout), nothing restarts
    it within the deadline, and the session is removed as vanished although its socket is still open."""
    cid = f"default:{uid('c')}"
    a_joined = await coordinator_join(server, uid("ada"), cid, create=True)
    a = await SignalingPeer.join(a_joined)
    b = await SignalingPeer.join(await coordinator_join(server, uid("bob"), cid))
    silent = RTCPeerConnection()
    silent.addTrack(Tone())
    loopback_only(silent)
    await silent.setLocalDescription(await silent.createOffer())
    await b.send({"type": "set_publisher", "sdp": silent.localDescription.sdp,
                  "tracks": [{"track_type": "audio", "mid": "0"}]})
    await b.wait_for("publisher_answer")
    await silent.close()
    error = await b.wait_for("error", timeout=60)
    assert error["error"]["code"] == "media_connection_failed" and error["reconnect_strategy"] == "rejoin"
    left = await a.wait_for("participant_left", timeout=10)
    assert left["participant"]["session_id"] == b.session_id and left["reason"] == "disconnected"
    assert (await a.wait_for("track_unpublished"))["session_id"] == b.session_id
    assert participants(api, cid) == [a_joined["user_session_id"]]
    assert await b.closed() == 1008
    await a.close()
    await b.close()
