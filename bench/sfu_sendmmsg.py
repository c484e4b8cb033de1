"""The send half alone: one SRTP packet to each of N destinations, as a socket each with one ``Outlet.send``
apiece (``WEIR_SFU_UDP_MUX=0``), or from one shared socket through a ``Batch`` and one ``sendmmsg``
(weir.sfu.rtc._srtpsend), over loopback.

    .venv/bin/python bench/sfu_sendmmsg.py [--fanout 10 50 200] [--rounds 400]

Each fan-out is a 1000-byte RTP packet protected with AES-128-GCM by each destination's own session. The two
ways alternate six times, back to back; the receivers are drained between runs, never during. Prints per N:
``bench sfu-sendmmsg fanout=<N> single_us=<n> batch_us=<n>``, the median CPU time (process time: user and
kernel) per datagram.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time
from collections.abc import Callable

from pylibsrtp import Policy, Session

from weir.sfu.rtc._srtpsend import Batch, Outlet
from weir.sfu.rtc.srtpsend import PROTECT, session_address
from weir.sfu.rtp import build_packet

REPEATS = 6


def udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def outlet(sock: socket.socket, receiver: socket.socket, batch: Batch | None) -> Outlet:
    policy = Policy(key=bytes(28), srtp_profile=Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
                    ssrc_type=Policy.SSRC_ANY_OUTBOUND)
    policy.allow_repeat_tx = True  # the same packet again and again
    session = Session(policy)
    native = Outlet(PROTECT, session_address(session), session)
    native.aim(sock.fileno(), *receiver.getsockname(), batch)
    return native


def drain(receivers: list[socket.socket]) -> None:
    for receiver in receivers:
        try:
            while True:
                receiver.recv(2048)
        except BlockingIOError:
            pass


def measure(fanout: int, rounds: int) -> tuple[float, float]:
    packet = build_packet(payload_type=96, sequence_number=1, timestamp=3000, ssrc=4242, payload=bytes(988))
    receivers = [udp() for _ in range(fanout)]
    own = [udp() for _ in range(fanout)]
    shared = udp()
    batch = Batch(shared.fileno())
    single = [outlet(sock, receiver, None) for sock, receiver in zip(own, receivers, strict=True)]
    batched = [outlet(shared, receiver, batch) for receiver in receivers]

    def one_by_one() -> None:
        for _ in range(rounds):
            for native in single:
                native.send(packet)

    def in_batches() -> None:
        for _ in range(rounds):
            batch.begin()
            for native in batched:
                native.send(packet)
            batch.flush()

    results: dict[Callable[[], None], list[float]] = {one_by_one: [], in_batches: []}
    for repeat in range(REPEATS):
        order = [one_by_one, in_batches] if repeat % 2 == 0 else [in_batches, one_by_one]
        for run in order:
            drain(receivers)
            start = time.process_time()
            run()
            results[run].append((time.process_time() - start) / (rounds * fanout) * 1e6)
    for sock in [*receivers, *own, shared]:
        sock.close()
    return statistics.median(results[one_by_one]), statistics.median(results[in_batches])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fanout", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--rounds", type=int, default=400, help="packets to each destination per run")
    args = parser.parse_args()
    for fanout in args.fanout:
        single_us, batch_us = measure(fanout, args.rounds)
        print(f"bench sfu-sendmmsg fanout={fanout} single_us={single_us:.2f} batch_us={batch_us:.2f}", flush=True)


if __name__ == "__main__":
    main()
