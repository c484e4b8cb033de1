"""Datagram fuzzing of a running SFU media worker while two real peers keep exchanging media through it.

Starts a real ``weir serve`` (SQLite, rate limits off, one SFU media worker process, ICE on 127.0.0.1). Two SDK
participants join one call with the synthetic camera and microphone and receive each other. The SFU's UDP
ports are the candidates in the SFU's answers the SDK got (both peers, publisher and subscriber connections);
a separate process then sends ``--datagrams`` malformed and mutated datagrams to them from 127.0.0.1 at most
``--rate`` per second: RTP (some with the peers' real SSRCs), RTCP (SR, RR, SDES, BYE, PLI, FIR, NACK, REMB,
transport-cc), STUN (binding requests, responses, errors with the real ICE usernames) and DTLS records
(ClientHello, alert, ChangeCipherSpec, application data), each either whole or mutated: bit flips, truncation,
corrupted length fields, random bytes spliced in or appended, or random bytes alone.

Meanwhile, every ``--check`` seconds, each peer's count of decoded video frames from the other must have grown,
and the worker process that owns the ports must still be the same, living pid. Loopback only, and bounded by
``--max-seconds``.

    .venv/bin/python bench/fuzz_datagrams.py                      # 1,000,000 datagrams at up to 5,000/s
    .venv/bin/python bench/fuzz_datagrams.py --datagrams 20000

Prints the worker, its ports and the number of SSRCs aimed at, then
``fuzz datagrams sent=<n> seconds=<s> worker_alive=<bool> frames_min_rate=<x>``: ``frames_min_rate`` is the lowest
rate of decoded frames per second over any check interval and either direction. Exits non-zero when the worker died
or changed, a peer's frames stopped, or not every datagram was sent in time.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import socket
import struct
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

from events import free_port
from join import LOOPBACK, connected, weir_serve
from soak import process_tree

from weir.client import Call, CallConnectOptions, SfuTrackType, StreamVideo, SyntheticSource, TrackOption

CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ", re.M | re.I)
SSRC = re.compile(r"^a=ssrc:(\d+) ", re.M)
UFRAG = re.compile(r"^a=ice-ufrag:(\S+)", re.M)
MEDIA_WAIT_S = 60.0
SEED = 12


@dataclass(frozen=True)
class Targets:
    """What the fuzzer aims at: the SFU's UDP ports, the peers' SSRCs, the ICE usernames in use."""

    ports: tuple[int, ...]
    ssrcs: tuple[int, ...]
    usernames: tuple[str, ...]


# --- templates: real-looking datagrams of each protocol ------------------------------------------------------

def rtp(rng: random.Random, ssrcs: tuple[int, ...]) -> bytes:
    """An RTP packet, half with a peer's SSRC, sometimes with a one-byte header extension, padding or CSRCs."""
    ssrc = rng.choice(ssrcs) if ssrcs and rng.random() < 0.5 else rng.getrandbits(32)
    csrcs = rng.choice((0, 0, 0, 2))
    extension = rng.random() < 0.5
    padding = rng.random() < 0.1
    first = 0x80 | (0x20 if padding else 0) | (0x10 if extension else 0) | csrcs
    header = struct.pack("!BBHII", first, (rng.random() < 0.3) << 7 | rng.choice((96, 97, 98, 100, 111, 127)),
                         rng.getrandbits(16), rng.getrandbits(32), ssrc)
    header += b"".join(struct.pack("!I", rng.getrandbits(32)) for _ in range(csrcs))
    if extension:
        elements = bytes([0x10, rng.getrandbits(8), 0x22, rng.getrandbits(8), rng.getrandbits(8), 0, 0, 0])
        header += struct.pack("!HH", 0xBEDE, len(elements) // 4) + elements
    payload = rng.randbytes(rng.randrange(0, 1200))
    if padding:
        payload += bytes(3) + b"\x04"
    return header + payload


def rtcp(rng: random.Random, ssrcs: tuple[int, ...]) -> bytes:
    """A compound RTCP packet of one to three reports and feedback messages."""
    def ssrc() -> int:
        return rng.choice(ssrcs) if ssrcs and rng.random() < 0.7 else rng.getrandbits(32)

    def packet(count: int, kind: int, body: bytes) -> bytes:
        return struct.pack("!BBH", 0x80 | count, kind, len(body) // 4) + body

    def block() -> bytes:
        return struct.pack("!IIIIII", ssrc(), rng.getrandbits(32), rng.getrandbits(32), rng.getrandbits(32),
                           rng.getrandbits(32), rng.getrandbits(32))

    makers: list[Callable[[], bytes]] = [
        lambda: packet(1, 200, struct.pack("!IIIIII", ssrc(), *(rng.getrandbits(32) for _ in range(5))) + block()),
        lambda: packet(2, 201, struct.pack("!I", ssrc()) + block() + block()),
        lambda: packet(1, 202, struct.pack("!IBB", ssrc(), 1, 6) + b"weir!!" + bytes(2)),
        lambda: packet(1, 203, struct.pack("!I", ssrc())),
        lambda: packet(1, 206, struct.pack("!II", ssrc(), ssrc())),  # PLI
        lambda: packet(4, 206, struct.pack("!IIII", ssrc(), 0, ssrc(), rng.getrandbits(8) << 24)),  # FIR
        lambda: packet(1, 205, struct.pack("!IIHH", ssrc(), ssrc(), rng.getrandbits(16), rng.getrandbits(16))),  # NACK
        lambda: packet(15, 206,
                       struct.pack("!II", ssrc(), 0) + b"REMB" + struct.pack("!BBHI", 1, 0x12, 0x3456, ssrc())),
        # transport-cc
        lambda: packet(15, 205, struct.pack("!IIHHIBBH", ssrc(), ssrc(), rng.getrandbits(16), rng.randrange(1, 40),
                                            rng.getrandbits(24) << 8, 0x20, rng.getrandbits(8), 0x2000)),
    ]
    return b"".join(rng.choice(makers)() for _ in range(rng.randrange(1, 4)))


def stun(rng: random.Random, usernames: tuple[str, ...]) -> bytes:
    """A STUN binding request, success or error response, with ICE attributes and a made-up integrity."""
    kind = rng.choice((0x0001, 0x0001, 0x0101, 0x0111, 0x0011))
    attributes = b""

    def attribute(kind_: int, value: bytes) -> bytes:
        return struct.pack("!HH", kind_, len(value)) + value + bytes(-len(value) % 4)

    if usernames and rng.random() < 0.8:
        attributes += attribute(0x0006, rng.choice(usernames).encode())
    attributes += attribute(0x0024, struct.pack("!I", rng.getrandbits(32)))  # PRIORITY
    attributes += attribute(rng.choice((0x8029, 0x802A)), rng.randbytes(8))  # ICE-CONTROLLED / -CONTROLLING
    if rng.random() < 0.3:
        attributes += attribute(0x0025, b"")  # USE-CANDIDATE
    if kind == 0x0101:
        attributes += attribute(0x0020, struct.pack("!BBH", 0, 1, rng.getrandbits(16)) + rng.randbytes(4))
    if kind == 0x0111:
        attributes += attribute(0x0009, struct.pack("!HBB", 0, 4, 87) + b"Role Conflict")
    attributes += attribute(0x0008, rng.randbytes(20))  # MESSAGE-INTEGRITY
    attributes += attribute(0x8028, rng.randbytes(4))  # FINGERPRINT
    return struct.pack("!HHI", kind, len(attributes), 0x2112A442) + rng.randbytes(12) + attributes


def dtls(rng: random.Random) -> bytes:
    """One or two DTLS 1.2 records: a ClientHello, an alert, a ChangeCipherSpec or application data."""
    def record(content: int, epoch: int, body: bytes) -> bytes:
        return struct.pack("!BHH", content, 0xFEFD, epoch) + rng.getrandbits(48).to_bytes(6, "big") + \
            struct.pack("!H", len(body)) + body

    def client_hello() -> bytes:
        hello = (struct.pack("!H", 0xFEFD) + rng.randbytes(32) + b"\x00" + b"\x00" + struct.pack("!H", 4)
                 + b"\xc0\x2b\xc0\x2f" + b"\x01\x00" + struct.pack("!H", 8) + b"\x00\x0e\x00\x04\x00\x02\x00\x01")
        return struct.pack("!B", 1) + len(hello).to_bytes(3, "big") + struct.pack("!H", rng.getrandbits(16)) + \
            bytes(3) + len(hello).to_bytes(3, "big") + hello

    makers: list[Callable[[], bytes]] = [
        lambda: record(22, 0, client_hello()),
        lambda: record(21, rng.choice((0, 1)), bytes([rng.choice((1, 2)), rng.choice((0, 10, 20, 40, 80))])),
        lambda: record(20, 0, b"\x01"),
        lambda: record(23, 1, rng.randbytes(rng.randrange(16, 300))),
        lambda: record(22, 1, rng.randbytes(rng.randrange(16, 120))),
    ]
    return b"".join(rng.choice(makers)() for _ in range(rng.randrange(1, 3)))


# --- mutations -----------------------------------------------------------------------------------------------

def mutate(rng: random.Random, data: bytes) -> bytes:
    """The template whole (one in eight), or after one to three of: bit flips, truncation, a corrupted length
    field, random bytes spliced in or appended, a duplicated tail."""
    if rng.random() < 0.125 or not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        choice = rng.randrange(6)
        if choice == 0 and out:
            for _ in range(rng.randrange(1, 9)):
                out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        elif choice == 1 and out:
            del out[rng.randrange(len(out)):]
        elif choice == 2 and len(out) >= 4:  # the 16-bit word where RTP/RTCP/STUN/DTLS keep counts and lengths
            at = rng.choice([o for o in (2, 3, 11, 12) if o + 2 <= len(out)] or [0])
            out[at:at + 2] = struct.pack("!H", rng.choice((0, 1, 0xFFFF, 0x7FFF, len(out), rng.getrandbits(16))))
        elif choice == 3:
            at = rng.randrange(len(out) + 1)
            out[at:at] = rng.randbytes(rng.randrange(1, 32))
        elif choice == 4:
            out += rng.randbytes(rng.randrange(1, 64))
        elif out:
            out += out[rng.randrange(len(out)):]
    return bytes(out[:1500])


def datagram(rng: random.Random, targets: Targets) -> bytes:
    """One fuzz datagram: a mutated template of a random protocol, or (one in sixteen) random bytes alone."""
    choice = rng.randrange(16)
    if choice == 0:
        return rng.randbytes(rng.randrange(0, 1500))
    if choice <= 5:
        template = rtp(rng, targets.ssrcs)
    elif choice <= 9:
        template = rtcp(rng, targets.ssrcs)
    elif choice <= 12:
        template = stun(rng, targets.usernames)
    else:
        template = dtls(rng)
    return mutate(rng, template)


def send_fuzz(targets: Targets, total: int, rate: float, max_seconds: float, sent: Synchronized) -> None:  # type: ignore[type-arg]
    """The sender process: ``total`` datagrams round-robin over the ports, paced in 10-ms slices."""
    rng = random.Random(SEED)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    addresses = [(LOOPBACK, port) for port in targets.ports]
    started = time.monotonic()
    count = 0
    while count < total and time.monotonic() - started < max_seconds:
        due = min(total, int((time.monotonic() - started + 0.01) * rate))
        while count < due:
            try:
                sock.sendto(datagram(rng, targets), addresses[count % len(addresses)])
            except OSError:  # a full socket buffer (ENOBUFS/EAGAIN): the datagram is counted as not sent
                time.sleep(0.001)
                continue
            count += 1
        sent.value = count
        time.sleep(0.01)
    sent.value = count


# --- the call ------------------------------------------------------------------------------------------------

def targets_of(calls: list[Call]) -> Targets:
    """The SFU's loopback ports, the peers' SSRCs and the ICE usernames, from both peers' connections."""
    ports: set[int] = set()
    ssrcs: set[int] = set()
    usernames: set[str] = set()
    for call in calls:
        session = call._sfu  # noqa: SLF001  # the fuzzer aims at what the SDK negotiated
        assert session is not None and session.publisher is not None
        for pc in (session.publisher.pc, session.subscriber.pc):
            remote, local = pc.remoteDescription.sdp, pc.localDescription.sdp
            ports |= {int(port) for address, port in CANDIDATE.findall(remote) if address == LOOPBACK}
            ssrcs |= {int(s) for s in SSRC.findall(remote) + SSRC.findall(local)}
            for theirs, ours in zip(UFRAG.findall(remote), UFRAG.findall(local), strict=False):
                usernames |= {f"{theirs}:{ours}", f"{ours}:{theirs}"}
    if not ports:
        raise RuntimeError("no loopback candidate in the SFU's answers")
    return Targets(tuple(sorted(ports)), tuple(sorted(ssrcs)), tuple(sorted(usernames)))


def udp_owner(ports: tuple[int, ...], pids: list[int]) -> set[int]:
    """The processes among ``pids`` holding a UDP socket bound to one of ``ports``."""
    inodes: set[str] = set()
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) in ports:
            inodes.add(f"socket:[{fields[9]}]")
    owners = set()
    for pid in pids:
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if links & inodes:
            owners.add(pid)
    return owners


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


async def join_both(base: str) -> tuple[list[StreamVideo], list[Call]]:
    call_id = f"fuzz-{uuid.uuid4().hex[:8]}"
    clients = [await connected(base, f"fuzz-peer-{i}") for i in range(2)]
    calls = [client.make_call(id=call_id) for client in clients]
    media = CallConnectOptions(camera=TrackOption.enabled(SyntheticSource()),
                               microphone=TrackOption.enabled(SyntheticSource()))
    for call in calls:
        await call.join(create=True, connect_options=media)
    return clients, calls


def connection_states(calls: list[Call]) -> list[str]:
    """Each peer's publisher and subscriber connection: ICE, DTLS and connection state, for a failure report."""
    states = []
    for call in calls:
        session = call._sfu  # noqa: SLF001
        if session is None or session.publisher is None:
            states.append("no SFU session")
            continue
        for name, pc in (("publisher", session.publisher.pc), ("subscriber", session.subscriber.pc)):
            dtls = pc.getTransceivers()[0].receiver.transport if pc.getTransceivers() else None
            states.append(f"{name} ice={pc.iceConnectionState} dtls={dtls.state if dtls else None} "
                          f"pc={pc.connectionState}")
    return states


def video_from_other(call: Call, track: SfuTrackType = SfuTrackType.VIDEO) -> int:
    return sum(call.received_frames(p.session_id, track) for p in call.state.value.other_participants)


async def wait_for_media(calls: list[Call]) -> None:
    deadline = time.monotonic() + MEDIA_WAIT_S
    while not all(video_from_other(call) > 0 for call in calls):
        if time.monotonic() > deadline:
            raise RuntimeError("the peers received no video before fuzzing")
        await asyncio.sleep(0.2)


async def campaign(base: str, server_pid: int, args: argparse.Namespace) -> tuple[str, list[str]]:
    clients, calls = await join_both(base)
    failed: list[str] = []
    try:
        await wait_for_media(calls)
        targets = targets_of(calls)
        owners = udp_owner(targets.ports, process_tree(server_pid))
        if len(owners) != 1 or server_pid in owners:
            raise RuntimeError(f"expected one worker process owning {targets.ports}, found {owners}")
        worker = owners.pop()
        print(f"fuzzing worker pid={worker} ports={list(targets.ports)} ssrcs={len(targets.ssrcs)}", flush=True)
        sent = multiprocessing.Value("q", 0)
        sender = multiprocessing.Process(target=send_fuzz, daemon=True,
                                         args=(targets, args.datagrams, args.rate, args.max_seconds, sent))
        started = time.monotonic()
        sender.start()
        before = [video_from_other(call) for call in calls]
        checked = time.monotonic()
        min_rate = float("inf")
        while sender.is_alive() or sender.exitcode is None:
            await asyncio.sleep(args.check)
            now = time.monotonic()
            counts = [video_from_other(call) for call in calls]
            rates = [(after - prior) / (now - checked) for after, prior in zip(counts, before, strict=True)]
            min_rate = min(min_rate, *rates)
            if not alive(worker):
                failed.append(f"worker {worker} died after {sent.value} datagrams")
            if any(after <= prior for after, prior in zip(counts, before, strict=True)):
                failed.append(f"frames stopped after {sent.value} datagrams: {before} -> {counts}; "
                              f"audio frames now {[video_from_other(c, SfuTrackType.AUDIO) for c in calls]}; "
                              f"connections: {connection_states(calls)}")
            before, checked = counts, now
            if failed or not sender.is_alive():
                break
        sender.terminate()
        sender.join()
        seconds = time.monotonic() - started
        worker_alive = alive(worker) and udp_owner(targets.ports, [worker]) == {worker}
        if sent.value < args.datagrams:
            failed.append(f"only {sent.value} of {args.datagrams} datagrams sent within {args.max_seconds:g} s")
        if not worker_alive:
            failed.append(f"worker {worker} is gone or no longer owns the ports")
        line = (f"fuzz datagrams sent={sent.value} seconds={seconds:.0f} worker_alive={str(worker_alive).lower()} "
                f"frames_min_rate={min_rate:.1f}")
        return line, failed
    finally:
        for client, call in zip(clients, calls, strict=True):
            await call.leave()
            await client.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datagrams", type=int, default=1_000_000, help="datagrams to send")
    parser.add_argument("--rate", type=float, default=5000, help="at most this many datagrams per second")
    parser.add_argument("--max-seconds", type=float, default=600, help="stop sending after this long")
    parser.add_argument("--check", type=float, default=3.0, help="seconds between the checks of frames and worker")
    args = parser.parse_args()
    os.environ["WEIR_ICE_HOST_ADDRESSES"] = LOOPBACK  # the SDK's ICE, as the server's
    with weir_serve(free_port(), WEIR_SFU_WORKERS="1") as (base, server):
        line, failed = asyncio.run(campaign(base, server.pid, args))
    print(line, flush=True)
    if failed:
        sys.exit("; ".join(failed))


if __name__ == "__main__":
    main()
