"""The latency one cascade hop adds: a publisher's track relayed to a second SFU process over SRTP on loopback.

SFU A (this process) receives a synthetic VP8 publisher (30 fps, ~1100-byte packets, 1.5 Mbit/s, keyframes
every 2 s) and fans each packet out to a local subscriber's down-track and to a ``RelayOut`` toward SFU B, a
second process with its own event loop (uvloop, as workers run). B's ``RelayLink`` unprotects, its ``RelayIn``
receiver and a subscriber's down-track there forward the packet. Each payload carries the ``time.monotonic_ns``
at which A's packet was made, just before
A's receiver was called (the clock is shared by every process on the host); each subscriber's sink
takes the difference. The added latency of the hop is B's figure less A's, per percentile.

Also printed: the CPU cost per packet of each end of the relay (protect + send, and receive + unprotect +
receiver), timed in process over ``--packets`` packets.

    python bench/cascade.py [--seconds 10]

Prints ``bench cascade hop packets=<n> added_latency_p50_ms=<n> p99_ms=<n> local_p99_ms=<n>`` and
``bench cascade cpu send_us_per_packet=<n> receive_us_per_packet=<n>``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import struct
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection

import pylibsrtp
import uvloop

from weir.sfu.cascade.link import RelayLink, srtp_session
from weir.sfu.cascade.outbound import RelayOut
from weir.sfu.cascade.wire import RelayTrackSpec, new_key
from weir.sfu.downtrack import DownTrack
from weir.sfu.receiver import Receiver
from weir.sfu.rtp import build_packet

FPS = 30
BITRATE = 1_500_000
PACKET_BYTES = 1100
KEYFRAME_EVERY = 2 * FPS
SPEC = RelayTrackSpec("publisher", "video", "video", "vp8", 90_000, 96, (0x5EED,))
STAMP = struct.Struct("!Q")


def vp8_payload(picture_id: int, start: bool, keyframe: bool, stamp: int) -> bytes:
    descriptor = bytes((0x90 if start else 0x80, 0x80, 0x80 | picture_id >> 8 & 0x7F, picture_id & 0xFF))
    header = bytes((0x00 if keyframe else 0x01,)) if start else b"\x9d"
    return descriptor + header + bytes(PACKET_BYTES - 13) + STAMP.pack(stamp)


def frame(seq: int, number: int) -> Iterator[bytes]:
    """One frame's packets, each stamped as it is made (just before the receiver gets it)."""
    keyframe = number % KEYFRAME_EVERY == 0
    count = max(1, BITRATE // 8 // FPS // PACKET_BYTES) * (4 if keyframe else 1)
    for n in range(count):
        yield build_packet(payload_type=96, sequence_number=(seq + n) & 0xFFFF, timestamp=number * 3000 & 0xFFFFFFFF,
                           ssrc=1, marker=n == count - 1,
                           payload=vp8_payload(number & 0x7FFF, n == 0, keyframe, time.monotonic_ns()))


class LatencySink:
    """A subscriber's sink: how long after its receiver was first called each packet got here."""

    def __init__(self) -> None:
        self.ms: list[float] = []

    def __call__(self, buf: bytearray) -> None:
        (stamp,) = STAMP.unpack_from(buf, len(buf) - STAMP.size)
        self.ms.append((time.monotonic_ns() - stamp) / 1e6)


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


# --- SFU B: the second process ---------------------------------------------------------------------------------
def far_sfu(conn: Connection) -> None:
    uvloop.run(_far_sfu(conn))


async def _far_sfu(conn: Connection) -> None:
    link = RelayLink()
    await link.open("127.0.0.1")
    conn.send(link.address)
    a_address, a_to_b, b_to_a = conn.recv()
    relayed = link.add_peer(a_address, b_to_a, a_to_b, sender_ssrc=2).relay_in(SPEC)
    sink = LatencySink()
    relayed.receiver.add_downtrack(DownTrack(relayed.receiver, sink, ssrc=7, payload_type=96, clock_rate=90_000,
                                             vp8=True))
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # A is done
    conn.send(sink.ms)
    link.close()


# --- SFU A: this process -----------------------------------------------------------------------------------------
async def hop(seconds: float) -> tuple[list[float], list[float]]:
    parent, child = multiprocessing.get_context("spawn").Pipe()
    far = multiprocessing.get_context("spawn").Process(target=far_sfu, args=(child,), daemon=True)
    far.start()
    loop = asyncio.get_running_loop()
    link = RelayLink()
    await link.open("127.0.0.1")
    b_address = await loop.run_in_executor(None, parent.recv)
    a_to_b, b_to_a = new_key(), new_key()
    parent.send((link.address, a_to_b, b_to_a))
    publisher = Receiver(kind="video", vp8=True)
    local = LatencySink()
    publisher.add_downtrack(DownTrack(publisher, local, ssrc=7, payload_type=96, clock_rate=90_000, vp8=True))
    out = link.add_peer(b_address, a_to_b, b_to_a, sender_ssrc=1).relay_out(SPEC, publisher)
    while not out.wanted_layers:  # B's demand arrives
        await asyncio.sleep(0.01)
    seq, start = 0, loop.time()
    for number in range(int(seconds * FPS)):
        for packet in frame(seq, number):
            publisher.receive(packet, 0, time.monotonic_ns())
            seq += 1
        await asyncio.sleep(max(0.0, start + (number + 1) / FPS - loop.time()))
    await asyncio.sleep(0.5)
    parent.send("done")
    remote = await loop.run_in_executor(None, parent.recv)
    far.join(5)
    link.close()
    return local.ms, remote


async def cpu(packets: int) -> tuple[float, float]:
    """Microseconds per packet at the sending end (relay write: copy, header, protect, sendto) and at the
    receiving end (unprotect, parse, buffer, fan out to one down-track)."""
    a, b = RelayLink(), RelayLink()
    await a.open("127.0.0.1")
    await b.open("127.0.0.1")
    a_to_b, b_to_a = new_key(), new_key()
    publisher = Receiver(kind="video", vp8=True)
    out = a.add_peer(b.address, a_to_b, b_to_a, 1).relay_out(SPEC, publisher)
    source = [p for number in range(packets // 5 + 1) for p in frame(number * 40, number)][:packets]
    parsed = [p for packet in source if (p := publisher.receive(packet, 0, 0)) is not None]
    out.demand(frozenset({0}))
    started = time.process_time()
    for p in parsed:
        out.write(p)
    send_us = (time.process_time() - started) * 1e6 / len(parsed)
    tx = srtp_session(a_to_b, pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    datagrams: list[bytes] = []
    capture = RelayOut(SPEC, publisher, lambda buf: datagrams.append(tx.protect(bytes(buf))))
    for p in parsed:
        capture.write(p)
    to_a = b.add_peer(("127.0.0.2", 9), b_to_a, a_to_b, 2)
    relayed = to_a.relay_in(SPEC)
    relayed.receiver.add_downtrack(DownTrack(relayed.receiver, lambda _: None, ssrc=7, payload_type=96,
                                             clock_rate=90_000, vp8=True))
    started = time.process_time()
    for datagram in datagrams:
        to_a.receive(datagram)
    receive_us = (time.process_time() - started) * 1e6 / len(datagrams)
    assert relayed.receiver.counters()[0][0] == len(datagrams)
    a.close()
    b.close()
    return send_us, receive_us


async def main(seconds: float, packets: int) -> None:
    local, remote = await hop(seconds)
    print(f"bench cascade hop packets={len(remote)} "
          f"added_latency_p50_ms={percentile(remote, 50) - percentile(local, 50):.3f} "
          f"p99_ms={percentile(remote, 99) - percentile(local, 99):.3f} local_p99_ms={percentile(local, 99):.3f}")
    send_us, receive_us = await cpu(packets)
    print(f"bench cascade cpu send_us_per_packet={send_us:.1f} receive_us_per_packet={receive_us:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--packets", type=int, default=20_000)
    args = parser.parse_args()
    uvloop.run(main(args.seconds, args.packets))
