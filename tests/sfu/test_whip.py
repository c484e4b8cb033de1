"""WHIP and WHEP through ``weir serve``'s app with real aiortc peers on 127.0.0.1: an aiortc WHIP publisher is
decoded by a signaling subscriber, a WHEP player decodes a signaling publisher, and bad requests get clear
errors that leave nobody in the call."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from tests.conftest import RunningServer, assert_error
from tests.sfu.rtc_peers import Pattern, Tone, eventually, loopback_only
from tests.sfu.signaling_peers import SignalingPeer, coordinator_join, running_sfu

Uid = Callable[[str], str]
SDP = {"Content-Type": "application/sdp"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu(request.param, tmp_path_factory.mktemp(f"whip-{request.param}")) as running:
        yield running


def http(server: RunningServer, user_id: str | None = None, **claims: Any) -> httpx.AsyncClient:
    """A client of the SFU's HTTP endpoints as ``user_id`` (a server token when None)."""
    return httpx.AsyncClient(base_url=server.base_url, params={"api_key": server.api_key}, timeout=30,
                             headers={"Authorization": f"Bearer {server.token(user_id, **claims)}"})


async def watch(server: RunningServer, user_id: str, cid: str, session_id: str) -> SignalingPeer:
    """A signaling participant (creating the call if need be) subscribed to ``session_id``'s audio and video."""
    peer = await SignalingPeer.join(await coordinator_join(server, user_id, cid, create=True))
    await peer.send({"type": "update_subscriptions", "tracks": [
        {"session_id": session_id, "track_type": t, "dimension": {"width": 160, "height": 120}}
        for t in ("audio", "video")]})
    return peer


