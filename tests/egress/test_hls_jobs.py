"""HLS jobs through the workers' channel, without a capture: a worker that reports a failure gives
``call.hls_broadcasting_failed``; auto_on starts the broadcast with the first participant. The server has no
egress worker, so this test claims the job as one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from tests.conftest import RunningServer
from tests.sfu.rtc_peers import eventually
from weir.client import StreamVideo, StreamVideoOptions, User
from weir.domain.egress_tokens import create_worker_token
from weir.protocol.events import CallHLSBroadcastingFailedEvent
from weir.server import AsyncClient


async def claim_and_fail(server: RunningServer) -> str:
    headers = {"Authorization": f"Bearer {create_worker_token(server.api_secret)}"}
    async with httpx.AsyncClient(base_url=f"{server.base_url}/internal/egress", headers=headers) as channel:
        job = (await channel.post("/claim", json={"worker_id": "test-worker"}, timeout=30)).json()["job"]
        assert job["recording_type"] == "hls" and job["options"]["quality_tracks"] == ["360p"]
        finished = await channel.post(f"/{job['egress_id']}/finish",
                                      json={"worker_id": "test-worker", "error": "ffmpeg exited with 1"})
        assert finished.json()["status"] == "failed"
        return str(job["egress_id"])


async def test_auto_on_broadcast_whose_worker_fails(server: RunningServer, uid: Callable[[str], str]) -> None:
    call_id, host = uid("hls-auto"), uid("host")
    async with AsyncClient(server.api_key, server.api_secret, server.base_url) as weir:
        await weir.video.call("default", call_id).get_or_create(data={"created_by_id": host, "settings_override": {
            "broadcasting": {"hls": {"auto_on": True, "quality_tracks": ["360p"]}}}})
        client = StreamVideo.create(server.api_key, user=User.regular(host), user_token=server.token(host),
                                    options=StreamVideoOptions(coordinator_rpc_url=server.base_url))
        try:
            call = client.make_call(id=call_id)
            failed: asyncio.Future[CallHLSBroadcastingFailedEvent] = asyncio.get_running_loop().create_future()
            call.events.on(CallHLSBroadcastingFailedEvent,
                           lambda event: None if failed.done() else failed.set_result(event))
            await call.join()  # the first participant: auto_on starts the broadcast
            playlist_url = call.state.value.egress
            assert playlist_url is not None and call.state.value.is_broadcasting
            assert await claim_and_fail(server) in playlist_url
            await asyncio.wait_for(failed, 10)
            await eventually(lambda: call.state.value.egress is None and not call.state.value.is_broadcasting, 10,
                             "the SDK's state showing the broadcast gone")
            block = (await weir.video.call("default", call_id).get()).data["call"]["egress"]
            assert block["broadcasting"] is False and block["hls"]["status"] == "failed"
        finally:
            await client.disconnect()
