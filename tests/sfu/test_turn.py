"""TURN: ``weir serve`` runs coturn when configured, and join hands out time-limited credentials it accepts.

Each credential is tried against the real coturn with aioice's TURN client, over TCP and UDP as the join's URLs
say; the relay it allocates carries a datagram to a UDP peer on 127.0.0.1, the SFU's ICE address, and its answer
back. Other loopback and private addresses are no peers. Forged, expired and re-dated credentials are refused.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aioice.stun import TransactionFailed
from aioice.turn import create_turn_endpoint
from aiortc.rtcicetransport import parse_stun_turn_uri
from typer.testing import CliRunner

from tests.conftest import RunningServer, free_port, from_setup_script
from tests.sfu.signaling_peers import coordinator_join, running_sfu
from tests.sfu.test_whip import create_call
from tests.test_webhooks import WeirProcess, wait_until
from weir.cli import app
from weir.config import Settings
from weir.coordinator.app import create_app
from weir.turn.coturn import Coturn, TurnServerError
from weir.turn.credentials import rest_credentials, turn_urls

Uid = Callable[[str], str]
TTL = 600


def turnserver_binary() -> str:
    """coturn's ``turnserver``: ``WEIR_TURNSERVER`` (from the Makefile), else installed now by scripts/coturn.sh."""
    return from_setup_script("WEIR_TURNSERVER", "coturn.sh")


def turn_settings(listening: str = "127.0.0.1", **more: object) -> dict[str, object]:
    """Settings fields that turn the built-in coturn on, on a free port of ``listening``."""
    return {"turn_enabled": True, "turnserver": turnserver_binary(), "turn_listening_address": listening,
            "turn_port": free_port(), "turn_credential_ttl_seconds": TTL, **more}


