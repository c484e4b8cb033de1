"""What the media examples share (not an example itself): SDK clients whose tokens come from a stand-in for your
backend, and waits that print what they see.

The stand-in is the server SDK: it signs tokens with the API secret from WEIR_API_KEY and WEIR_API_SECRET, or
from the .weir/credentials.json that ``make run`` writes; WEIR_URL (default http://127.0.0.1:3030) says where
the server is. The SDK's ICE uses WEIR_ICE_HOST_ADDRESSES like the server's (the tests set 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable

from weir.client import Call, CallParticipantState, SfuTrackType, StreamVideo, StreamVideoOptions, User
from weir.server import Client

PROGRESS_EVERY = 1.0  # seconds between progress lines


def backend() -> Client:
    return Client(data_dir=os.environ.get("WEIR_DATA_DIR", ".weir"))


async def connected_client(server: Client, user_id: str, name: str) -> StreamVideo:
    """A connected client whose token_loader asks "the backend" for ``user_id``'s token."""

    async def token_loader(user_id: str) -> str:
        return server.create_token(user_id, expiration=3600)

    client = StreamVideo.create(server.api_key, user=User.regular(user_id, name=name), token_loader=token_loader,
                                options=StreamVideoOptions(coordinator_rpc_url=server.base_url))
    await client.connect()
    print(f"{name} connected as {user_id}", flush=True)
    return client


async def run_as(user_id: str, name: str, role: Callable[[StreamVideo, argparse.Namespace], Awaitable[None]],
                 args: argparse.Namespace) -> None:
    """Connect ``user_id`` (tokens from "the backend"), play ``role`` with that client, then disconnect."""
    with backend() as server:
        client = await connected_client(server, user_id, name)
        try:
            await role(client, args)
        finally:
            await client.disconnect()


async def other_participant(call: Call, timeout: float, user_id: str | None = None) -> CallParticipantState:
    """The first other participant of the call (``user_id``'s, if given), once there is one."""
    others = await call.partial_state(lambda s: s.other_participants).first(
        lambda ps: any(user_id in (None, p.user_id) for p in ps), timeout)
    return next(p for p in others if user_id in (None, p.user_id))


async def receive(call: Call, who: str, user_id: str, frames: int, timeout: float,
                  kinds: tuple[SfuTrackType, ...] = (SfuTrackType.VIDEO, SfuTrackType.AUDIO)) -> dict[str, int]:
    """Wait until ``frames`` frames of each of ``kinds`` from ``user_id``'s participant are decoded, printing the
    counts every second; raises TimeoutError after ``timeout`` seconds. The participant is looked up each time,
    so a session that reconnected with a new id is followed."""
    deadline = time.monotonic() + timeout
    while True:
        participant = await other_participant(call, max(0.0, deadline - time.monotonic()), user_id)
        counts = {kind.value: call.received_frames(participant, kind) for kind in kinds}
        size = call.received_video_size(participant)
        shown = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        print(f"{who}: received {shown} frames from {participant.name or participant.user_id}"
              + (f" (video {size[0]}x{size[1]})" if size and SfuTrackType.VIDEO in kinds else ""), flush=True)
        if all(n >= frames for n in counts.values()):
            return counts
        if time.monotonic() > deadline:
            raise TimeoutError(f"{who}: fewer than {frames} frames of {shown} within {timeout:.0f} s")
        await asyncio.sleep(PROGRESS_EVERY)
