"""A signaling peer that reaches the SFU only through the join's TURN server, for test_turn_no_udp.py.

Run inside the test's network namespace (``python -m tests.sfu.turn_peer`` from the repository root) with one
JSON line on stdin: ``{"joined": <coordinator join response>, "watch": <session id to subscribe to>}``. It joins
with the join's ICE servers, publishes audio and video, subscribes, and prints JSON lines: ``joined``, then
``received`` (decoded frames by track) with ``paths`` (the nominated ICE pair of each connection, and what carries
its relay), then waits for stdin to close before leaving.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiortc import RTCPeerConnection

from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import SignalingPeer


def report(step: str, **fields: Any) -> None:
    print(json.dumps({"step": step, **fields}), flush=True)


def nominated_path(pc: RTCPeerConnection) -> dict[str, Any]:
    """The nominated pair's candidates, and the class of the TURN client under a relay (TCP or UDP)."""
    connection = pc.getTransceivers()[0].sender.transport.transport._connection
    pair = connection._nominated[1]
    turn = getattr(pair.protocol.transport, "_TurnTransport__inner_protocol", None)
    return {"local": pair.local_candidate.type, "remote": [pair.remote_candidate.host, pair.remote_candidate.port],
            "turn_client": type(turn).__name__ if turn is not None else None}


async def main() -> None:
    request = json.loads(sys.stdin.readline())
    watch = request["watch"]
    peer = await SignalingPeer.join(request["joined"], use_ice_servers=True)
    try:
        report("joined", session_id=peer.session_id)
        await peer.publish()
        await peer.subscribe_to(watch)
        await eventually(lambda: all(peer.frames[f"{watch}|{t}"] > 0 for t in ("audio", "video")),
                         timeout_s=60, what="audio and video through TURN")
        report("received", frames=dict(peer.frames),
               paths={"publisher": nominated_path(peer.publisher_pc), "subscriber": nominated_path(peer.subscriber_pc)})
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await peer.send({"type": "leave"})
        await peer.close()


if __name__ == "__main__":
    asyncio.run(main())
