"""End-to-end SFU forwarding: one WHIP publisher process, N WHEP subscribers in processes of their own, real SRTP
over UDP on loopback through a ``weir serve`` with one SFU media worker process.

The publisher sends VP8-shaped RTP (``--video-kbps``, 30 frames a second, a keyframe every two seconds) and
Opus-shaped RTP (50 packets a second), each packet carrying its send time (``CLOCK_REALTIME`` ns, taken right
before the packet is protected and sent) in its last 8 bytes. Both ends are lean clients on the SFU's own ICE and
DTLS-SRTP transport (aioice, aiortc's DTLS, pylibsrtp): the subscribers read their sockets and decrypt every
packet, but decode nothing. After every subscriber has received video for ``--warmup`` seconds (at least the
coordinator's admission window, 10 s here, and a second: each join's one-off admission check has run), a window
of ``--seconds`` is measured:

- SFU CPU: utime + stime from /proc of ``weir serve`` and its worker (the whole tree; the worker alone is
  printed too);
- forwarded packets: those the subscribers received, sent inside the window;
- added latency: the kernel's receive timestamp of the datagram at the subscriber's socket (``SO_TIMESTAMPNS``,
  ``recvmsg`` ancillary data) minus the send time (p50, p99): the SFU's hop, without the time the subscriber
  process took to get scheduled and decrypt (that application-level figure, read after decryption, is printed
  on a ``#`` line);
- loss: 1 - received / (sent in the window x N);
- with ``--idle`` (default 5 s, 0 skips it): afterwards the publisher pauses, every subscriber staying
  connected, and the CPU of the worker and of ``weir serve`` is measured again: the fixed cost of N subscribers
  (timers, RTCP, ICE consent, stats, keep-alives), printed against the sending window's on a ``#`` line.

    .venv/bin/python bench/sfu_e2e.py                 # N = 10, 50, 200
    .venv/bin/python bench/sfu_e2e.py --fanout 50 --seconds 20
    .venv/bin/python bench/sfu_e2e.py --fanout 50 --send python native   # both RTP send paths, back to back
    .venv/bin/python bench/sfu_e2e.py --fanout 50 --mux off on           # a socket per transport, then shared

Prints ``bench sfu-e2e fanout=<N> pps_per_cpu_second=<n> added_latency_p50_ms=<n> p99_ms=<n> loss_pct=<n>`` per
N (with ``send=<path>`` when several ``--send`` paths are compared: ``WEIR_SFU_NATIVE_SEND`` for the server,
weir.sfu.rtc.srtpsend; with ``mux=<on|off>`` likewise for ``--mux``: ``WEIR_SFU_UDP_MUX``, weir.sfu.rtc.udpmux).
Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import random
import socket
import statistics
import struct
import subprocess
import sys
import time
from array import array
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Lock
from pathlib import Path
from typing import Any

import httpx
from events import free_port
from join import API_KEY, API_SECRET, LOOPBACK, weir_serve
from soak import process_tree

from weir.domain.tokens import create_token
from weir.rtc import ice
from weir.rtc.config import IceConfig
from weir.rtc.ice import bind_udp
from weir.rtc.sdp import parse
from weir.sfu.rtc.dtls import MediaCertificate, PacketHandler
from weir.sfu.rtc.negotiate import remote_transport
from weir.sfu.rtc.transport import LocalTransport, PeerTransport
from weir.sfu.rtp import RtpHeader, build_packet

ICE = IceConfig(host_addresses=(LOOPBACK,), connect_timeout_s=30)
VIDEO_PT, AUDIO_PT = 96, 111
VIDEO_CLOCK, AUDIO_CLOCK = 90_000, 48_000
FPS = 30
AUDIO_INTERVAL_S = 0.02
AUDIO_PAYLOAD = 100
MTU_PAYLOAD = 1100
KEYFRAME_EVERY = 2 * FPS
ABS_SEND_TIME_ID = 3
STAMP = struct.Struct("!Q")
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value; Python 3.11 does not name it
TIMESPEC = struct.Struct("@qq")  # struct timespec on a 64-bit Linux
TIMESTAMP_SPACE = socket.CMSG_SPACE(TIMESPEC.size)
LAST_RECEIVED = [0]  # the kernel's receive timestamp (ns) of the datagram this process read last
SDP_HEADERS = {"Content-Type": "application/sdp"}


@dataclass(frozen=True)
class Plan:
    base: str
    cid: str
    warmup_s: float
    seconds: float
    video_kbps: int
    secret: str  # the server's API secret (a spawned process would draw another one importing join.py)


def offer(local: LocalTransport, *, send: bool, video_ssrc: int = 0, audio_ssrc: int = 0) -> str:
    """A BUNDLEd audio + video offer: sendonly with these SSRCs (WHIP), or recvonly (WHEP)."""
    lines = ["v=0", f"o=- {random.getrandbits(40)} 1 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1",
             "a=msid-semantic: WMS *"]
    transport = [f"a=ice-ufrag:{local.ufrag}", f"a=ice-pwd:{local.pwd}",
                 f"a=fingerprint:{local.fingerprint[0]} {local.fingerprint[1]}", "a=setup:actpass",
                 *(f"a=candidate:{c}" for c in local.candidates), "a=end-of-candidates"]
    for mid, (kind, pt, codec, ssrc) in enumerate((("audio", AUDIO_PT, "opus/48000/2", audio_ssrc),
                                                   ("video", VIDEO_PT, "VP8/90000", video_ssrc))):
        lines += [f"m={kind} 9 UDP/TLS/RTP/SAVPF {pt}", "c=IN IP4 0.0.0.0", *transport, f"a=mid:{mid}",
                  "a=sendonly" if send else "a=recvonly", "a=rtcp-mux", f"a=rtpmap:{pt} {codec}"]
        if kind == "video":
            lines += [f"a=rtcp-fb:{pt} nack", f"a=rtcp-fb:{pt} nack pli", f"a=rtcp-fb:{pt} goog-remb"]
            if not send:
                lines.append(f"a=extmap:{ABS_SEND_TIME_ID} http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time")
        if send:
            lines += [f"a=msid:bench {kind}", f"a=ssrc:{ssrc} cname:bench", f"a=ssrc:{ssrc} msid:bench {kind}"]
    return "\r\n".join(lines) + "\r\n"


async def open_session(plan: Plan, path: str, user_id: str, transport: PeerTransport,
                       sdp_for: Callable[[LocalTransport], str]) -> None:
    """POST our offer to ``path`` (WHIP or WHEP) as ``user_id`` and apply the SFU's answer."""
    await transport.gather()
    local = transport.local("actpass")
    sdp = sdp_for(local)
    token = create_token(plan.secret, user_id)
    async with httpx.AsyncClient(base_url=plan.base, params={"api_key": API_KEY}, timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        response = await client.post(f"{path}/{plan.cid.replace(':', '/')}", content=sdp, headers=SDP_HEADERS)
    if response.status_code != 201:
        raise RuntimeError(f"{path}: {response.status_code} {response.text}")
    remote = remote_transport(parse(response.text))
    await transport.apply_remote(remote, "client" if remote.setup == "passive" else "server")


def new_transport(on_rtp: PacketHandler = lambda data: None) -> PeerTransport:
    return PeerTransport(ICE, MediaCertificate.generateCertificate(), controlling=True, on_rtp=on_rtp,
                         on_rtcp=lambda data: None, on_state=lambda state: None)


async def until_connected(transport: PeerTransport) -> None:
    deadline = time.monotonic() + 60
    while transport.state != "connected":
        if transport.state == "failed" or time.monotonic() > deadline:
            raise RuntimeError(f"transport {transport.state}")
        await asyncio.sleep(0.05)


# --- publisher ---------------------------------------------------------------------------------------------------

def send_stamped(transport: PeerTransport, packet: bytes) -> int:
    """Write the send time (``CLOCK_REALTIME`` ns, the clock of the kernel's receive timestamps) into the packet's
    last 8 bytes, then protect and send it at once; returns that time."""
    stamped = bytearray(packet)
    now = time.time_ns()
    stamped[-8:] = STAMP.pack(now)
    transport.send_rtp(bytes(stamped))
    return now


async def publish(plan: Plan, ready: Connection, results: Connection) -> None:
    transport = new_transport()
    video_ssrc, audio_ssrc = random.getrandbits(32), random.getrandbits(32)
    await open_session(plan, "/sfu/whip", "bench-publisher", transport,
                       lambda local: offer(local, send=True, video_ssrc=video_ssrc, audio_ssrc=audio_ssrc))
    await until_connected(transport)
    ready.send("connected")
    frame_bytes = plan.video_kbps * 1000 // 8 // FPS
    video_seq, audio_seq, picture_id = random.getrandbits(16), random.getrandbits(16), random.getrandbits(15)
    start = time.monotonic()
    next_video, next_audio, frame = start, start, 0
    sent = array("q")  # each packet's send time (ns), counted against the window afterwards
    stop_at = None
    while stop_at is None or time.monotonic() < stop_at:
        if stop_at is None and ready.poll():
            message = ready.recv()
            if isinstance(message, tuple):  # ("pause", seconds): send nothing, stay connected
                await asyncio.sleep(message[1])
                next_video = next_audio = time.monotonic()
                continue
            stop_at = time.monotonic() + message  # seconds more to send
        now = time.monotonic()
        if now >= next_audio:
            packet = build_packet(payload_type=AUDIO_PT, sequence_number=audio_seq & 0xFFFF,
                                  timestamp=int((next_audio - start) * AUDIO_CLOCK) & 0xFFFFFFFF, ssrc=audio_ssrc,
                                  payload=random.randbytes(AUDIO_PAYLOAD))
            sent.append(send_stamped(transport, packet))
            audio_seq += 1
            next_audio += AUDIO_INTERVAL_S
        if now >= next_video:
            keyframe = frame % KEYFRAME_EVERY == 0
            count = max(1, math.ceil(frame_bytes / MTU_PAYLOAD))
            timestamp = int((next_video - start) * VIDEO_CLOCK) & 0xFFFFFFFF
            for index in range(count):
                descriptor = bytes((0x90 if index == 0 else 0x80, 0x80, 0x80 | picture_id >> 8, picture_id & 0xFF))
                body = bytearray(random.randbytes(frame_bytes // count))
                if index == 0:
                    body[0] = 0x10 if keyframe else 0x11  # the VP8 payload header's P bit: clear on a keyframe
                packet = build_packet(payload_type=VIDEO_PT, sequence_number=video_seq & 0xFFFF, timestamp=timestamp,
                                      ssrc=video_ssrc, payload=descriptor + bytes(body), marker=index == count - 1)
                sent.append(send_stamped(transport, packet))
                video_seq += 1
            picture_id = (picture_id + 1) & 0x7FFF
            frame += 1
            next_video += 1 / FPS
        await asyncio.sleep(max(0.0, min(next_audio, next_video) - time.monotonic()))
    lo, hi = results.recv()
    results.send(sum(1 for at in sent if lo <= at < hi))
    await transport.close()


def publisher_main(plan: Plan, ready: Connection, results: Connection) -> None:
    asyncio.run(publish(plan, ready, results))


# --- subscribers -------------------------------------------------------------------------------------------------

class StampedSocket(socket.socket):
    """A UDP socket whose ``recvfrom`` (what asyncio's datagram transport calls) reads with ``recvmsg`` and keeps
    the kernel's receive timestamp of the datagram (``SO_TIMESTAMPNS``, ``CLOCK_REALTIME``) in ``LAST_RECEIVED``:
    a subscriber's handler runs synchronously inside that call, so it reads the stamp of its own datagram."""

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        data, ancillary, _flags, address = self.recvmsg(bufsize, TIMESTAMP_SPACE, flags)
        LAST_RECEIVED[0] = 0
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = TIMESPEC.unpack_from(value)
                LAST_RECEIVED[0] = seconds * 1_000_000_000 + nanoseconds
        return data, address


def stamped_bind_udp(address: str, port_min: int, port_max: int) -> socket.socket:
    """``weir.rtc.ice.bind_udp``, its socket as a ``StampedSocket`` with ``SO_TIMESTAMPNS`` on."""
    sock = StampedSocket(fileno=bind_udp(address, port_min, port_max).detach())
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    return sock


class Reception:
    """What one subscriber received: per packet its send time, and its latency (ns) to the kernel's receive
    timestamp and to after its decryption."""

    def __init__(self) -> None:
        self.sent_ns = array("q")
        self.latency_ns = array("q")  # kernel receive timestamp - send time
        self.app_latency_ns = array("q")  # after decryption - send time
        self.video = 0

    def __call__(self, data: bytes) -> None:
        now = time.time_ns()
        received = LAST_RECEIVED[0]
        header = RtpHeader.parse(data)
        if header.payload_end - header.payload_offset < 8 or not received:
            return
        (sent,) = STAMP.unpack_from(data, header.payload_end - 8)
        self.sent_ns.append(sent)
        self.latency_ns.append(received - sent)
        self.app_latency_ns.append(now - sent)
        if header.payload_type == VIDEO_PT:
            self.video += 1


async def subscribe(plan: Plan, index: int, count: int, ready: Connection, joining: Lock) -> None:
    receptions = [Reception() for _ in range(count)]
    transports = [new_transport(r) for r in receptions]
    with joining:  # one process joins at a time: 200 WHEP requests at once time out on a loaded machine
        for n, transport in enumerate(transports):
            await open_session(plan, "/sfu/whep", f"bench-viewer-{index}-{n}", transport,
                               lambda local: offer(local, send=False))
    for transport in transports:
        await until_connected(transport)
    while any(r.video == 0 for r in receptions):
        await asyncio.sleep(0.05)
    ready.send("receiving")
    while not ready.poll():
        await asyncio.sleep(0.2)
    lo, hi = ready.recv()
    latencies, app_latencies = array("q"), array("q")
    received = 0
    for r in receptions:
        for sent, latency, app_latency in zip(r.sent_ns, r.latency_ns, r.app_latency_ns, strict=True):
            if lo <= sent < hi:
                received += 1
                latencies.append(latency)
                app_latencies.append(app_latency)
    ready.send((received, latencies.tobytes(), app_latencies.tobytes()))
    for transport in transports:
        await transport.close()


def subscriber_main(plan: Plan, index: int, count: int, ready: Connection, joining: Lock) -> None:
    ice.bind_udp = stamped_bind_udp  # this process's sockets keep their datagrams' kernel receive timestamps
    asyncio.run(subscribe(plan, index, count, ready, joining))  # asyncio's loop: its transport calls recvfrom


# --- measuring ---------------------------------------------------------------------------------------------------

def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def worker_pid(tree: list[int]) -> int:
    workers = [pid for pid in tree if b"weir.sfu.workers.process" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    if len(workers) != 1:
        raise RuntimeError(f"expected one SFU worker process, found {workers}")
    return workers[0]


SEND_PATHS = {"native": "1", "python": "0"}
MUX = {"on": "1", "off": "0"}
# Each join sets the coordinator a one-off admission check this long after it; the window is measured once the
# last has run, so that it holds what media costs while it flows and not what the joins left behind.
ADMISSION_WINDOW_S = 10
# One SFU media worker, and none of the recording, AI or ingress workers: the tree measured is the SFU's.
SFU_ONLY = {"WEIR_SFU_WORKERS": "1", "WEIR_EGRESS_WORKERS": "0", "WEIR_AI_WORKERS": "0", "WEIR_INGRESS_RTMP_PORT": "0",
            "WEIR_INGRESS_SRT_PORT": "0", "WEIR_SFU_ADMISSION_WINDOW_SECONDS": str(ADMISSION_WINDOW_S)}


@dataclass
class Stream:
    """A publisher and its subscribers, in processes of their own, every subscriber receiving video."""

    publisher: Any
    ready: Connection
    results: Connection
    pipes: list[Connection]
    processes: list[Any]

    def pause(self, seconds: float) -> None:
        """The publisher sends nothing for ``seconds``, every subscriber staying connected."""
        self.ready.send(("pause", seconds))

    def end(self, lo: int, hi: int) -> tuple[int, int, array[int], array[int]]:
        """Stop, and count inside the window [lo, hi) (realtime ns): packets sent, packets received by all the
        subscribers, and their latencies (ns) to the kernel's receive timestamps and to after decryption."""
        self.ready.send(1.0)  # a second more, for packets in flight
        time.sleep(1.5)
        self.results.send((lo, hi))
        sent = self.results.recv()
        received, latencies, app_latencies = 0, array("q"), array("q")
        for pipe in self.pipes:
            pipe.send((lo, hi))
            count, raw, app_raw = pipe.recv()
            received += count
            latencies.frombytes(raw)
            app_latencies.frombytes(app_raw)
        for process in [self.publisher, *self.processes]:  # their results are in: no need to wait for goodbyes
            process.join(2)
            if process.is_alive():
                process.terminate()
                process.join(5)
        return sent, received, latencies, app_latencies


def start_stream(plan: Plan, fanout: int, per_process: int) -> Stream:
    """Create the call, start the WHIP publisher, then ``fanout`` WHEP subscribers ``per_process`` to a process,
    joining one process at a time; returns once every one receives video."""
    context = multiprocessing.get_context("spawn")
    token = create_token(plan.secret, "bench-publisher")
    response = httpx.post(f"{plan.base}/api/v1/video/call/{plan.cid.replace(':', '/')}", json={},
                          params={"api_key": API_KEY}, headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    ready, ready_child = context.Pipe()
    results, results_child = context.Pipe()
    # daemons: if the bench fails, exiting ends them instead of waiting for a publisher that never stops
    publisher = context.Process(target=publisher_main, args=(plan, ready_child, results_child), daemon=True)
    publisher.start()
    if not ready.poll(90):
        raise RuntimeError("the publisher did not connect")
    ready.recv()
    sizes = [per_process] * (fanout // per_process) + ([fanout % per_process] if fanout % per_process else [])
    pipes, processes, joining = [], [], context.Lock()
    for index, size in enumerate(sizes):
        mine, theirs = context.Pipe()
        process = context.Process(target=subscriber_main, args=(plan, index, size, theirs, joining), daemon=True)
        process.start()
        pipes.append(mine)
        processes.append(process)
    for pipe in pipes:
        if not pipe.poll(600):
            raise RuntimeError("a subscriber process did not receive video")
        pipe.recv()
    return Stream(publisher, ready, results, pipes, processes)


def percentiles(latencies: array[int]) -> tuple[float, float, float]:
    """p50, p99 and mean, in ms."""
    if not latencies:
        return math.nan, math.nan, math.nan
    ms = sorted(latencies)
    return ms[len(ms) // 2] / 1e6, ms[min(len(ms) - 1, int(len(ms) * 0.99))] / 1e6, statistics.fmean(ms) / 1e6


def run(fanout: int, per_process: int, warmup_s: float, seconds: float, idle_s: float, video_kbps: int, send: str,
        mux: str, label: str) -> None:
    with weir_serve(free_port(), WEIR_SFU_NATIVE_SEND=SEND_PATHS[send], WEIR_SFU_UDP_MUX=MUX[mux],
                    **SFU_ONLY) as (base, server):
        cid = f"default:e2e-{random.getrandbits(32):x}"
        stream = start_stream(Plan(base, cid, warmup_s, seconds, video_kbps, API_SECRET), fanout, per_process)
        time.sleep(max(warmup_s, ADMISSION_WINDOW_S + 1))  # every subscriber joined before it received video
        tree = process_tree(server.pid)
        worker = worker_pid(tree)
        load = os.getloadavg()[0]
        print(f"# fanout={fanout}: measuring worker {worker} and weir serve {server.pid} for {seconds:.0f} s",
              flush=True)  # for a profiler
        lo, ticks, worker_ticks = time.time_ns(), cpu_ticks(tree), cpu_ticks([worker])
        time.sleep(seconds)
        hi, ticks, worker_ticks = time.time_ns(), cpu_ticks(tree) - ticks, cpu_ticks([worker]) - worker_ticks
        idle = idle_s > 0
        if idle:  # the same subscribers, the publisher silent
            stream.pause(idle_s + 2)
            time.sleep(1)  # packets in flight, and the tick after the last one
            before_tree, before_worker = cpu_ticks(tree), cpu_ticks([worker])
            time.sleep(idle_s)
            idle_tree = (cpu_ticks(tree) - before_tree) / CLOCK_TICK / idle_s  # CPU seconds per second
            idle_worker = (cpu_ticks([worker]) - before_worker) / CLOCK_TICK / idle_s
            time.sleep(1)
        sent, received, latencies, app_latencies = stream.end(lo, hi)
    cpu_s, worker_s = ticks / CLOCK_TICK, worker_ticks / CLOCK_TICK
    p50, p99, mean = percentiles(latencies)
    app_p50, app_p99, app_mean = percentiles(app_latencies)
    loss = 100 * (1 - received / (sent * fanout)) if sent else math.nan
    print(f"# {_uptime()}", flush=True)
    print(f"# fanout={fanout}: {sent} packets sent, {received} received in {seconds:.0f} s; SFU CPU {cpu_s:.2f} s "
          f"in {len(tree)} processes (worker {worker_s:.2f} s: {received / worker_s if worker_s else 0:.0f} packets "
          f"per CPU-second, {1e6 * worker_s / max(received, 1):.1f} us a packet); load average {load:.2f}", flush=True)
    print(f"# fanout={fanout}: latency to the kernel's receive timestamp p50 {p50:.2f} ms, p99 {p99:.2f} ms, mean "
          f"{mean:.2f} ms; after the subscriber's decryption (application level) p50 {app_p50:.2f} ms, p99 "
          f"{app_p99:.2f} ms, mean {app_mean:.2f} ms", flush=True)
    if idle:
        serve_ms, idle_serve_ms = 1000 * (cpu_s - worker_s) / seconds, 1000 * (idle_tree - idle_worker)
        print(f"# fanout={fanout}: fixed cost, CPU ms per second idle (publisher silent) / sending: worker "
              f"{1000 * idle_worker:.1f} / {1000 * worker_s / seconds:.1f}, weir serve {idle_serve_ms:.1f} / "
              f"{serve_ms:.1f}; idle tree per forwarded packet {1e6 * idle_tree * seconds / max(received, 1):.1f} us",
              flush=True)
    print(f"bench sfu-e2e fanout={fanout}{label} pps_per_cpu_second={received / cpu_s if cpu_s else 0:.0f} "
          f"added_latency_p50_ms={p50:.2f} p99_ms={p99:.2f} loss_pct={loss:.2f}", flush=True)


def _uptime() -> str:
    with suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    return f"load average {os.getloadavg()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fanout", type=int, action="append", help="subscribers (repeatable; default 10, 50, 200)")
    parser.add_argument("--per-process", type=int, default=5, help="subscribers per subscriber process")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of media before measuring")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds measured with the publisher silent (0: none)")
    parser.add_argument("--video-kbps", type=int, default=1000)
    parser.add_argument("--send", choices=SEND_PATHS, nargs="+", default=["native"], help="the SFU's RTP send path(s)")
    parser.add_argument("--mux", choices=MUX, nargs="+", default=["on"], help="the worker's shared UDP socket")
    args = parser.parse_args()
    for fanout in args.fanout or [10, 50, 200]:
        for send in args.send:
            for mux in args.mux:
                label = (f" send={send}" if len(args.send) > 1 else "") + (f" mux={mux}" if len(args.mux) > 1 else "")
                run(fanout, args.per_process, args.warmup, args.seconds, args.idle, args.video_kbps, send, mux, label)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
