"""``CallRelay``: a peer SFU's participants in the local roster, and the coordinator ending one of them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from weir.sfu.cascade.calls import CallRelay, Cascade
from weir.sfu.cascade.link import RelayLink, RelayPeer
from weir.sfu.cascade.wire import new_key
from weir.sfu.signaling.coordinator_events import on_coordinator_event
from weir.sfu.signaling.link import CallRecord
from weir.sfu.signaling.media import MediaRoom
from weir.sfu.signaling.room import SignalingRoom
from weir.sfu.signaling.rooms import SignalingRooms

CID = "default:cascade"


def remote(session_id: str, tracks: list[str]) -> dict[str, Any]:
    return {"op": "participant", "participant": {
        "user_id": f"user-{session_id}", "session_id": session_id, "published_tracks": tracks,
        "joined_at": datetime(2026, 12, 7, tzinfo=UTC).isoformat()}}


async def test_peers_participants_join_update_and_leave_the_roster_when_the_coordinator_says() -> None:
    rooms = SignalingRooms(cast(Any, None), cast(Any, None), 1.0)
    media = SimpleNamespace(on_audio_levels=None, on_dominant_speaker=None, on_connection_quality=None, pinned=())
    room = SignalingRoom(CallRecord(cid=CID, started_at=None, pins=(), settings={}), cast(MediaRoom, media))
    rooms.rooms[CID] = room
    cascade = SimpleNamespace(peers={1: cast(RelayPeer, None)}, say=lambda *_: None, ssrcs=set())
    call = CallRelay(cast(Cascade, cascade), CID)
    call.from_peer(1, remote("far", []))  # before the room opens: kept
    call.attach(room)
    assert [p.session_id for p in room.call_state().participants] == ["far"]

    call.from_peer(1, remote("far", ["audio"]))
    participant = room.participant_of("far")
    assert participant is not None and participant.published_tracks == ["audio"]
    assert room.count().total == 1

    # the far SFU died: the coordinator ends its session, and the roster follows
    await on_coordinator_event(rooms, {"type": "call.session_participant_left", "call_cid": CID,
                                       "participant": {"user_session_id": "far"}, "reason": "sfu_worker_lost"})
    assert room.participant_of("far") is None and room.call_state().participants == []
    assert call.remote_participants == {}


def peers_message(port: int, key: bytes) -> dict[str, Any]:
    encoded = base64.b64encode(key).decode()
    return {"type": "cascade_peers", "call_cid": CID,
            "peers": [{"worker": 1, "relay": ["127.0.0.1", port], "tx_key": encoded, "rx_key": encoded}]}


async def test_a_restarted_peer_is_met_anew_and_its_old_process_forgotten() -> None:
    link = RelayLink()
    await link.open("127.0.0.1")
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    cascade = Cascade(link, SignalingRooms(cast(Any, None), cast(Any, None), 1.0), send)
    try:
        cascade.on_message(peers_message(40_001, new_key()))
        cascade.on_message({"type": "relay", "call_cid": CID, "from": 1, "body": remote("far", [])})
        assert set(cascade.calls[CID].remote_participants) == {"far"}
        cascade.on_message(peers_message(40_001, cascade.peers[1].keys[0]))  # the same again: nothing changes
        assert set(cascade.calls[CID].remote_participants) == {"far"}

        cascade.on_message(peers_message(40_002, new_key()))  # worker 1 restarted
        assert cascade.peers[1].address == ("127.0.0.1", 40_002) and link.peer(("127.0.0.1", 40_001)) is None
        assert cascade.calls[CID].remote_participants == {}
        cascade.on_message({"type": "relay", "call_cid": CID, "from": 1, "body": {"op": "participant"}})  # garbage
        assert cascade.calls[CID].remote_participants == {}
    finally:
        link.close()
