"""Client SDK fixtures: ``clients("alice")`` builds a connected ``StreamVideo`` for a user on the test server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.conftest import RunningServer
from weir.client import StreamVideo, StreamVideoOptions, User

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
