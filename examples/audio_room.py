"""An audio room with a request to speak: the host opens an ``audio_room`` call, speaks and goes live; a
listener joins, hears the host, asks to speak (``request_permissions([send-audio])``), the host grants it from
its ``on_permission_request`` handler, the listener turns on its microphone and the host hears the listener.

    make run                                   # in one terminal
    python examples/audio_room.py              # in another

Both users run in this one process; with no microphone the SDK sends its 440 Hz tone. Each side stops
listening after ``--frames`` audio frames (20 ms each). Credentials: see examples/dev_clients.py.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

from dev_clients import backend, connected_client, receive

from weir.client import CallConnectOptions, CallPermission, SfuTrackType, StreamCallType, TrackOption
from weir.protocol.events import PermissionRequestEvent

AUDIO = (SfuTrackType.AUDIO,)


async def main(args: argparse.Namespace) -> None:
    run = uuid.uuid4().hex[:6]
    with backend() as server:
        host_client = await connected_client(server, f"host-{run}", "Host")
        listener_client = await connected_client(server, f"listener-{run}", "Listener")
        try:
            room = host_client.make_call(StreamCallType.audio_room(), args.call_id or f"room-{run}")
            await room.join(create=True, connect_options=CallConnectOptions(microphone=TrackOption.enabled()))
            print(f"host: joined {room.cid} backstage={room.state.value.is_backstage}, speaking", flush=True)
            await room.go_live()
            await room.partial_state(lambda s: s.is_backstage).first(lambda backstage: not backstage, args.seconds)
            print("host: live", flush=True)

            async def grant(request: PermissionRequestEvent) -> None:
                print(f"host: {request.user.id} asks for {', '.join(request.permissions)}; granting", flush=True)
                await room.grant_permissions(request.user.id, request.permissions)

            room.on_permission_request = grant

            seat = listener_client.make_call(StreamCallType.audio_room(), room.id)
            await seat.join()
            print(f"listener: joined, can speak: {seat.has_permission(CallPermission.SEND_AUDIO)}", flush=True)
            await receive(seat, "listener", host_client.current_user.id, args.frames, args.seconds, kinds=AUDIO)

            await seat.request_permissions([CallPermission.SEND_AUDIO])
            print("listener: asked to speak", flush=True)
            await seat.partial_state(lambda s: CallPermission.SEND_AUDIO.value in s.own_capabilities).first(
                bool, args.seconds)
            print("listener: permission granted: send-audio", flush=True)
            await seat.set_microphone_enabled(True)
            print("listener: speaking", flush=True)
            counts = await receive(room, "host", listener_client.current_user.id, args.frames, args.seconds,
                                   kinds=AUDIO)
            print(f"host: heard the listener: {counts['audio']} audio frames", flush=True)

            await seat.leave()
            await room.leave()
            await room.end()
            print("host: room ended", flush=True)
        finally:
            await listener_client.disconnect()
            await host_client.disconnect()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--call-id", help="default: a new room")
    parser.add_argument("--frames", type=int, default=50, help="audio frames each side hears before going on")
    parser.add_argument("--seconds", type=float, default=60, help="the longest any step may wait")
    asyncio.run(main(parser.parse_args()))
