"""The native fan-out (weir.sfu.rtc.lanes): the same datagrams and the same state as ``DownTrack.write`` per
subscriber, packet for packet, in the common case it takes and in every case it leaves to Python.

Two identical worlds, one fanning out with ``write_each`` (Python), one with ``lanes.fan_out`` (C), each with
real receivers, down-tracks, sinks, ``MediaDtls`` transports and ``NativeSender``s protecting with one fixed SRTP
key (so equal packets are equal datagrams), sending to a loopback socket, and a clock the test sets.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiortc.rtcdtlstransport import RTCCertificate, State
from pylibsrtp import Policy, Session

from tests.sfu.packets import VIDEO_PT, vp8_rtp
from weir.rtc.ice import COMPONENT
from weir.sfu.downtrack import DownTrack
from weir.sfu.headerext import ExtensionSink, SendHistory
from weir.sfu.receiver import Receiver, write_each
from weir.sfu.rtc import lanes
from weir.sfu.rtc._srtpsend import Batch
from weir.sfu.rtc.dtls import MediaDtls
from weir.sfu.rtc.srtpsend import NativeSender
from weir.sfu.rtp import build_packet

CERTIFICATE = RTCCertificate.generateCertificate()
KEY = bytes(range(3, 31))
OPUS_PT, RED_PT = 111, 63
LAYER_SSRCS = (41, 42)


def session(inbound: bool = False) -> Session:
    policy = Policy(key=KEY, srtp_profile=Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
                    ssrc_type=Policy.SSRC_ANY_INBOUND if inbound else Policy.SSRC_ANY_OUTBOUND)
    policy.allow_repeat_tx = True  # as aiortc's sessions
    return Session(policy)


class FakeTransport:
    """The asyncio transport of a pair's socket: what the socket would not take is queued here."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sent: list[bytes] = []

    def get_extra_info(self, name: str) -> socket.socket:
        assert name == "socket"
        return self.sock

    def sendto(self, data: bytes, address: tuple[str, int]) -> None:
        self.sent.append(data)


