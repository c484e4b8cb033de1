"""A test client of the SFU signaling protocol: a WebSocket plus two aiortc peer connections on 127.0.0.1.

It is what Weir's SDK does, reduced to what the tests need: join with the coordinator's credentials, publish
(the publisher connection offers), answer the SFU's subscriber offers as they come, apply trickled candidates,
and count decoded frames per received track (track ids are ``<session id>|<track type>``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import candidate_from_sdp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import RunningServer, free_port, fresh_postgres_database, start_server
from tests.sfu.rtc_peers import LOOPBACK, Pattern, Tone, count_frames, loopback_only
from weir.client.media.voice import mark_voice_activity
from weir.config import Settings
from weir.sfu.rtc import IceConfig

Event = dict[str, Any]
# Short, so that tests of vanished clients wait little; long enough for a reconnect on loopback.
FAST_RECONNECT_DEADLINE = 2.0


def sfu_test_settings(data_dir: Path, database_url: str | None, host: str = "127.0.0.1",
                      **more_settings: Any) -> Settings:
    """A test server's settings: a free port, a fresh secret, a short fast-reconnect deadline."""
    return Settings(
        host=host, port=free_port(), data_dir=data_dir, database_url=database_url, api_key="test-key",
        api_secret="test-secret-" + uuid.uuid4().hex,
        **{"rate_limits_enabled": False, "sfu_fast_reconnect_deadline_seconds": FAST_RECONNECT_DEADLINE,
           "sfu_keepalive_seconds": 0.5, **more_settings},
    )


@contextmanager
def running_sfu(backend: str, data_dir: Path, host: str = "127.0.0.1", ice_addresses: str = "127.0.0.1",
                **more_settings: Any) -> Iterator[RunningServer]:
    """``weir serve``'s app (coordinator and SFU in one process) with ICE on 127.0.0.1 and a short deadline;
    ``more_settings`` are further ``Settings`` fields."""
    def drop() -> None:
        pass

    database_url = None
    if backend == "postgres":
        database_url, drop = fresh_postgres_database()
    settings = sfu_test_settings(data_dir, database_url, host, **more_settings)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WEIR_ICE_HOST_ADDRESSES", ice_addresses)
        uv, thread = start_server(settings)
    try:
        if settings.sfu_workers:
            wait_for_workers(uv.config.app, settings.sfu_workers)
        yield RunningServer(f"http://{host}:{settings.port}", "test-key", settings.api_secret or "", data_dir,
                            backend, settings.resolved_database_url, app=uv.config.app)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        drop()


def wait_for_workers(app: Any, count: int, timeout_s: float = 60) -> None:
    """Until ``count`` SFU worker processes are live (connected to the coordinator)."""
    deadline = time.monotonic() + timeout_s
    while len(app.state.sfu_placement.registry.live) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} SFU workers did not start")
        time.sleep(0.05)


async def coordinator_join(server: RunningServer, user_id: str, cid: str, **body: Any) -> dict[str, Any]:
    """``POST …/join`` as ``user_id``; the response carries the SFU credentials."""
    call_type, call_id = cid.split(":")
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", params={"api_key": server.api_key},
                                 headers={"Authorization": server.token(user_id)}) as http:
        response = await http.post(f"/video/call/{call_type}/{call_id}/join", json=body)
    assert response.status_code == 200, response.text
    return response.json()


