"""Ringing, end to end: a caller rings two callees; one accepts, one declines; the events are printed as the
callees' and the caller's WebSockets receive them.

    make run                        # in one terminal
    python examples/ringing.py      # in another

Credentials come from WEIR_URL, WEIR_API_KEY and WEIR_API_SECRET, or from the .weir/credentials.json that
``make run`` writes. The Python client SDK will wrap the WebSocket part; here it is spelled out with
``websockets`` so every message of the protocol is visible.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import httpx
from websockets.asyncio.client import ClientConnection, connect

from weir.server import Client

RUN = uuid.uuid4().hex[:6]
CALLER, ALICE, BOB = f"caller-{RUN}", f"alice-{RUN}", f"bob-{RUN}"


async def open_events(client: Client, user_id: str) -> ClientConnection:
    """A coordinator WebSocket for ``user_id``: authenticate and wait for ``connection.ok``."""
    ws_url = client.base_url.replace("http", "ws", 1) + f"/api/v1/connect?api_key={client.api_key}"
    ws = await connect(ws_url)
    await ws.send(json.dumps({"token": client.create_token(user_id), "user_details": {"id": user_id}}))
    hello = json.loads(await ws.recv())
    assert hello["type"] == "connection.ok", hello
    print(f"  {user_id:>14} connected ({hello['connection_id'][:8]}…)")
    return ws


async def next_of(ws: ClientConnection, who: str, wanted: str) -> dict:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if event["type"] == wanted:
            detail = event.get("reason") or event.get("user", {}).get("id", "")
            print(f"  {who:>14} ← {event['type']} {detail}")
            return event


def as_user(client: Client, user_id: str) -> httpx.Client:
    """Plain HTTP with ``user_id``'s token: accepting and rejecting are the callee's own requests."""
    return httpx.Client(base_url=f"{client.base_url}/api/v1", params={"api_key": client.api_key},
                        headers={"Authorization": client.create_token(user_id)})


async def main() -> None:
    with Client(data_dir=os.environ.get("WEIR_DATA_DIR", ".weir")) as client:
        client.upsert_users([{"id": CALLER, "name": "Caller"}, {"id": ALICE, "name": "Alice"},
                             {"id": BOB, "name": "Bob"}])
        print("1. Everyone connects")
        caller_ws, alice_ws, bob_ws = [await open_events(client, u) for u in (CALLER, ALICE, BOB)]

        print("2. The caller creates the call with ring: true")
        call = client.video.call("default", f"ring-{RUN}")
        call.get_or_create(data={"created_by_id": CALLER, "members": [{"user_id": u} for u in (CALLER, ALICE, BOB)]},
                           ring=True, video=True)
        ring = await next_of(alice_ws, ALICE, "call.ring")
        await next_of(bob_ws, BOB, "call.ring")
        print(f"     video={ring['video']} session={ring['session_id'][:8]}…")

        print("3. Alice accepts, Bob declines (each with their own token)")
        path = f"/video/call/default/ring-{RUN}"
        with as_user(client, ALICE) as alice, as_user(client, BOB) as bob:
            alice.post(f"{path}/accept").raise_for_status()
            await next_of(caller_ws, CALLER, "call.accepted")
            bob.post(f"{path}/reject", json={"reason": "decline"}).raise_for_status()
            await next_of(caller_ws, CALLER, "call.rejected")

        session = call.get().data.call.session
        print(f"4. accepted_by={sorted(session.accepted_by)} rejected_by={sorted(session.rejected_by)}")
        for ws in (caller_ws, alice_ws, bob_ws):
            await ws.close()


if __name__ == "__main__":
    asyncio.run(main())