class World:
    """Receivers for two-layer VP8, Opus and RED audio, fanning out to down-tracks of every kind of sink, each on
    its own connected transport, all sending from one socket (through a ``Batch`` if ``batched``) to another."""

    def __init__(self, native: bool, batched: bool) -> None:
        self.now = 1_000_000_000_000
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.out.bind(("127.0.0.1", 0))
        self.inbox = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.inbox.bind(("127.0.0.1", 0))
        self.inbox.setblocking(False)
        self.batch = Batch(self.out.fileno()) if batched else None
        fan_out = lanes.fan_out if native else write_each
        self.video = Receiver(kind="video", layers=2, vp8=True, fan_out=fan_out)
        self.opus = Receiver(kind="audio", fan_out=fan_out)
        self.red = Receiver(kind="audio", red_payload_type=RED_PT, fan_out=fan_out)
        self.transports: list[MediaDtls | None] = []
        self.captured: list[bytearray] = []  # what a sink of Python's own got
        self.links: list[Any] = []
        self.downtracks: list[DownTrack] = []
        self.sinks: list[ExtensionSink | None] = []
        ssrcs = iter(range(500, 600))
        for abs_id, tcc_id, numbered, target in [(1, 2, True, 0), (1, 0, False, 0), (0, 2, True, 0),
                                                 (0, 2, False, 0), (0, 0, False, 0), (1, 2, True, 1), (3, 0, False, 0)]:
            self._add(self.video, abs_id, tcc_id, numbered, next(ssrcs), VIDEO_PT, target)
        self._add(self.opus, 0, 0, False, next(ssrcs), OPUS_PT, 0)
        self._add(self.opus, 0, 5, True, next(ssrcs), OPUS_PT, 0)
        for red_pt in (None, RED_PT):
            self._add(self.red, 0, 0, False, next(ssrcs), OPUS_PT, 0).use_red(red_pt)
        plain = DownTrack(self.video, self.captured.append, ssrc=next(ssrcs), payload_type=VIDEO_PT,
                          clock_rate=90_000, vp8=True, start_seq=3, start_ts=4)  # not a transport's: Python's path
        self.video.add_downtrack(plain)
        self.downtracks.append(plain)
        self.sinks.append(None)
        self.transports.append(None)

    def _pair(self) -> SimpleNamespace:
        return SimpleNamespace(protocol=SimpleNamespace(transport=FakeTransport(self.out)),
                               remote_addr=self.inbox.getsockname())

    def _add(self, receiver: Receiver, abs_id: int, tcc_id: int, numbered: bool, ssrc: int, payload_type: int,
             target: int) -> DownTrack:
        link = SimpleNamespace(connection=SimpleNamespace(_nominated={COMPONENT: self._pair()}))
        dtls = MediaDtls(link, CERTIFICATE, lambda _: None, lambda _: None)  # type: ignore[arg-type]
        dtls._state = State.CONNECTED
        dtls._tx_srtp = session()
        dtls._sender = NativeSender(link, dtls._tx_srtp)  # type: ignore[arg-type]
        if dtls._sender is not None and self.batch is not None:  # aimed with the batch, as on a shared socket
            dtls._sender._aim(link.connection._nominated[COMPONENT])
            dtls._sender._outlet.aim(self.out.fileno(), *self.inbox.getsockname(), self.batch)
        sink = None
        if abs_id or tcc_id:
            sink = ExtensionSink(dtls.send_rtp, abs_id, tcc_id, SendHistory(bits=6) if numbered else None,
                                 now_ns=lambda: self.now)
        downtrack = DownTrack(receiver, sink or dtls.send_rtp, ssrc=ssrc, payload_type=payload_type,
                              clock_rate=90_000, vp8=payload_type == VIDEO_PT, target_layer=target,
                              start_seq=100 + ssrc, start_ts=7000 * ssrc)
        receiver.add_downtrack(downtrack)
        self.transports.append(dtls)
        self.links.append(link)
        self.downtracks.append(downtrack)
        self.sinks.append(sink)
        return downtrack

    def send(self, step: Callable[[], object]) -> list[bytes]:
        """Run ``step`` as the shared socket hands on an inbound datagram; the datagrams that went."""
        self.now += 3_333_333
        if self.batch is not None:
            self.batch.begin()
        step()
        if self.batch is not None:
            assert self.batch.flush() is None
        return self.drain()

    def drain(self) -> list[bytes]:
        datagrams = []
        while True:
            try:
                datagrams.append(self.inbox.recv(2048))
            except BlockingIOError:
                return datagrams

    def state(self) -> list[object]:
        out: list[object] = []
        for downtrack, sink, dtls in zip(self.downtracks, self.sinks, self.transports, strict=True):
            munger, sequencer = downtrack.forwarder._munger, downtrack._sequencer
            last = munger._last
            history = None if sink is None else sink.history
            out.append((
                downtrack.packets_sent, downtrack.octets_sent, downtrack.forwarder.current,
                list(downtrack.forwarder.drops), munger._last_seq, None if last is None else last.ext_seq,
                munger.segment, list(munger._history), list(sequencer._keys), list(sequencer._segments),
                None if history is None else (history.next_seq, list(history.sent_ns), list(history.sizes)),
                None if dtls is None else (dtls.rtp_sent, dtls.rtp_dropped),
            ))
        return out

    def close(self) -> None:
        for dtls in self.transports:
            if dtls is not None and dtls._sender is not None:
                dtls._sender.close()
        if self.batch is not None:
            self.batch.close()
        self.out.close()
        self.inbox.close()


def video_packet(layer: int, n: int) -> bytes:
    """Packet ``n`` of ``layer``: frames of three packets, keyframes at frames 0 and 6, ids to rewrite on layer 1;
    on layer 0, a padding-only packet (``padding``) comes between packets 8 and 9."""
    frame = n // 3
    return vp8_rtp(1000 * layer + n + (layer == 0 and n > 8), 3000 * frame, ssrc=LAYER_SSRCS[layer], marker=n % 3 == 2,
                   picture_id=(500 * layer + frame) & 0x7FFF, tl0=(7 * layer + frame) & 0xFF, start=n % 3 == 0,
                   keyframe=frame % 6 == 0, body=bytes((n + i) & 0xFF for i in range(300 + 40 * layer)))


def padding() -> bytes:
    return build_packet(payload_type=VIDEO_PT, sequence_number=9, timestamp=6000, ssrc=LAYER_SSRCS[0], padding=200)


