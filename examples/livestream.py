"""A livestream: the host creates a ``livestream`` call, publishes camera and microphone from backstage and goes
live; a viewer joins without publishing and counts the frames it receives.

    make run                                            # in one terminal
    python examples/livestream.py host                  # in another (or watch at
                                                        # http://127.0.0.1:3030/join/livestream/livestream-demo)
    python examples/livestream.py viewer                # in a third

The host stays live for ``--seconds``, or until ``--viewers`` viewers have watched and left; then it stops the
live and ends the call. The viewer waits for the call to go live, joins, and leaves after ``--frames`` video
frames. With no camera or microphone the SDK sends its test pattern and tone. Credentials: see
examples/dev_clients.py.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from dev_clients import other_participant, receive, run_as

from weir.client import (
    Call,
    CallConnectOptions,
    StreamCallType,
    StreamVideo,
    TrackOption,
    WeirAPIError,
)

WAIT_FOR_CALL_EVERY = 1.0  # seconds between a viewer's looks for a call that does not exist yet


async def host(client: StreamVideo, args: argparse.Namespace) -> None:
    call = client.make_call(StreamCallType.livestream(), args.call_id)
    await call.join(create=True, connect_options=CallConnectOptions(camera=TrackOption.enabled(),
                                                                     microphone=TrackOption.enabled()))
    print(f"host: joined {call.cid} backstage={call.state.value.is_backstage}, publishing camera and microphone",
          flush=True)
    await call.go_live()
    await call.partial_state(lambda s: s.is_backstage).first(lambda backstage: not backstage, args.seconds)
    print("host: live", flush=True)
    watched: set[str] = set()
    left = 0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline and left < args.viewers:
        await asyncio.sleep(1)
        now = {p.session_id: p.user_id for p in call.state.value.other_participants}
        for session_id in now.keys() - watched:
            print(f"host: {now[session_id]} is watching", flush=True)
        left += len(watched - now.keys())
        watched = set(now)
        print(f"host: {len(watched)} watching, {left} left", flush=True)
    await call.stop_live()
    print("host: live stopped", flush=True)
    await call.leave()  # before end(): leave() waits for the media to close, end() does not
    await call.end()
    print("host: call ended", flush=True)


async def live_call(client: StreamVideo, call_id: str, timeout: float) -> Call:
    """The livestream once it exists and is live."""
    call = client.make_call(StreamCallType.livestream(), call_id)
    deadline = time.monotonic() + timeout
    while True:
        try:
            await call.get()
            break
        except WeirAPIError as error:
            if error.status_code != 404 or time.monotonic() > deadline:
                raise
            print(f"viewer: no call {call.cid} yet", flush=True)
            await asyncio.sleep(WAIT_FOR_CALL_EVERY)
    if call.state.value.is_backstage:
        print("viewer: the host is backstage, waiting for the live", flush=True)
        await call.partial_state(lambda s: s.is_backstage).first(lambda backstage: not backstage, timeout)
    return call


async def viewer(client: StreamVideo, args: argparse.Namespace) -> None:
    call = await live_call(client, args.call_id, args.seconds)
    await call.join()
    print(f"viewer: watching {call.cid}", flush=True)
    streamer = await other_participant(call, args.seconds)
    counts = await receive(call, "viewer", streamer.user_id, args.frames, args.seconds)
    print(f"viewer: done, {counts['video']} video and {counts['audio']} audio frames", flush=True)
    await call.leave()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=["host", "viewer"])
    parser.add_argument("--call-id", default="livestream-demo")
    parser.add_argument("--user-id", help="default: livestream-host / livestream-viewer")
    parser.add_argument("--seconds", type=float, default=300, help="the longest the host stays live, or a viewer "
                        "waits")
    parser.add_argument("--viewers", type=int, default=1_000_000,
                        help="host: stop once this many viewers have watched and left")
    parser.add_argument("--frames", type=int, default=100, help="viewer: leave after this many video frames")
    args = parser.parse_args()
    role, name = (host, "Host") if args.role == "host" else (viewer, "Viewer")
    asyncio.run(run_as(args.user_id or f"livestream-{args.role}", name, role, args))
