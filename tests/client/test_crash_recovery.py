"""SDK clients through crashes (issue 11), against a real ``weir serve`` with two SFU media workers: the worker
carrying their call SIGKILLed three times in a row, and ``weir serve`` itself SIGKILLed and started again.

Each time both clients rejoin by themselves and decode each other's video again; no status reaches Disconnected
and no former session of one's own shows as a participant. How soon media comes back is bench/recovery.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.client.media_helpers import loopback_ice  # noqa: F401
from tests.crash import SdkCall, WeirServe, coordinator_recovery, sfu_worker_recoveries
from weir.client import CallStatusConnected, CallStatusReconnecting

Uid = Callable[[str], str]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[WeirServe]:
    server = WeirServe(tmp_path / "weir")
    server.start()
    yield server
    server.stop()


async def assert_recovered(room: SdkCall, outages: int, sessions_before: list[str]) -> None:
    await room.connected()
    assert room.disconnected() == [], room.statuses
    for seen, before, call in zip(room.statuses, sessions_before, room.calls, strict=True):
        assert seen.count(CallStatusConnected()) >= outages + 1, seen  # connected again after every outage
        assert any(isinstance(s, CallStatusReconnecting) for s in seen), seen
        assert call.state.value.user_session_id != before, "a rejoin: a new session"
    assert room.stale == [set(), set()], "former sessions of one's own listed as participants"
    alice, bob = room.calls
    assert [p.session_id for p in alice.state.value.other_participants] == [bob.state.value.user_session_id]
    assert [p.session_id for p in bob.state.value.other_participants] == [alice.state.value.user_session_id]


async def test_clients_rejoin_each_time_their_sfu_worker_is_killed(serve: WeirServe, uid: Uid) -> None:
    room = await SdkCall.join(serve, uid("c"))
    try:
        before = [call.state.value.user_session_id for call in room.calls]
        ports = {room.sfu_port()}
        for _ in range(3):
            await sfu_worker_recoveries(serve, room, kills=1)
            ports.add(room.sfu_port())
        assert len(ports) > 1, "the call moved to a live worker"
        await assert_recovered(room, 3, before)
    finally:
        await room.close()


async def test_media_comes_back_after_weir_serve_is_killed_and_restarted(serve: WeirServe, uid: Uid) -> None:
    room = await SdkCall.join(serve, uid("c"))
    try:
        before = [call.state.value.user_session_id for call in room.calls]
        await coordinator_recovery(serve, room)
        await assert_recovered(room, 1, before)
    finally:
        await room.close()