def script(world: World) -> Iterator[Callable[[], object]]:
    """In order, late, lost, padding skipped, a layer switch (its ids rewritten after), a renominated pair, audio
    with and without RED: each step one inbound packet (or one change)."""
    order = list(range(30))
    order[12], order[13] = order[13], order[12]  # a late packet
    order.remove(20)  # lost upstream
    for n in order:
        for layer in (0, 1):
            yield lambda layer=layer, n=n: world.video.receive(video_packet(layer, n), layer, n * 10_000_000)
        if n == 8:
            yield lambda: world.video.receive(padding(), 0, 0)
        if n == 9:
            yield lambda: world.downtracks[0].set_target_layer(1)
        if n == 14:  # ICE renominated: the sender follows on its next packet, through Python
            yield lambda: world.links[6].connection._nominated.update({COMPONENT: world._pair()})
        yield lambda n=n: world.opus.receive(build_packet(payload_type=OPUS_PT, sequence_number=n, timestamp=960 * n,
                                                          ssrc=61, payload=bytes(range(n, n + 80))), 0, 0)
        red = bytes((0x80 | OPUS_PT, 0, 0, 10, OPUS_PT)) + bytes(10) + bytes(range(n, n + 60))
        yield lambda n=n, red=red: world.red.receive(build_packet(payload_type=RED_PT if n % 2 else OPUS_PT,
                                                                  sequence_number=n, timestamp=960 * n, ssrc=62,
                                                                  payload=red if n % 2 else red[15:]), 0, 0)


@pytest.fixture(params=["socket", "batch"])
def worlds(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[World, World, list[int]]]:
    """(Python world, native world, how many ``DownTrack.write`` calls each made)."""
    calls = [0, 0]
    python, native = World(False, request.param == "batch"), World(True, request.param == "batch")
    write = DownTrack.write

    def counted(self: DownTrack, packet: Any) -> None:
        calls[self in native.downtracks] += 1
        write(self, packet)

    monkeypatch.setattr(DownTrack, "write", counted)
    yield python, native, calls
    python.close()
    native.close()


def test_the_native_fan_out_sends_the_same_datagrams_and_leaves_the_same_state(
        worlds: tuple[World, World, list[int]]) -> None:
    python, native, calls = worlds
    steps = 0
    for step_python, step_native in zip(script(python), script(native), strict=True):
        assert python.send(step_python) == native.send(step_native)
        steps += 1
    assert python.state() == native.state()
    assert python.captured == native.captured and len(native.captured) == 29
    assert sum(dtls.rtp_sent for dtls in native.transports if dtls is not None) == 320
    assert calls[1] < calls[0] // 3  # the C path took the common case; the rest went through Python

    inbound = session(inbound=True)  # what went is SRTP a subscriber opens
    sent = native.send(lambda: native.video.receive(video_packet(0, 30), 0, 0))
    assert [inbound.unprotect(datagram)[12:14] for datagram in sent[:1]] == [bytes((0xBE, 0xDE))]


def test_a_nack_after_native_sends_resends_the_same_bytes(worlds: tuple[World, World, list[int]]) -> None:
    _, native, _ = worlds
    start = native.now
    sent = [native.send(lambda n=n: native.video.receive(video_packet(0, n), 0, 0)) for n in range(6)]
    downtrack = native.downtracks[1]  # abs-send-time only, so the same clock gives the same bytes
    originals = [datagrams[1] for datagrams in sent]
    first = downtrack._munger.last_out_seq - 5
    for n in (2, 4):
        native.now = start + n * 3_333_333  # the clock as it was when packet n went (``send`` adds a tick)
        resent = native.send(lambda n=n: downtrack.handle_nack([first + n], (n + 1) * 10**9))
        assert resent == [originals[n]]
    assert downtrack.nack_hits == 2


def test_the_native_clock_is_the_monotonic_one_and_the_switch_keeps_python(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(True, False)
    try:
        sink = world.sinks[0]
        assert sink is not None and sink.history is not None
        sink._now_ns = time.monotonic_ns
        world.video.remove_downtrack(world.downtracks[-1])  # Python's own sink: not the native path
        world.send(lambda: world.video.receive(video_packet(0, 0), 0, 0))  # the first packet: Python's rebase
        monkeypatch.setattr(DownTrack, "write", None)  # the next one goes the native way, for every down-track
        before = time.monotonic_ns()
        world.send(lambda: world.video.receive(video_packet(0, 1), 0, 0))
        after = time.monotonic_ns()
        number = sink.history.next_seq - 1
        assert before <= sink.history.sent_ns[number & sink.history.mask] <= after
    finally:
        world.close()
    assert lanes.fan_out_for(False) is write_each and lanes.fan_out_for(True) is lanes.fan_out