class SignalingPeer:
    """With ``ice_servers`` (the join's), the peer gathers as aiortc does, relay candidates included, the way a
    client on another machine would; without, it gathers on ``ice``'s addresses (127.0.0.1) only."""

    def __init__(self, ws: ClientConnection, session_id: str, ice_servers: list[RTCIceServer] | None = None,
                 ice: IceConfig = LOOPBACK) -> None:
        self.ws = ws
        self.session_id = session_id
        self.events: list[Event] = []
        self._host_only = None if ice_servers is not None else ice
        # max-bundle: see rtc_peers.Peer (with more than one remote track of a kind, balanced loses packets)
        config = RTCConfiguration(iceServers=ice_servers or [], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.publisher_pc = RTCPeerConnection(config)
        self.subscriber_pc = RTCPeerConnection(config)
        self.subscriber_pc.on("track", self._on_track)
        self.frames: Counter[str] = Counter()
        self.sizes: dict[str, tuple[int, int]] = {}  # the latest decoded video frame's size, by track id
        self._early: list[Event] = []  # publisher candidates that came before the answer
        self._arrived = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = [asyncio.create_task(self._read())]

    @classmethod
    async def open(cls, url: str, session_id: str, ice_servers: list[RTCIceServer] | None = None,
                   ice: IceConfig = LOOPBACK) -> SignalingPeer:
        return cls(await connect(url), session_id, ice_servers, ice)

    @classmethod
    async def join(cls, joined: dict[str, Any], *, use_ice_servers: bool = False, ice: IceConfig = LOOPBACK,
                   **extra: Any) -> SignalingPeer:
        """Connect with the coordinator's join response (and its ICE servers, if asked; else ICE on ``ice``'s
        addresses only) and wait for ``join_response``."""
        ice_servers = None
        if use_ice_servers:
            ice_servers = [RTCIceServer(urls=s["urls"], username=s["username"], credential=s["password"])
                           for s in joined["credentials"]["ice_servers"]]
        peer = await cls.open(joined["credentials"]["server"]["url"], joined["user_session_id"], ice_servers,
                              ice)
        await peer.send({"type": "join", "token": joined["credentials"]["token"],
                         "session_id": joined["user_session_id"], **extra})
        await peer.wait_for("join_response")
        return peer

    async def send(self, message: Event) -> None:
        await self.ws.send(json.dumps(message))

    async def wait_for(self, event_type: str, check: Callable[[Event], bool] = lambda _: True,
                       timeout: float = 15) -> Event:
        """The first event (received so far or later) of ``event_type`` that passes ``check``."""
        def found() -> Event | None:
            return next((e for e in self.events if e["type"] == event_type and check(e)), None)

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(found), timeout)
        event = found()
        assert event is not None
        return event

    def of_type(self, event_type: str) -> list[Event]:
        return [e for e in self.events if e["type"] == event_type]

    async def closed(self, timeout: float = 10) -> int | None:
        """Wait for the server to close the socket; its close code."""
        await asyncio.wait_for(self.ws.wait_closed(), timeout)
        return self.ws.close_code

    async def publish(self, *, audio: bool = True, video: bool = True) -> Event:
        for present, track in ((audio, Tone()), (video, Pattern())):
            if present:
                self.publisher_pc.addTrack(track)
        if self._host_only is not None:
            loopback_only(self.publisher_pc, self._host_only)
        await self.publisher_pc.setLocalDescription(await self.publisher_pc.createOffer())
        tracks = [{"track_type": t.kind, "mid": t.mid} for t in self.publisher_pc.getTransceivers()]
        answer = await self.set_publisher(self.publisher_pc.localDescription.sdp, tracks)
        await self.publisher_pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        mark_voice_activity(self.publisher_pc)
        for early in self._early:
            await self._candidate(early)
        self._early.clear()
        await self.send({"type": "ice_trickle", "target": "publisher", "candidate": None})  # all were in the offer
        return answer

    async def set_publisher(self, sdp: str, tracks: list[dict[str, Any]]) -> Event:
        """Send a publisher offer and its tracks; the SFU's ``publisher_answer`` to it."""
        answers = len(self.of_type("publisher_answer"))
        await self.send({"type": "set_publisher", "sdp": sdp, "tracks": tracks})
        return await self.wait_for("publisher_answer", lambda _: len(self.of_type("publisher_answer")) > answers)

    async def subscribe(self, *others: SignalingPeer, track_types: tuple[str, ...] = ("audio", "video"),
                        dimension: tuple[int, int] = (160, 120)) -> None:
        await self.subscribe_to(*(other.session_id for other in others), track_types=track_types, dimension=dimension)

    async def subscribe_to(self, *session_ids: str, track_types: tuple[str, ...] = ("audio", "video"),
                           dimension: tuple[int, int] = (160, 120)) -> None:
        width, height = dimension
        await self.send({"type": "update_subscriptions", "tracks": [
            {"session_id": session_id, "track_type": t, "dimension": {"width": width, "height": height}}
            for session_id in session_ids for t in track_types]})

    def received(self, other: SignalingPeer, track_type: str) -> int:
        return self.frames[f"{other.session_id}|{track_type}"]

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                event = json.loads(raw)
                if event["type"] == "subscriber_offer":
                    await self._answer(event)
                elif event["type"] == "ice_trickle" and event["candidate"] is not None:
                    await self._candidate(event)
                async with self._arrived:
                    self.events.append(event)
                    self._arrived.notify_all()
        except ConnectionClosed:
            pass

    async def _answer(self, offer: Event) -> None:
        await self.subscriber_pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        if self._host_only is not None:
            loopback_only(self.subscriber_pc, self._host_only)
        await self.subscriber_pc.setLocalDescription(await self.subscriber_pc.createAnswer())
        await self.send({"type": "send_answer", "sdp": self.subscriber_pc.localDescription.sdp,
                         "negotiation_id": offer["negotiation_id"]})

    async def _candidate(self, event: Event) -> None:
        candidate = event["candidate"]
        found = candidate_from_sdp(candidate["candidate"].removeprefix("candidate:"))
        found.sdpMid, found.sdpMLineIndex = candidate["sdp_mid"], candidate["sdp_mline_index"]
        pc = self.publisher_pc if event["target"] == "publisher" else self.subscriber_pc
        if pc.remoteDescription is None:
            self._early.append(event)
        else:
            await pc.addIceCandidate(found)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._tasks.append(asyncio.create_task(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        await count_frames(track, self.frames, self.sizes)

    async def close(self) -> None:
        await self.ws.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.publisher_pc.close()
        await self.subscriber_pc.close()
