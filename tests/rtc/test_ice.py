"""ICE configuration: which addresses and ports the media plane (SFU and SDK) gathers, advertises and binds."""

from __future__ import annotations

import asyncio
import socket
import struct
import subprocess
import sys

import pytest

from tests.sfu.rtc_peers import LOOPBACK
from weir.rtc.config import IceConfig
from weir.rtc.ice import HostConnection, parse_candidate


def test_config_reads_addresses_and_port_range_from_the_environment() -> None:
    config = IceConfig.from_env(
        {"WEIR_ICE_HOST_ADDRESSES": " 127.0.0.1, ::1 ,", "WEIR_ICE_PORT_MIN": "40000", "WEIR_ICE_PORT_MAX": "40010"}
    )
    assert (config.host_addresses, config.port_min, config.port_max) == (("127.0.0.1", "::1"), 40000, 40010)


@pytest.mark.parametrize(
    "env",
    [
        {"WEIR_ICE_HOST_ADDRESSES": "localhost"},
        {"WEIR_ICE_HOST_ADDRESSES": "127.0.0.1", "WEIR_ICE_PORT_MIN": "x"},
        {"WEIR_ICE_HOST_ADDRESSES": "127.0.0.1", "WEIR_ICE_PORT_MIN": "50000"},
        {"WEIR_ICE_HOST_ADDRESSES": "127.0.0.1", "WEIR_ICE_PORT_MIN": "50010", "WEIR_ICE_PORT_MAX": "50000"},
        {"WEIR_ICE_HOST_ADDRESSES": "127.0.0.1", "WEIR_ICE_PORT_MIN": "1", "WEIR_ICE_PORT_MAX": "70000"},
    ],
)
def test_bad_configuration_is_refused_with_a_reason(env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        IceConfig.from_env(env)


def test_with_only_loopback_the_default_is_127_0_0_1() -> None:
    """In a network namespace of its own (only ``lo``), nothing needs configuring."""
    code = "from weir.rtc.config import IceConfig; print(IceConfig.from_env({}).host_addresses)"
    out = subprocess.run(["unshare", "-n", sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "('127.0.0.1',)"


async def test_only_the_configured_addresses_and_ports_are_gathered() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        low = probe.getsockname()[1]
    config = IceConfig(host_addresses=("127.0.0.1",), port_min=low, port_max=low + 1)
    first, second, third = (HostConnection(config, controlling=False) for _ in range(3))
    for connection in (first, second, third):
        await connection.gather_candidates()
    ports = []
    for connection in (first, second):
        (candidate,) = connection.local_candidates
        assert (candidate.host, candidate.type, candidate.transport) == ("127.0.0.1", "host", "udp")
        ports.append(candidate.port)
    assert sorted(ports) == [low, low + 1]
    assert third.local_candidates == []  # the range is used up: nothing to advertise, nothing bound elsewhere
    for connection in (first, second, third):
        await connection.close()


async def test_loopback_is_gathered_although_aioice_skips_it_by_default() -> None:
    connection = HostConnection(LOOPBACK, controlling=True)
    await connection.gather_candidates()
    assert [c.host for c in connection.local_candidates] == ["127.0.0.1"]
    await connection.close()


def test_candidates_are_parsed_with_or_without_their_prefix() -> None:
    line = "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"
    assert parse_candidate(line).port == parse_candidate(line.removeprefix("candidate:")).port == 5000
    for bad in ("candidate:1 1 udp", "1 x udp 1 127.0.0.1 5000 typ host", "1 1 udp 1 127.0.0.1 0 typ host"):
        with pytest.raises(ValueError):
            parse_candidate(bad)


async def test_a_stun_message_with_a_short_attribute_is_dropped_without_a_traceback() -> None:
    """Found by bench/fuzz_datagrams.py: a PRIORITY attribute of 2 bytes made aioice's parser raise an error no
    one caught, so every such datagram logged a traceback in the worker."""
    loop = asyncio.get_running_loop()
    uncaught: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: uncaught.append(context))
    connection = HostConnection(LOOPBACK, controlling=False)
    await connection.gather_candidates()
    (candidate,) = connection.local_candidates
    short_priority = struct.pack("!HH", 0x0024, 2) + b"\x00\x01" + bytes(2)
    malformed = struct.pack("!HHI", 0x0001, len(short_priority), 0x2112A442) + bytes(12) + short_priority
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(malformed, (candidate.host, candidate.port))
        sender.sendto(b"\x80after", (candidate.host, candidate.port))  # not STUN: queued once the first is handled
        assert await asyncio.wait_for(connection._queue.get(), 10) == (b"\x80after", 1)
    await connection.close()
    loop.set_exception_handler(None)
    assert uncaught == []
