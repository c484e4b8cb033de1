"""SFU media workers: ``weir serve``'s app with two worker processes, each owning whole calls.

Calls are spread over the workers and media flows on each; the coordinator's events reach the participants on
a worker and their leaving reaches the coordinator; a killed worker is restarted and its participants rejoin;
WHIP on the public port reaches the call's worker; the internal channel lets nobody else in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import ROOT, RunningServer, assert_error, free_port
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import SignalingPeer, coordinator_join, running_sfu
from tests.sfu.test_whip import SDP, call_path, create_call, http
from tests.sfu.test_whip import test_whep_player_decodes_the_call as whep_round_trip
from tests.sfu.test_whip import test_whip_publisher_is_decoded_and_leaves_with_delete as whip_round_trip
from weir.coordinator.sfu.registry import WorkerRegistry
from weir.domain.sfu_tokens import create_sfu_token
from weir.sfu.workers.channel import EVENTS_PATH, channel_token
from weir.sfu.workers.spec import split_ports

Uid = Callable[[str], str]
WORKERS = 2


ICE_PORTS = (47_100, 47_299)  # shared out between the workers: 47100-47199 and 47200-47299


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WEIR_ICE_PORT_MIN", str(ICE_PORTS[0]))
        env.setenv("WEIR_ICE_PORT_MAX", str(ICE_PORTS[1]))
        with running_sfu(request.param, tmp_path_factory.mktemp(f"workers-{request.param}"),
                         sfu_workers=WORKERS, sfu_stats_seconds=1) as running:
            yield running


def registry(server: RunningServer) -> WorkerRegistry:
    return server.app.state.sfu_placement.registry


def internal_requests(server: RunningServer) -> float:
    """POSTs the internal channel's HTTP routes answered so far (``/metrics``)."""
    text = httpx.get(server.base_url + "/metrics", timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == "weir_http_requests_total" and sample.labels["route"] == "/internal/sfu/{call}")


def port_of(joined: dict[str, Any]) -> int:
    port = urlsplit(joined["credentials"]["server"]["url"]).port
    assert port is not None
    return port


def sfu_candidate_ports(peer: SignalingPeer) -> set[int]:
    """The UDP ports of the SFU's candidates in its answer to the peer's publisher offer."""
    sdp = peer.publisher_pc.remoteDescription.sdp
    return {int(line.split()[5]) for line in sdp.splitlines() if line.startswith("a=candidate:")}


def participants(api: httpx.Client, cid: str) -> list[str]:
    session = api.get(f"/video/call/{call_path(cid)}").json()["call"]["session"]
    return [p["user_session_id"] for p in (session or {}).get("participants", [])]


async def two_in_a_call(server: RunningServer, ada: str, bob: str, cid: str) -> tuple[str, SignalingPeer,
                                                                                      SignalingPeer]:
    """Ada creates and joins the call, Bob joins: Ada's user session id and both peers."""
    a_joined = await coordinator_join(server, ada, cid, create=True)
    a = await SignalingPeer.join(a_joined)
    return a_joined["user_session_id"], a, await SignalingPeer.join(await coordinator_join(server, bob, cid))


async def media_between(a: SignalingPeer, b: SignalingPeer) -> None:
    """Both publish audio and video; each decodes the other's."""
    await a.publish()
    await b.publish()
    await a.subscribe(b)
    await b.subscribe(a)
    await eventually(lambda: all(x.received(y, t) > 0 for x, y in ((a, b), (b, a)) for t in ("audio", "video")),
                     timeout_s=40, what="audio and video both ways")


