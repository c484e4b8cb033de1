"""Sessions that never reach the SFU: they expire after the admission window, and a user's repeated joins
take one seat (issue 12: fake sessions filled a call). And the SFU's per-user join limit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.conftest import RunningServer, assert_error
from tests.realtime import connect_user
from tests.sfu.signaling_peers import SignalingPeer, coordinator_join, running_sfu
from weir.protocol.errors import ErrorCode

Uid = Callable[[str], str]
WINDOW = 2.0
SFU_JOINS_PER_MINUTE = 3


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu(request.param, tmp_path_factory.mktemp(f"admission-{request.param}"),
                     sfu_admission_window_seconds=WINDOW, rate_limits_enabled=True,
                     sfu_joins_per_minute=SFU_JOINS_PER_MINUTE) as running:
        yield running


def participants(api: httpx.Client, path: str) -> list[str]:
    session = api.get(path).json()["call"]["session"]
    return [p["user"]["id"] for p in (session or {}).get("participants", [])]


async def test_a_session_that_never_reaches_the_sfu_expires(server: RunningServer, api: httpx.Client,
                                                             uid: Uid) -> None:
    ada, ghost = uid("ada"), uid("ghost")
    cid = f"default:{uid('c')}"
    path = "/video/call/" + cid.replace(":", "/")
    ghost_ws = await connect_user(server, ghost)  # the ghost's coordinator socket stays open throughout
    a = await SignalingPeer.join(await coordinator_join(server, ada, cid, create=True))
    await coordinator_join(server, ghost, cid)
    assert sorted(participants(api, path)) == sorted([ada, ghost])
    left = await ghost_ws.wait_for("call.session_participant_left", timeout=WINDOW + 15)
    assert left["participant"]["user"]["id"] == ghost and left["reason"] == "timeout"
    await asyncio.sleep(WINDOW)  # ada, on the SFU, is well past the window too
    assert participants(api, path) == [ada]
    await a.close()
    await ghost_ws.close()


async def test_repeated_joins_take_one_seat(server: RunningServer, api: httpx.Client, uid: Uid) -> None:
    owner, hog = uid("owner"), uid("hog")
    path = f"/video/call/default/{uid('c')}"
    api.post(path, json={"data": {"created_by_id": owner,
                                  "settings_override": {"limits": {"max_participants": 2}}}}).raise_for_status()
    cid = path.removeprefix("/video/call/").replace("/", ":")
    sessions = [(await coordinator_join(server, hog, cid))["user_session_id"] for _ in range(3)]
    assert len(set(sessions)) == 3 and participants(api, path) == [hog], "each join replaced the previous one"
    owner_peer = await SignalingPeer.join(await coordinator_join(server, owner, cid))
    assert sorted(participants(api, path)) == sorted([owner, hog])
    hog_peer = await SignalingPeer.join(await coordinator_join(server, hog, cid))
    # The hog's session on the SFU is not replaced by a new join; that join needs a seat of its own.
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", params={"api_key": server.api_key},
                                 headers={"Authorization": server.token(hog)}) as http:
        assert_error(await http.post(f"{path}/join", json={}), 403, ErrorCode.CALL_FULL)
    await owner_peer.close()
    await hog_peer.close()


async def test_sfu_joins_are_rate_limited_per_user(server: RunningServer, uid: Uid) -> None:
    flood, other = uid("flood"), uid("other")
    cid = f"default:{uid('c')}"
    peers = [await SignalingPeer.join(await coordinator_join(server, flood, cid, create=True))]
    peers += [await SignalingPeer.join(await coordinator_join(server, flood, cid))
              for _ in range(SFU_JOINS_PER_MINUTE - 1)]
    joined = await coordinator_join(server, flood, cid)
    peer = await SignalingPeer.open(joined["credentials"]["server"]["url"], joined["user_session_id"])
    await peer.send({"type": "join", "token": joined["credentials"]["token"],
                     "session_id": joined["user_session_id"], "request_id": "j"})
    error = await peer.wait_for("error")
    assert error["error"]["code"] == "rate_limited" and error["request_id"] == "j", error
    assert await peer.closed() == 1008
    peers += [peer, await SignalingPeer.join(await coordinator_join(server, other, cid))]  # others still join
    for each in peers:
        await each.close()
