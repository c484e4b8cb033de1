"""One of each real storage server for the whole test session, started on first use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.storage.servers import Azurite, GCSEmulator, LocalServer, MotoS3

KINDS = {"s3": MotoS3, "gcs": GCSEmulator, "abs": Azurite}


@pytest.fixture(scope="session")
def storage_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LocalServer]]:
    started: dict[str, LocalServer] = {}

    class Lazy(dict[str, LocalServer]):
        def __missing__(self, kind: str) -> LocalServer:
            started[kind] = self[kind] = KINDS[kind](tmp_path_factory.mktemp(f"storage-{kind}")).start()
            return started[kind]

    yield Lazy()
    for server in started.values():
        server.close()


@pytest.fixture(params=sorted(KINDS))
def storage_server(request: pytest.FixtureRequest, storage_servers: dict[str, LocalServer]) -> LocalServer:
    """Each backend's server in turn."""
    return storage_servers[request.param]