class Inbox(asyncio.DatagramProtocol):
    """Keeps the datagrams that arrive, with their senders."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait((data, addr))


async def relay_round_trip(url: str, username: str, password: str, peer_host: str = "127.0.0.1") -> tuple[str, int]:
    """Allocate a relay on the TURN server at ``url``, send a datagram through it to a UDP peer on ``peer_host``
    and get its answer back; the relayed address."""
    parsed = parse_stun_turn_uri(url)
    loop = asyncio.get_running_loop()
    peer_transport, peer = await loop.create_datagram_endpoint(Inbox, local_addr=(peer_host, 0))
    try:  # closed when the allocation is refused too (else collected later: an unraisable ResourceWarning)
        relay, client = await create_turn_endpoint(Inbox, (parsed["host"], parsed["port"]), username, password,
                                                   transport=parsed["transport"])
        try:
            peer_addr = peer_transport.get_extra_info("sockname")
            relay.sendto(b"ping", peer_addr)
            data, relayed_from = await asyncio.wait_for(peer.received.get(), 10)
            assert data == b"ping" and relayed_from == relay.get_extra_info("sockname")
            peer_transport.sendto(b"pong", relayed_from)
            assert await asyncio.wait_for(client.received.get(), 10) == (b"pong", peer_addr)
            return relayed_from
        finally:
            relay.close()
    finally:
        peer_transport.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_sfu("sqlite", tmp_path_factory.mktemp("turn"), **turn_settings()) as running:
        yield running


async def turn_server_of_join(server: RunningServer, user_id: str, uid: Uid) -> dict[str, object]:
    cid = f"default:{uid('c')}"
    await create_call(server, user_id, cid)
    joined = await coordinator_join(server, user_id, cid)
    turn = [s for s in joined["credentials"]["ice_servers"] if s["urls"][0].startswith("turn:")]
    assert len(turn) == 1, joined["credentials"]["ice_servers"]
    return turn[0]


async def test_join_credentials_are_accepted_by_coturn_over_tcp_and_udp(server: RunningServer, uid: Uid) -> None:
    user = uid("u")
    turn = await turn_server_of_join(server, user, uid)
    expiry, named = turn["username"].split(":")  # type: ignore[union-attr]
    assert named == user and abs(int(expiry) - (time.time() + TTL)) < 30
    assert [url.split("?")[1] for url in turn["urls"]] == ["transport=tcp", "transport=udp"]  # type: ignore[union-attr]
    for url in turn["urls"]:  # type: ignore[union-attr]
        relayed = await relay_round_trip(url, turn["username"], turn["password"])  # type: ignore[arg-type]
        assert relayed[0] == "127.0.0.1"


@pytest.mark.parametrize("peer_host", ["127.0.0.2", "127.10.20.30"])
async def test_coturn_relays_to_no_local_address_but_the_sfus(server: RunningServer, uid: Uid, peer_host: str) -> None:
    """The SFU's ICE address is 127.0.0.1; a service on another loopback address is out of the relay's reach."""
    turn = await turn_server_of_join(server, uid("u"), uid)
    for url in turn["urls"]:  # type: ignore[union-attr]
        with pytest.raises(TimeoutError):
            await relay_round_trip(url, turn["username"], turn["password"], peer_host)  # type: ignore[arg-type]
        assert (await relay_round_trip(url, turn["username"], turn["password"]))[0] == "127.0.0.1"  # type: ignore[arg-type]


async def test_coturn_refuses_forged_expired_and_foreign_credentials(server: RunningServer, uid: Uid) -> None:
    user = uid("u")
    turn = await turn_server_of_join(server, user, uid)
    url = turn["urls"][0]  # type: ignore[index]
    secret = Settings(api_secret=server.api_secret).turn_secret
    expired = rest_credentials(secret, user, ttl_seconds=-60)
    forged = (turn["username"], rest_credentials("not-the-secret", user, TTL)[1])
    longer = (f"{int(time.time()) + 10 * TTL}:{user}", turn["password"])  # a later expiry, the old signature
    for username, password in (expired, forged, longer):
        with pytest.raises(TransactionFailed, match="401"):
            await relay_round_trip(url, username, password)  # type: ignore[arg-type]


def running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


async def test_coturn_runs_with_the_server_and_stops_with_it(tmp_path: Path, uid: Uid) -> None:
    config = tmp_path / "turn" / "turnserver.conf"
    with running_sfu("sqlite", tmp_path, **turn_settings()) as server:
        pid = int((tmp_path / "turn" / "turnserver.pid").read_text())
        assert running(pid) and "static-auth-secret" in config.read_text()
        assert config.stat().st_mode & 0o077 == 0  # it holds the secret
        turn = await turn_server_of_join(server, uid("u"), uid)
    assert not running(pid)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", parse_stun_turn_uri(turn["urls"][0])["port"])  # type: ignore[index]


def test_weir_serve_starts_coturn_as_its_child_and_it_dies_with_it(tmp_path: Path) -> None:
    env = {"WEIR_API_KEY": "turn-key", "WEIR_API_SECRET": "turn-secret-" + "x" * 32, "WEIR_TURN_ENABLED": "true",
           "WEIR_TURNSERVER": turnserver_binary(), "WEIR_TURN_PORT": str(free_port())}
    weir = WeirProcess(tmp_path, None, env)
    pid = int((tmp_path / "turn" / "turnserver.pid").read_text())
    assert running(pid) and parent_of(pid) == weir.process.pid
    weir.kill()  # SIGKILL: no shutdown code runs, the kernel tells coturn
    wait_until(lambda: not running(pid), "coturn to stop after weir serve was killed")


def test_a_missing_turnserver_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, **turn_settings(turnserver=str(tmp_path / "no-turnserver")))
    with pytest.raises(TurnServerError, match="turnserver was not found"):
        create_app(settings)
    env = {"WEIR_TURN_ENABLED": "true", "WEIR_TURNSERVER": str(tmp_path / "no-turnserver")}
    result = CliRunner().invoke(app, ["serve", "--data-dir", str(tmp_path), "--port", str(free_port())], env=env)
    assert result.exit_code == 1 and "coturn's turnserver was not found" in result.stderr, result.output


async def test_coturn_will_not_share_a_port(tmp_path: Path) -> None:
    """coturn binds with SO_REUSEPORT and would quietly start beside whatever holds the port."""
    settings = Settings(data_dir=tmp_path, api_secret="s", **turn_settings())
    with socket.create_server(("127.0.0.1", settings.turn_port)):
        with pytest.raises(TurnServerError, match="Address already in use"):
            await Coturn(settings, ("127.0.0.1",)).start()
    assert not (tmp_path / "turn" / "turnserver.pid").exists()


def test_turn_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="WEIR_TURN_RELAY_PORT_MIN"):
        Settings(turn_relay_port_min=60000, turn_relay_port_max=50000)
    with pytest.raises(ValueError, match="WEIR_TURN_RELAY_ADDRESS must be an IP address"):
        Settings(turn_relay_address="turn.example.com")
    with pytest.raises(ValueError, match="WEIR_TURN_PUBLIC_HOST"):
        Settings(turn_enabled=True, turn_listening_address="0.0.0.0")
    assert turn_urls("::1", 3478) == ["turn:[::1]:3478?transport=tcp", "turn:[::1]:3478?transport=udp"]