class Player:
    """An aiortc WHEP client: a receive-only offer, frames counted per kind."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.frames: Counter[str] = Counter()
        self._tasks: list[asyncio.Task[None]] = []
        self.pc.on("track", lambda track: self._tasks.append(asyncio.create_task(self._consume(track))))
        for kind in ("audio", "video"):
            self.pc.addTransceiver(kind, direction="recvonly")
        loopback_only(self.pc)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                self.frames[track.kind] += 1
        except MediaStreamError:
            pass

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pc.close()


async def whip_offer() -> RTCPeerConnection:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    pc.addTrack(Tone())
    pc.addTrack(Pattern())
    loopback_only(pc)
    await pc.setLocalDescription(await pc.createOffer())
    return pc


def call_path(cid: str) -> str:
    return cid.replace(":", "/")


async def create_call(server: RunningServer, user_id: str, cid: str) -> None:
    async with http(server, user_id) as client:
        response = await client.post(f"/api/v1/video/call/{call_path(cid)}", json={})
    assert response.status_code == 200, response.text


async def participants(server: RunningServer, cid: str) -> list[str]:
    async with http(server) as client:
        response = await client.get(f"/api/v1/video/call/{call_path(cid)}")
    assert response.status_code == 200, response.text
    session = response.json()["call"]["session"]
    return [] if session is None else [p["user"]["id"] for p in session["participants"]]


async def test_whip_publisher_is_decoded_and_leaves_with_delete(server: RunningServer, uid: Uid) -> None:
    cid, obs, viewer = f"default:{uid('c')}", uid("obs"), uid("viewer")
    await create_call(server, viewer, cid)
    async with http(server) as client:  # the call names its WHIP resource (CallResponse.ingress.whip.address)
        address = (await client.get(f"/api/v1/video/call/{call_path(cid)}")).json()["call"]["ingress"]["whip"]
    assert address["address"] == f"{server.base_url}/sfu/whip/{call_path(cid)}?api_key={server.api_key}"
    pc = await whip_offer()
    async with http(server, obs) as client:
        response = await client.post(f"/sfu/whip/{call_path(cid)}", content=pc.localDescription.sdp, headers=SDP)
        assert response.status_code == 201, response.text
        assert response.headers["content-type"] == "application/sdp"
        location = response.headers["location"]
        session_id = location.split("?")[0].rsplit("/", 1)[1]
        assert location.startswith(f"/sfu/whip/{call_path(cid)}/{session_id}")
        await pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
        peer = await watch(server, viewer, cid, session_id)
        try:
            await eventually(lambda: all(peer.frames[f"{session_id}|{t}"] > 0 for t in ("audio", "video")),
                             timeout_s=30, what="decoded WHIP audio and video")
            assert sorted(await participants(server, cid)) == sorted([obs, viewer])
            assert_error(await client.patch(location, content="a=end-of-candidates", headers={
                "Content-Type": "application/trickle-ice-sdpfrag"}), 405, 17)
            async with http(server, viewer) as other:  # someone else's session is not theirs to end
                assert_error(await other.delete(location), 404, 16)
            assert (await client.delete(location)).status_code == 200
            left = await peer.wait_for("participant_left", lambda e: e["participant"]["session_id"] == session_id)
            assert (left["reason"], left["participant"]["source"]) == ("left", "whip")
            assert await participants(server, cid) == [viewer]
            assert_error(await client.delete(location), 404, 16)
        finally:
            await peer.close()
            await pc.close()


async def test_whep_player_decodes_the_call(server: RunningServer, uid: Uid) -> None:
    cid, host, fan = f"default:{uid('c')}", uid("host"), uid("fan")
    publisher = await SignalingPeer.join(await coordinator_join(server, host, cid, create=True))
    player = Player()
    try:
        await publisher.publish()
        async with http(server, fan) as client:
            response = await client.post(f"/sfu/whep/{call_path(cid)}", content=await player.offer(), headers=SDP)
            assert response.status_code == 201, response.text
            assert response.headers["location"].startswith(f"/sfu/whep/{call_path(cid)}/")
            await player.pc.setRemoteDescription(RTCSessionDescription(response.text, "answer"))
            await eventually(lambda: player.frames["audio"] > 0 and player.frames["video"] > 0, timeout_s=30,
                             what="decoded WHEP audio and video")
            await publisher.wait_for("participant_joined", lambda e: e["participant"]["user_id"] == fan)
            assert (await client.delete(response.headers["location"])).status_code == 200
            await publisher.wait_for("participant_left", lambda e: e["participant"]["user_id"] == fan)
    finally:
        await player.close()
        await publisher.close()


async def test_whep_of_a_call_publishing_nothing_is_a_conflict(server: RunningServer, uid: Uid) -> None:
    cid, fan = f"default:{uid('c')}", uid("fan")
    await create_call(server, fan, cid)
    async with http(server, fan) as client:
        player = Player()
        try:
            response = await client.post(f"/sfu/whep/{call_path(cid)}", content=await player.offer(), headers=SDP)
        finally:
            await player.close()
    assert_error(response, 409, 23)
    assert await participants(server, cid) == []


async def test_whip_errors_leave_nobody_in_the_call(server: RunningServer, uid: Uid) -> None:
    cid, obs = f"default:{uid('c')}", uid("obs")
    pc = await whip_offer()
    offer = pc.localDescription.sdp
    await pc.close()
    await create_call(server, obs, cid)
    async with http(server, obs) as client:
        url = f"/sfu/whip/{call_path(cid)}"
        assert_error(await client.post(f"/sfu/whip/default/{uid('nope')}", content=offer, headers=SDP), 404, 16)
        body = assert_error(await client.post(url, content=offer, headers={"Content-Type": "text/plain"}), 400, 4)
        assert "Content-Type" in body["exception_fields"]
        body = assert_error(await client.post(url, content="v=0\r\nnonsense", headers=SDP), 400, 4)
        assert "sdp" in body["exception_fields"]
        receive_only = offer.replace("a=sendrecv", "a=recvonly")
        assert_error(await client.post(url, content=receive_only, headers=SDP), 400, 4)
        no_fingerprint = "\r\n".join(line for line in offer.split("\r\n") if not line.startswith("a=fingerprint"))
        assert_error(await client.post(url, content=no_fingerprint, headers=SDP), 400, 4)
        assert_error(await client.post(url, content=offer, headers={**SDP, "Authorization": "Bearer forged"}), 401)
    async with http(server) as client:  # a server token is nobody to publish as
        assert_error(await client.post(url, content=offer, headers=SDP), 403, 17)
    async with http(server, obs, call_cids=["default:other"]) as client:  # a call token for another call
        assert_error(await client.post(url, content=offer, headers=SDP), 403, 17)
    assert await participants(server, cid) == []


async def test_whip_needs_send_capabilities(server: RunningServer, uid: Uid) -> None:
    cid, host, listener = f"audio_room:{uid('c')}", uid("host"), uid("listener")
    await create_call(server, host, cid)
    async with http(server, host) as client:
        assert (await client.post(f"/api/v1/video/call/{call_path(cid)}/go_live", json={})).status_code == 200
    pc = await whip_offer()
    async with http(server, listener) as client:
        response = await client.post(f"/sfu/whip/{call_path(cid)}", content=pc.localDescription.sdp, headers=SDP)
    await pc.close()
    body = assert_error(response, 403, 17)
    assert "send-audio" in body["message"] and "send-video" in body["message"]
    assert await participants(server, cid) == []
