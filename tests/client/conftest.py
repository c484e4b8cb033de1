"""Client SDK fixtures: ``clients("alice")`` builds a connected ``StreamVideo`` for a user on the test server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import RunningServer
from weir.client import Call, StreamVideo, StreamVideoOptions, User

WAIT = 5.0  # seconds any expected event or state may take to arrive


def options_for(server: RunningServer, **options: Any) -> StreamVideoOptions:
    return StreamVideoOptions(coordinator_rpc_url=server.base_url, **options)


@pytest.fixture
async def clients(server: RunningServer) -> AsyncIterator[Callable[..., Awaitable[StreamVideo]]]:
    """``await clients(user_id, connect=True, token=None, **options)``; every client is disconnected afterwards."""
    made: list[StreamVideo] = []

    async def make(user_id: str, *, connect: bool = True, token: str | None = None, user: User | None = None,
                   **options: Any) -> StreamVideo:
        user = user or User.regular(user_id, name=user_id.split("-")[0].title())
        client = StreamVideo.create(server.api_key, user=user, user_token=token or server.token(user.id),
                                    options=options_for(server, **options))
        made.append(client)
        if connect:
            await client.connect()
        return client

    yield make
    for client in made:
        await client.disconnect()


@dataclass
class Pair:
    """Alice created a call with Bob as a member; ``mine`` and ``theirs`` are each side's ``Call``."""

    alice: StreamVideo
    bob: StreamVideo
    mine: Call
    theirs: Call

    @property
    def alice_id(self) -> str:
        return self.alice.current_user.id

    @property
    def bob_id(self) -> str:
        return self.bob.current_user.id


@pytest.fixture
def pair(clients: Callable[..., Awaitable[StreamVideo]], uid: Callable[[str], str]) -> Callable[..., Awaitable[Pair]]:
    """``await pair(alice_joins=True, bob_joins=True)``: Bob is a member of Alice's new call; each joins if asked
    (Bob otherwise watches it)."""

    async def make(*, alice_joins: bool = True, bob_joins: bool = True) -> Pair:
        alice, bob = await clients(uid("alice")), await clients(uid("bob"))
        call_id = uid("c")
        mine = alice.make_call(id=call_id)
        await mine.get_or_create(member_ids=[bob.current_user.id])
        if alice_joins:
            await mine.join()
        theirs = bob.make_call(id=call_id)
        await (theirs.join() if bob_joins else theirs.get())
        return Pair(alice, bob, mine, theirs)

    return make
