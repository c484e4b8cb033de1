"""A ringing call between two SDK clients: the caller rings the callee, the callee accepts (or, with
``--reject``, declines), both join and exchange video and audio.

    make run                                              # in one terminal
    python examples/ringing_call.py callee                # in another: bob waits for a call
    python examples/ringing_call.py caller                # in a third: alice rings bob
    python examples/ringing_call.py callee --reject       # ... or bob declines

Each side leaves once it has received ``--frames`` video frames from the other and has heard (through a custom
event) that the other has too, so neither hangs up on the other early. Credentials: see examples/dev_clients.py.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

from dev_clients import receive, run_as

from weir.client import Call, CallConnectOptions, CallRejectReason, StreamCallType, StreamVideo, TrackOption
from weir.protocol.events import CallAcceptedEvent, CallRejectedEvent, CustomVideoEvent

CAMERA_AND_MICROPHONE = CallConnectOptions(camera=TrackOption.enabled(), microphone=TrackOption.enabled())


async def talk(call: Call, who: str, other_user_id: str, args: argparse.Namespace) -> None:
    """Join with camera and microphone, receive ``--frames`` from the other side, say so with a custom event, and
    leave once the other side has said so too."""
    async with call.events.subscribe() as events:
        await call.join(connect_options=CAMERA_AND_MICROPHONE)
        print(f"{who}: joined {call.cid}, sending camera and microphone", flush=True)
        counts = await receive(call, who, other_user_id, args.frames, args.seconds)
        print(f"{who}: got {counts['video']} video and {counts['audio']} audio frames", flush=True)
        await call.send_custom_event("media-received")
        await events.first(lambda e: isinstance(e, CustomVideoEvent) and e.user.id == other_user_id, args.seconds)
        print(f"{who}: {other_user_id} has received media too", flush=True)
    await call.leave()
    print(f"{who}: left", flush=True)


async def caller(client: StreamVideo, args: argparse.Namespace) -> None:
    call = client.make_call(StreamCallType.default_type(), args.call_id or f"ring-{uuid.uuid4().hex[:8]}")
    async with call.events.subscribe() as events:
        await call.get_or_create(member_ids=[args.callee], ringing=True, video=True)
        print(f"caller: ringing {args.callee} ({call.cid}), status {call.state.value.status}", flush=True)
        answer = await events.first(lambda e: isinstance(e, (CallAcceptedEvent, CallRejectedEvent)), args.seconds)
    if isinstance(answer, CallRejectedEvent):
        print(f"caller: {answer.user.id} rejected the call ({answer.reason}), status {call.state.value.status}",
              flush=True)
        return
    print(f"caller: {answer.user.id} accepted the call", flush=True)
    await talk(call, "caller", args.callee, args)


async def callee(client: StreamVideo, args: argparse.Namespace) -> None:
    print(f"callee: {client.current_user.id} waiting for a call", flush=True)
    incoming = await client.state.incoming_call.partial(lambda c: c).first(lambda c: c is not None, args.seconds)
    assert incoming is not None
    state = incoming.state.value
    print(f"callee: incoming call {incoming.cid} from {state.created_by_user_id}, status {state.status}", flush=True)
    if args.reject:
        await incoming.reject(CallRejectReason.DECLINE)
        print(f"callee: rejected, status {incoming.state.value.status}", flush=True)
        return
    await incoming.accept()
    print("callee: accepted", flush=True)
    await talk(incoming, "callee", state.created_by_user_id, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=["caller", "callee"])
    parser.add_argument("--user-id", help="default: alice (caller), bob (callee)")
    parser.add_argument("--callee", default="bob", help="caller: whom to ring")
    parser.add_argument("--call-id", help="caller: default a new call")
    parser.add_argument("--reject", action="store_true", help="callee: decline instead of accepting")
    parser.add_argument("--frames", type=int, default=60, help="video frames each side receives before leaving")
    parser.add_argument("--seconds", type=float, default=120, help="the longest any step may wait")
    args = parser.parse_args()
    user_id = args.user_id or ("alice" if args.role == "caller" else "bob")
    asyncio.run(run_as(user_id, user_id.title(), caller if args.role == "caller" else callee, args))
