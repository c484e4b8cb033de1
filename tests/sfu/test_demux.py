"""The media port's demultiplexer (RFC 7983): each first-byte range reaches its sink, junk is counted, never raised."""

from __future__ import annotations

import random
from typing import Any

import pytest

from weir.sfu.rtc.demux import DROP_REASONS, Demux

ADDR = ("127.0.0.1", 5000)


class Sinks:
    def __init__(self) -> None:
        self.got: list[tuple[str, bytes]] = []

    def demux(self) -> Demux:
        return Demux(self.stun, lambda data: self.got.append(("dtls", data)),
                     lambda data: self.got.append(("media", data)))

    def stun(self, data: bytes, addr: tuple[Any, ...]) -> None:
        assert addr == ADDR
        self.got.append(("stun", data))


@pytest.mark.parametrize(("first", "sink"), [
    (0, "stun"), (1, "stun"), (3, "stun"),
    (20, "dtls"), (22, "dtls"), (63, "dtls"),
    (128, "media"), (0x80 | 0x3F, "media"), (191, "media"),
])
def test_each_range_reaches_its_sink(first: int, sink: str) -> None:
    sinks = Sinks()
    demux = sinks.demux()
    datagram = bytes([first]) + b"rest"
    demux(datagram, ADDR)
    assert sinks.got == [(sink, datagram)]
    assert not any(demux.dropped.values())


@pytest.mark.parametrize(("datagram", "reason"), [
    (b"", "empty"),
    (bytes([16]) + b"zrtp", "zrtp"), (bytes([19]), "zrtp"),
    (bytes([64, 0, 0, 4]) + b"data", "turn_channel"), (bytes([79]), "turn_channel"),
    (bytes([4]), "unknown"), (bytes([15]), "unknown"), (bytes([80]), "unknown"), (bytes([127]), "unknown"),
    (bytes([192]), "unknown"), (bytes([255]), "unknown"),
])
def test_junk_is_dropped_with_its_reason(datagram: bytes, reason: str) -> None:
    sinks = Sinks()
    demux = sinks.demux()
    demux(datagram, ADDR)
    assert sinks.got == []
    assert demux.dropped == {r: int(r == reason) for r in DROP_REASONS}


def test_random_datagrams_never_raise_and_are_all_accounted_for() -> None:
    sinks = Sinks()
    demux = sinks.demux()
    rng = random.Random(7983)
    datagrams = [rng.randbytes(rng.randrange(0, 40)) for _ in range(5000)]
    for datagram in datagrams:
        demux(datagram, ADDR)
    assert len(sinks.got) + sum(demux.dropped.values()) == len(datagrams)
    assert {sink for sink, _ in sinks.got} == {"stun", "dtls", "media"}
