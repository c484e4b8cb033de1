"""Reconnection of an SDK client's media: a lost SFU socket (fast), an SFU that forgot the session (rejoin)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.client.conftest import options_for
from tests.client.media_helpers import (  # noqa: F401
    AV,
    MEDIA_WAIT,
    Room,
    RoomFactory,
    loopback_ice,
    other,
    room,  # noqa: F401
    server,
)
from tests.conftest import RunningServer, start_server
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import sfu_test_settings
from weir.client import (
    Call,
    CallPreferences,
    CallState,
    CallStatus,
    CallStatusConnected,
    CallStatusDisconnected,
    CallStatusMigrating,
    CallStatusReconnecting,
    CallStatusReconnectionFailed,
    DisconnectReasonReconnectionFailed,
    StreamVideo,
    User,
)
from weir.protocol.sfu.events import GoAwayEvent

Uid = Callable[[str], str]


def statuses(call: Call) -> list[CallStatus]:
    """Every status ``call`` goes through from now on."""
    seen: list[CallStatus] = []
    last = [call.state.value.status]

    def changed(state: CallState) -> None:
        if state.status != last[0]:
            last[0] = state.status
            seen.append(state.status)

    call.state.listen(changed)
    return seen


async def test_a_lost_sfu_socket_reconnects_fast_and_media_resumes(room: RoomFactory) -> None:
    r = await room()
    await r.flowing("audio", "video")
    session_id = r.bob.state.value.user_session_id
    seen = statuses(r.bob)
    sfu = r.bob._sfu
    assert sfu is not None and sfu.publisher is not None
    paths = [sfu.publisher.ice.link.connection, sfu.subscriber.ice.link.connection]  # type: ignore[union-attr]
    sfu.socket.abort()  # the network drops the signaling connection
    await eventually(lambda: CallStatusConnected() in seen, MEDIA_WAIT, "bob connected again")
    assert seen == [CallStatusReconnecting(attempt=1), CallStatusConnected()]
    assert r.bob.state.value.user_session_id == session_id  # fast: the same session
    # ICE restarted on both connections: each checked a new path (new credentials) and swapped it in
    await eventually(lambda: [sfu.publisher.ice.link.connection, sfu.subscriber.ice.link.connection]  # type: ignore
                     != paths and not sfu.subscriber.ice.restarting, MEDIA_WAIT, "ICE restarted")
    assert sfu.publisher.ice.link.connection is not paths[0]  # type: ignore[union-attr]
    assert sfu.subscriber.ice.link.connection is not paths[1]  # type: ignore[union-attr]
    await r.flowing("audio", "video")
    assert [p.session_id for p in r.alice.state.value.other_participants] == [session_id]


class Restartable:
    """A server of its own (the test restarts it), on the same port, database and secret each time."""

    def __init__(self, data_dir: Path) -> None:
        self.settings = sfu_test_settings(data_dir, None)
        self.running = RunningServer(f"http://127.0.0.1:{self.settings.port}", "test-key",
                                     self.settings.api_secret or "", data_dir, "sqlite")
        self._start()

    def _start(self) -> None:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("WEIR_ICE_HOST_ADDRESSES", "127.0.0.1")
            self.uv, self.thread = start_server(self.settings)

    def stop(self) -> None:
        self.uv.should_exit = True
        self.thread.join(timeout=10)

    def restart(self) -> None:
        self.stop()
        self._start()


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[Restartable]:
    server = Restartable(tmp_path)
    yield server
    server.stop()


async def test_an_sfu_restart_leads_to_a_rejoin_and_media_resumes(restartable: Restartable, uid: Uid) -> None:
    made = [StreamVideo.create(restartable.running.api_key, user=User.regular(name),
                               user_token=restartable.running.token(name),
                               options=options_for(restartable.running)) for name in (uid("alice"), uid("bob"))]
    try:
        call_id = uid("c")
        mine, theirs = made[0].make_call(id=call_id), made[1].make_call(id=call_id)
        await mine.join(create=True, connect_options=AV)
        await theirs.join(connect_options=AV)
        r = Room(mine, theirs)
        await r.flowing("audio", "video")
        before = theirs.state.value.user_session_id
        seen = statuses(theirs)
        restartable.restart()  # the SFU forgets every session; the coordinator's database stays
        await eventually(lambda: CallStatusConnected() in seen, 60, "bob connected again")
        assert isinstance(seen[0], CallStatusReconnecting) and seen[0].attempt == 1
        assert all(isinstance(s, CallStatusReconnecting) for s in seen[:-1]) and seen[-1] == CallStatusConnected()
        assert theirs.state.value.user_session_id != before  # rejoin: a new participant session
        await eventually(lambda: mine.state.value.status == CallStatusConnected(), 60, "alice connected again")
        await r.flowing("audio", "video")
        assert other(mine).session_id == theirs.state.value.user_session_id
    finally:
        for client in made:
            await client.disconnect()


async def test_go_away_migrates_to_a_new_session_while_media_keeps_flowing(room: RoomFactory,
                                                                           server: RunningServer) -> None:  # noqa: F811
    r = await room()
    await r.flowing("audio", "video")
    before = r.bob.state.value.user_session_id
    seen = statuses(r.bob)
    sfu = server.app.state.sfu.server
    session = sfu.rooms.find(r.bob.cid, before)
    loop = sfu._tasks[0].get_loop()  # the server's event loop (it runs in another thread)
    loop.call_soon_threadsafe(session.send, GoAwayEvent(reason="rebalance"))  # this SFU asks bob to move
    await eventually(lambda: CallStatusConnected() in seen, MEDIA_WAIT, "bob migrated")
    assert seen == [CallStatusMigrating(), CallStatusConnected()]
    after = r.bob.state.value.user_session_id
    assert after != before
    await eventually(lambda: [p.session_id for p in r.alice.state.value.other_participants] == [after], MEDIA_WAIT,
                     "alice sees only bob's new session")
    await r.flowing("audio", "video")


async def test_reconnection_gives_up_after_the_reconnect_timeout(restartable: Restartable, uid: Uid) -> None:
    name = uid("alice")
    client = StreamVideo.create(restartable.running.api_key, user=User.regular(name),
                                user_token=restartable.running.token(name), options=options_for(
                                    restartable.running, default_call_preferences=CallPreferences(reconnect_timeout=2)))
    try:
        call = client.make_call(id=uid("c"))
        await call.join(create=True, connect_options=AV)
        seen = statuses(call)
        restartable.stop()  # the server is gone for good
        await eventually(lambda: call.state.value.status.is_disconnected, 30, "alice gave up")
        assert seen[0] == CallStatusReconnecting(attempt=1)
        assert seen[-2:] == [
            CallStatusReconnectionFailed(), CallStatusDisconnected(DisconnectReasonReconnectionFailed())
        ]
        assert all(isinstance(s, CallStatusReconnecting) for s in seen[:-2])
        assert call._sfu is None and call.local_track("video") is None  # the media is closed
    finally:
        await client.disconnect()


async def test_an_ice_failure_rejoins_and_media_resumes(room: RoomFactory) -> None:
    r = await room()
    await r.flowing("audio", "video")
    before = r.bob.state.value.user_session_id
    seen = statuses(r.bob)
    assert r.bob._sfu is not None and r.bob._sfu.subscriber.ice.link is not None
    await r.bob._sfu.subscriber.ice.link.connection.close()  # bob's receiving path dies (consent lost)
    await eventually(lambda: CallStatusConnected() in seen, MEDIA_WAIT, "bob connected again")
    assert seen == [CallStatusReconnecting(attempt=1), CallStatusConnected()]
    assert r.bob.state.value.user_session_id != before  # aiortc cannot revive a dead DTLS: a new session
    await r.flowing("audio", "video")