async def test_calls_land_on_different_workers_and_media_flows_on_each(server: RunningServer, uid: Uid) -> None:
    first, second = f"default:{uid('c')}", f"default:{uid('c')}"
    requests_before = internal_requests(server)
    a_joined = await coordinator_join(server, uid("ada"), first, create=True)
    b_joined = await coordinator_join(server, uid("bob"), first)
    c_joined = await coordinator_join(server, uid("cy"), second, create=True)
    d_joined = await coordinator_join(server, uid("dee"), second)
    public_port = urlsplit(server.base_url).port
    assert port_of(a_joined) == port_of(b_joined) != port_of(c_joined) == port_of(d_joined)
    assert public_port not in (port_of(a_joined), port_of(c_joined))
    assert {port_of(a_joined), port_of(c_joined)} == {w.port for w in registry(server).live.values()}
    peers = [await SignalingPeer.join(joined) for joined in (a_joined, b_joined, c_joined, d_joined)]
    try:
        await media_between(peers[0], peers[1])
        await media_between(peers[2], peers[3])
        assert not any(p.received(peers[2], "video") for p in peers[:2])  # each call keeps its own media
        live = server.app.state.weir.live_stats  # the workers' stats samples reach the coordinator
        await eventually(lambda: all(len(live.samples.get(cid, {})) == 2 for cid in (first, second)), timeout_s=20,
                         what="stats samples of both calls over the internal channel")
        # the four admissions were requests; the stats batches (every second here) came on the event socket
        assert internal_requests(server) - requests_before == 4
        shares = split_ports(*ICE_PORTS, WORKERS)
        for cid, pair in ((first, peers[:2]), (second, peers[2:])):
            owner = registry(server).owner(cid)
            assert owner is not None
            low, high = shares[owner.index]
            ports = sfu_candidate_ports(pair[0]) | sfu_candidate_ports(pair[1])
            assert ports and all(low <= port <= high for port in ports), (ports, shares)
    finally:
        for peer in peers:
            await peer.close()


async def test_a_worker_refuses_a_session_of_a_call_it_does_not_own(server: RunningServer, uid: Uid) -> None:
    cid = f"default:{uid('c')}"
    joined = await coordinator_join(server, uid("ada"), cid, create=True)
    other = next(w for w in registry(server).live.values() if w.port != port_of(joined))
    url = joined["credentials"]["server"]["url"].replace(f":{port_of(joined)}/", f":{other.port}/")
    peer = await SignalingPeer.open(url, joined["user_session_id"])
    try:
        await peer.send({"type": "join", "token": joined["credentials"]["token"],
                         "session_id": joined["user_session_id"]})
        refused = await peer.wait_for("error")
        assert refused["error"]["code"] == "session_not_found" and refused["reconnect_strategy"] == "rejoin"
        assert registry(server).owner(cid) is not other  # the call stays where it was placed
    finally:
        await peer.close()


async def test_the_edge_list_still_names_this_server(api: httpx.Client, server: RunningServer) -> None:
    edges = api.get("/edges").json()["edges"]
    assert [e["name"] for e in edges] == ["local"]
    assert httpx.get(edges[0]["latency_test_url"]).status_code == 200


async def test_coordinator_events_reach_participants_on_a_worker(server: RunningServer, api: httpx.Client,
                                                                 uid: Uid) -> None:
    cid, bob = f"default:{uid('c')}", uid("bob")
    _, a, b = await two_in_a_call(server, uid("ada"), bob, cid)
    try:
        assert api.post(f"/video/call/{call_path(cid)}/kick", json={"user_id": bob}).status_code == 200
        removed = await b.wait_for("error")
        assert removed["error"]["code"] == "removed_from_call"
        assert (await a.wait_for("participant_left"))["reason"] == "kicked"
        assert await b.closed() == 1008
        assert api.post(f"/video/call/{call_path(cid)}/mark_ended").status_code == 200
        await a.wait_for("call_ended")
        assert await a.closed() == 1000
    finally:
        await a.close()
        await b.close()


async def test_leaving_on_a_worker_ends_the_coordinator_session(server: RunningServer, api: httpx.Client,
                                                                uid: Uid) -> None:
    cid = f"default:{uid('c')}"
    ada_session, a, b = await two_in_a_call(server, uid("ada"), uid("bob"), cid)
    try:
        await b.send({"type": "leave", "reason": "done"})
        assert await b.closed() == 1000
        assert (await a.wait_for("participant_left"))["participant"]["session_id"] == b.session_id
        assert participants(api, cid) == [ada_session]
    finally:
        await a.close()
        await b.close()


async def test_a_killed_worker_is_restarted_and_its_participants_rejoin(server: RunningServer, api: httpx.Client,
                                                                       uid: Uid) -> None:
    cid, ada, bob = f"default:{uid('c')}", uid("ada"), uid("bob")
    _, a, b = await two_in_a_call(server, ada, bob, cid)
    owner = registry(server).owner(cid)
    assert owner is not None
    os.kill(owner.pid, signal.SIGKILL)
    try:
        await a.closed()
        await b.closed()
        await eventually(lambda: participants(api, cid) == [], timeout_s=20, what="the lost sessions to end")
        await eventually(lambda: len(registry(server).live) == WORKERS and owner.index in registry(server).live
                         and registry(server).live[owner.index].pid != owner.pid, timeout_s=30,
                         what="the worker's restart")
    finally:
        await a.close()
        await b.close()
    a = await SignalingPeer.join(await coordinator_join(server, ada, cid))
    b = await SignalingPeer.join(await coordinator_join(server, bob, cid))
    try:
        await media_between(a, b)
    finally:
        await a.close()
        await b.close()


