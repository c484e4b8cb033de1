"""An SFU error that says "disconnect": another socket takes over a client's SFU session, and the client ends the
call with ``DisconnectReasonSfuError`` instead of reconnecting (which would take the session back)."""

from __future__ import annotations

import asyncio

from tests.client.media_helpers import (  # noqa: F401
    MEDIA_WAIT,
    RoomFactory,
    loopback_ice,
    room,  # noqa: F401
    server,
)
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import SignalingPeer
from weir.client import CallConnectOptions, CallStatusDisconnected, DisconnectReasonSfuError
from weir.protocol.sfu.errors import SfuErrorCode

QUIET = 2.0  # seconds in which a wrong reconnection would have happened


async def test_a_replaced_sfu_session_disconnects_with_the_sfu_error(room: RoomFactory) -> None:
    r = await room(CallConnectOptions(), CallConnectOptions())
    session = r.bob._sfu
    assert session is not None
    joined = {"credentials": session.credentials.model_dump(mode="json"),
              "user_session_id": r.bob.state.value.user_session_id}
    thief = await SignalingPeer.join(joined)  # the same credentials, from another socket
    try:
        await eventually(lambda: r.bob.state.value.status.is_disconnected, MEDIA_WAIT, "bob disconnected")
        status = r.bob.state.value.status
        assert isinstance(status, CallStatusDisconnected) and isinstance(status.reason, DisconnectReasonSfuError)
        assert status.reason.error.code == SfuErrorCode.SESSION_REPLACED
        await asyncio.sleep(QUIET)
        assert thief.of_type("error") == []  # bob's client did not take the session back
        assert r.bob.state.value.status == status
    finally:
        await thief.close()
