"""Shared pieces of the SDK media tests: a server with ICE on 127.0.0.1, and two clients in one call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import RunningServer
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import running_sfu
from weir.client import Call, CallConnectOptions, StreamVideo, TrackOption
from weir.client.state import CallParticipantState

FRAMES = 15  # decoded frames that prove a stream works (half a second of video)
MEDIA_WAIT = 30.0  # seconds media may take to flow (2 shared cores, several encoders)
AV = CallConnectOptions(camera=TrackOption.enabled(), microphone=TrackOption.enabled())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-sdk-media")) as running:
        yield running


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's ICE on 127.0.0.1, as the server's."""
    monkeypatch.setenv("WEIR_ICE_HOST_ADDRESSES", "127.0.0.1")


def other(call: Call) -> CallParticipantState:
    """The one other participant of ``call``."""
    (participant,) = call.state.value.other_participants
    return participant


@dataclass
class Room:
    alice: Call
    bob: Call

    async def flowing(self, *kinds: str, frames: int = FRAMES) -> None:
        """Each side decodes at least ``frames`` more frames of each kind from the other."""
        for call in (self.alice, self.bob):
            await eventually(lambda call=call: len(call.state.value.other_participants) == 1, MEDIA_WAIT,
                             "the other participant")
        start = {(c.cid, id(c), k): c.received_frames(other(c), k) for c in (self.alice, self.bob) for k in kinds}
        await eventually(lambda: all(c.received_frames(other(c), k) >= start[(c.cid, id(c), k)] + frames
                                     for c in (self.alice, self.bob) for k in kinds),
                         MEDIA_WAIT, f"{frames} more {'+'.join(kinds)} frames both ways")


async def settled(count: Callable[[], int], quiet: float = 1.0) -> int:
    """Wait (up to ``MEDIA_WAIT``) until ``count()`` stops growing for ``quiet`` seconds; its value then."""
    deadline = time.monotonic() + MEDIA_WAIT
    last = count()
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet)
        if count() == last:
            return last
        last = count()
    raise AssertionError("the count kept growing")


RoomFactory = Callable[..., Awaitable[Room]]


@pytest.fixture
def room(clients: Callable[..., Awaitable[StreamVideo]], uid: Callable[[str], str]) -> RoomFactory:
    """``await room(alice_options, bob_options)``: the Quickstart for two users, each joining with options."""

    async def make(alice_options: CallConnectOptions = AV, bob_options: CallConnectOptions = AV) -> Room:
        alice, bob = await clients(uid("alice")), await clients(uid("bob"))
        call_id = uid("c")
        mine = alice.make_call(id=call_id)
        await mine.join(create=True, connect_options=alice_options)
        theirs = bob.make_call(id=call_id)
        await theirs.join(connect_options=bob_options)
        return Room(mine, theirs)

    return make