async def test_whip_and_whep_on_the_public_port_reach_the_calls_worker(server: RunningServer, uid: Uid) -> None:
    """test_whip.py's round trips, against workers: the resources stay on the public port."""
    await whip_round_trip(server, uid)
    await whep_round_trip(server, uid)


async def test_whip_errors_from_the_worker_reach_the_caller(server: RunningServer, api: httpx.Client,
                                                            uid: Uid) -> None:
    """An offer the coordinator can parse but the worker cannot answer: its error, and nobody stays in the call."""
    cid, obs = f"default:{uid('c')}", uid("obs")
    await create_call(server, obs, cid)
    async with http(server, obs) as client:
        offer = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
        response = await client.post(f"/sfu/whip/{call_path(cid)}", content=offer, headers=SDP)
    body = assert_error(response, 400, 4)
    assert body["exception_fields"] == {"sdp": "ICE username fragment or password is missing"}
    assert participants(api, cid) == []


async def test_the_internal_channel_refuses_anyone_else(server: RunningServer, uid: Uid) -> None:
    admit = {"call_cid": "default:x", "session_id": "s"}
    strangers = {
        "no token": {},
        "a user token": {"Authorization": f"Bearer {server.token(uid('eve'))}"},
        "a server token": {"Authorization": f"Bearer {server.token()}"},
        "an SFU token": {"Authorization": "Bearer " + create_sfu_token(
            server.api_secret, call_cid="default:x", user_id="eve", session_id="s", role="user", capabilities=[])},
        "a channel token signed by another secret": {
            "Authorization": f"Bearer {channel_token('another-secret-' + 'x' * 32, 0)}"},
        "the coordinator's own token": {"Authorization": f"Bearer {channel_token(server.api_secret)}"},
    }
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        for what, headers in strangers.items():
            response = await client.post("/internal/sfu/admit", json=admit, headers=headers)
            assert response.status_code == 401, (what, response.text)
            assert response.json()["code"] == 5
        spec = (await client.get("/openapi.json")).json()
        assert not [path for path in spec["paths"] if path.startswith("/internal")]
    ws_url = server.base_url.replace("http", "ws", 1) + EVENTS_PATH
    for what, headers in strangers.items():
        if what == "the coordinator's own token":
            continue
        with pytest.raises(InvalidStatus):
            async with connect(ws_url, additional_headers=headers):
                pass
    worker = next(iter(registry(server).live.values()))  # a worker's entry takes the coordinator's token only
    async with httpx.AsyncClient(base_url=worker.base_url) as client:
        for token in (channel_token(server.api_secret, 0), server.token()):
            response = await client.post("/internal/sfu/entry/close", json={
                "call_cid": "default:x", "session_id": "s", "user_id": None},
                headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, response.text


# --- `weir serve` itself ---------------------------------------------------------------------------------------
def worker_processes(parent: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``parent`` and that run an SFU worker."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == parent and state != "Z" and b"weir.sfu.workers.process" in cmdline:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 90) -> None:
    """Poll until ``check()`` holds; the 90 s allow a cold `weir serve` and its workers on loaded shared cores."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def weir_serve(data_dir: Path) -> subprocess.Popen[bytes]:
    """``weir serve`` with its default number of SFU workers (the test session's WEIR_SFU_WORKERS=0 removed)."""
    env = {k: v for k, v in os.environ.items() if k != "WEIR_SFU_WORKERS"}
    args = [str(ROOT / ".venv" / "bin" / "weir"), "serve", "--host", "127.0.0.1", "--port", str(free_port()),
            "--data-dir", str(data_dir), "--log-level", "warning"]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL])
def test_weir_serve_runs_a_worker_per_core_and_none_outlives_it(tmp_path: Path, stop: signal.Signals) -> None:
    serve = weir_serve(tmp_path)
    try:
        cores = os.cpu_count() or 1
        wait_until(lambda: len(worker_processes(serve.pid)) == cores, f"{cores} SFU workers")
        workers = worker_processes(serve.pid)
        serve.send_signal(stop)  # SIGINT: a clean stop; SIGKILL: the workers see their stdin end
        serve.wait(timeout=30)
        wait_until(lambda: not any(alive(pid) for pid in workers), "the workers to stop")
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
