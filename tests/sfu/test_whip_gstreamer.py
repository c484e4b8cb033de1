"""GStreamer's webrtcbin (a WebRTC stack no one here wrote) publishes test video and audio into a call through
Weir's WHIP endpoint, and a Weir signaling subscriber decodes both.

libnice gathers no loopback candidates, so the GStreamer client runs in a network namespace this test makes,
joined to the root namespace by a veth pair on a private 10.213.x.0/24: Weir listens (HTTP and ICE) on the
root side's address, and every packet stays on that pair or on loopback. The client is
``gst_whip_client.py`` under Debian's Python (``scripts/gstreamer.sh`` installs the packages if missing).
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningServer, from_setup_script
from tests.netns import veth_namespace
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import running_sfu
from tests.sfu.test_whip import create_call, participants, watch

Uid = Callable[[str], str]
CLIENT = Path(__file__).with_name("gst_whip_client.py")


def gstreamer_python() -> str:
    """Debian's Python with GStreamer's webrtcbin: ``WEIR_GSTREAMER`` (from the Makefile), else installed now."""
    return from_setup_script("WEIR_GSTREAMER", "gstreamer.sh")


@pytest.fixture(scope="module")
def namespace() -> Iterator[tuple[str, str]]:
    with veth_namespace() as made:
        yield made


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           namespace: tuple[str, str]) -> Iterator[RunningServer]:
    address = namespace[1]
    with running_sfu(request.param, tmp_path_factory.mktemp(f"gst-{request.param}"), host=address,
                     ice_addresses=f"127.0.0.1,{address}") as running:
        yield running


async def test_gstreamer_publishes_through_whip(server: RunningServer, namespace: tuple[str, str], uid: Uid) -> None:
    cid, gst, viewer = f"default:{uid('c')}", uid("gst"), uid("viewer")
    await create_call(server, viewer, cid)
    url = f"{server.base_url}/sfu/whip/{cid.replace(':', '/')}?api_key={server.api_key}"
    client = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", namespace[0], gstreamer_python(), str(CLIENT), url, server.token(gst), "120",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert client.stdout is not None and client.stderr is not None
    try:
        steps: list[dict[str, str]] = []
        while not steps or steps[-1]["step"] != "answered":
            line = await asyncio.wait_for(client.stdout.readline(), 60)
            assert line, (await client.stderr.read()).decode()
            steps.append(json.loads(line))
        answered = steps[-1]
        session_id = answered["location"].split("?")[0].rsplit("/", 1)[1]
        peer = await watch(server, viewer, cid, session_id)
        try:
            await eventually(lambda: all(peer.frames[f"{session_id}|{t}"] > 0 for t in ("audio", "video")),
                             timeout_s=30, what="decoded GStreamer audio and video")
            assert sorted(await participants(server, cid)) == sorted([gst, viewer])
            client.send_signal(signal.SIGTERM)  # the client DELETEs its session and exits
            out, err = await asyncio.wait_for(client.communicate(), 30)
            assert client.returncode == 0, err.decode()
            steps += [json.loads(line) for line in out.splitlines()]
            assert {"step": "ice", "state": "connected"} in steps
            await peer.wait_for("participant_left", lambda e: e["participant"]["session_id"] == session_id)
            assert await participants(server, cid) == [viewer]
        finally:
            await peer.close()
    finally:
        if client.returncode is None:
            client.kill()
            await client.wait()
