"""A receiver fed with real RTP bytes, fanning out to real down-tracks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.sfu.packets import vp8_rtp
from weir.sfu.codecs.vp8 import Vp8Descriptor
from weir.sfu.downtrack import NACK_INTERVAL_NS, NACK_MAX_RESENDS, DownTrack
from weir.sfu.receiver import LAYER_STALE_MS, NACK_MAX_GAP, PLI_MIN_INTERVAL_MS, Receiver
from weir.sfu.rtcp import Nack, Pli, parse_compound
from weir.sfu.rtp import RtpHeader, build_packet

MS = 1_000_000


class Layer:
    """One simulcast layer of a synthetic VP8 publisher."""

    def __init__(self, index: int, seq: int, ts: int, pid: int) -> None:
        self.index, self.seq, self.ts, self.pid, self.tl0 = index, seq, ts, pid, 200

    def frame(self, *, keyframe: bool = False, packets: int = 1) -> list[bytes]:
        out = []
        for n in range(packets):
            out.append(
                vp8_rtp(
                    self.seq & 0xFFFF, self.ts & 0xFFFFFFFF, ssrc=100 + self.index, marker=n == packets - 1,
                    picture_id=self.pid & 0x7FFF, tl0=self.tl0 & 0xFF, start=n == 0, keyframe=keyframe,
                    body=bytes((self.index,)) * 20,
                )
            )
            self.seq += 1
        self.ts += 3000
        self.pid += 1
        self.tl0 += 1
        return out


class Clock:
    def __init__(self) -> None:
        self.ns = 10_000 * MS

    def __call__(self) -> int:
        return self.ns


def setup(layers: int = 3) -> tuple[Receiver, list[bytes], Clock]:
    upstream: list[bytes] = []
    clock = Clock()
    receiver = Receiver(kind="video", layers=layers, vp8=True, upstream=upstream.append, sender_ssrc=1, now_ns=clock)
    return receiver, upstream, clock


def subscribe(receiver: Receiver, target: int | None, **options: int) -> tuple[DownTrack, list[bytearray]]:
    """A VP8 down-track (SSRC 0xABC, payload type 98) whose sends land in the returned list."""
    sent: list[bytearray] = []
    downtrack = DownTrack(
        receiver, sent.append, ssrc=0xABC, payload_type=98, clock_rate=90_000, vp8=True, target_layer=target,
        **options,
    )
    receiver.add_downtrack(downtrack)
    return downtrack, sent


def feed(receiver: Receiver, layer: Layer, packets: list[bytes], arrival_ns: int = 0) -> None:
    for data in packets:
        receiver.receive(data, layer.index, arrival_ns)


def parsed(sent: list[bytearray]) -> list[tuple[int, int, int, int, int, int]]:
    """(seq, ts, ssrc, payload type, picture id, tl0picidx) of each packet sent."""
    out = []
    for buf in sent:
        header = RtpHeader.parse(bytes(buf))
        vp8 = Vp8Descriptor.parse(header.data, header.payload_offset)
        out.append(
            (
                header.sequence_number, header.timestamp, header.ssrc, header.payload_type, vp8.picture_id,
                vp8.tl0picidx,
            )
        )
    return out


def test_each_down_track_gets_only_its_layer() -> None:
    receiver, _, _ = setup()
    low, _ = subscribe(receiver, 0)
    high, _ = subscribe(receiver, 2)
    layers = [Layer(i, 1000 * i, 0, 10 * i) for i in range(3)]
    for _ in range(3):
        for layer in layers:
            feed(receiver, layer, layer.frame(keyframe=True))
    assert (low.packets_sent, high.packets_sent) == (3, 3)
    assert low.forwarder.drops == [0, 0, 0, 0] and high.forwarder.drops == [0, 0, 0, 0]  # never shown other layers


def test_layer_switch_keeps_every_number_continuous() -> None:
    receiver, _, _ = setup()
    downtrack, sent = subscribe(receiver, 0, start_seq=65534, start_ts=2**32 - 3000)
    low, high = Layer(0, 40_000, 123, 32_766), Layer(2, 7, 999_999, 5)
    feed(receiver, low, low.frame(keyframe=True, packets=2), 0)
    feed(receiver, low, low.frame(), 33 * MS)
    downtrack.set_target_layer(2)
    feed(receiver, high, high.frame(packets=2), 40 * MS)  # not a keyframe: still on the low layer
    feed(receiver, low, low.frame(), 66 * MS)
    feed(receiver, high, high.frame(keyframe=True, packets=2), 100 * MS)
    feed(receiver, low, low.frame(), 100 * MS)  # the old layer is no longer forwarded
    feed(receiver, high, high.frame(), 133 * MS)
    got = parsed(sent)
    assert [g[0] for g in got] == [65534, 65535, 0, 1, 2, 3, 4]
    steps = (0, 0, 3000, 6000, 9060, 9060, 12060)  # at the switch: the 34 ms since the last packet, in ticks
    assert [g[1] for g in got] == [(2**32 - 3000 + t) % 2**32 for t in steps]
    assert {g[2] for g in got} == {0xABC} and {g[3] for g in got} == {98}
    assert [g[4] for g in got] == [32_766, 32_766, 32_767, 0, 1, 1, 2]  # 15-bit picture id wraps too
    assert [g[5] for g in got] == [200, 200, 201, 202, 203, 203, 204]
    assert downtrack.forwarder.current == 2


def test_padding_only_packets_leave_no_hole() -> None:
    receiver, _, _ = setup(layers=1)
    _, sent = subscribe(receiver, 0, start_seq=10)
    layer = Layer(0, 500, 0, 1)
    feed(receiver, layer, layer.frame(keyframe=True))
    padding = build_packet(payload_type=96, sequence_number=501, timestamp=0, ssrc=100, padding=200)
    assert receiver.receive(padding, 0, 0) is not None
    layer.seq += 1
    feed(receiver, layer, layer.frame())
    assert [g[0] for g in parsed(sent)] == [10, 11]


def test_malformed_and_repeated_packets_disturb_nobody() -> None:
    receiver, _, _ = setup(layers=1)
    downtrack, sent = subscribe(receiver, 0)
    layer = Layer(0, 0, 0, 0)
    first = layer.frame(keyframe=True)[0]
    feed(receiver, layer, [first, first])
    for garbage in (b"", b"\x00" * 40, vp8_rtp(9, 0, picture_id=-1)[:12] + b"\x80"):
        assert receiver.receive(garbage, 0, 0) is None
    feed(receiver, layer, layer.frame())
    assert (receiver.malformed, receiver.duplicates, downtrack.packets_sent, len(sent)) == (3, 1, 2, 2)


def test_vp8_without_picture_id_or_tl0picidx_passes_unchanged() -> None:
    receiver, _, _ = setup(layers=1)
    _, sent = subscribe(receiver, 0, start_seq=5)
    receiver.receive(vp8_rtp(300, 0, keyframe=True, body=b"plain"), 0, 0)
    assert [g[0] for g in parsed(sent)] == [5]
    assert bytes(sent[0][12:]) == bytes((0x10, 0x00)) + b"plain"


def test_layer_count_is_checked() -> None:
    with pytest.raises(ValueError):
        Receiver(kind="video", layers=0)
    with pytest.raises(ValueError):
        Receiver(kind="video", layers=4)


def test_a_paused_down_track_is_not_called() -> None:
    receiver, _, _ = setup(layers=1)
    downtrack, sent = subscribe(receiver, 0)
    layer = Layer(0, 0, 0, 0)
    feed(receiver, layer, layer.frame(keyframe=True))
    downtrack.set_target_layer(None)
    for _ in range(5):
        feed(receiver, layer, layer.frame(keyframe=True))
    assert (len(sent), sum(downtrack.forwarder.drops)) == (1, 0)
    downtrack.set_target_layer(0)
    feed(receiver, layer, layer.frame())
    feed(receiver, layer, layer.frame(keyframe=True))
    assert [g[0] - parsed(sent)[0][0] for g in parsed(sent)] == [0, 1]
    receiver.remove_downtrack(downtrack)
    feed(receiver, layer, layer.frame(keyframe=True))
    assert len(sent) == 2


def test_nack_is_answered_from_the_buffer_byte_for_byte() -> None:
    receiver, _, _ = setup(layers=1)
    downtrack, sent = subscribe(receiver, 0, start_seq=65535)
    layer = Layer(0, 0, 0, 0)
    feed(receiver, layer, layer.frame(keyframe=True, packets=3))
    assert downtrack.handle_nack([0, 65535, 7]) == 2  # 7 was never sent
    assert sent[3:] == [sent[1], sent[0]]
    assert (downtrack.nack_hits, downtrack.nack_misses) == (2, 1)


def test_a_packet_is_resent_at_most_so_often_and_so_many_times() -> None:
    receiver, _, _ = setup(layers=1)
    downtrack, sent = subscribe(receiver, 0, start_seq=0)
    layer = Layer(0, 0, 0, 0)
    feed(receiver, layer, layer.frame(keyframe=True, packets=3))
    assert downtrack.handle_nack([1], 0) == 1
    assert downtrack.handle_nack([1, 2], NACK_INTERVAL_NS // 2) == 1  # 1 again so soon: not yet
    resent = [downtrack.handle_nack([1], n * NACK_INTERVAL_NS) for n in range(1, NACK_MAX_RESENDS + 3)]
    assert resent == [1] * (NACK_MAX_RESENDS - 1) + [0, 0, 0]  # then never again (given up on: tests/sfu/test_gaps.py)
    assert (downtrack.nack_hits, downtrack.nack_throttled) == (NACK_MAX_RESENDS + 1, 4)  # nor given up on yet


def test_nack_misses_once_the_buffer_has_moved_on() -> None:
    receiver = Receiver(kind="video", layers=1, vp8=True, buffer_capacity=4)
    downtrack, _ = subscribe(receiver, 0, start_seq=0)
    layer = Layer(0, 0, 0, 0)
    feed(receiver, layer, layer.frame(keyframe=True, packets=6))
    assert downtrack.handle_nack([0, 1, 2, 5]) == 2  # 0 and 1 were evicted
    assert downtrack.nack_misses == 2


def test_keyframe_requests_are_rate_limited_per_layer() -> None:
    receiver, upstream, clock = setup()
    downtrack, _ = subscribe(receiver, 0)
    assert upstream == []  # nothing received yet: no SSRC to ask
    low, high = Layer(0, 0, 0, 0), Layer(1, 0, 0, 0)
    feed(receiver, low, low.frame())
    feed(receiver, high, high.frame())
    receiver.request_keyframe(0)
    receiver.request_keyframe(0)
    receiver.request_keyframe(1)
    assert [parse_compound(p) for p in upstream] == [[Pli(1, 100)], [Pli(1, 101)]]
    clock.ns += PLI_MIN_INTERVAL_MS * MS
    feed(receiver, low, low.frame(keyframe=True))
    downtrack.handle_pli()
    assert parse_compound(upstream[-1]) == [Pli(1, 100)] and receiver.plis_sent == 3


def test_packets_the_publisher_never_delivered_are_nacked_upstream() -> None:
    receiver, upstream, clock = setup(layers=1)
    layer = Layer(0, 65534, 0, 0)
    packets = layer.frame(keyframe=True, packets=6)  # sequence numbers 65534, 65535, 0, 1, 2, 3
    feed(receiver, layer, [packets[0], packets[3], packets[1], packets[5]])
    assert [parse_compound(p) for p in upstream] == [[Nack(1, 100, (65535, 0))], [Nack(1, 100, (2,))]]
    assert receiver.nacks_sent == 2, "a late packet that fills a hole is not NACKed again"
    clock.ns += PLI_MIN_INTERVAL_MS * MS
    skipped = layer.frame(packets=NACK_MAX_GAP + 2)
    feed(receiver, layer, [skipped[-1]])
    assert parse_compound(upstream[-1]) == [Pli(1, 100)], "too long a hole asks for a keyframe instead"


def test_pli_from_a_subscriber_that_is_not_forwarding_asks_nothing() -> None:
    receiver, upstream, _ = setup()
    downtrack, _ = subscribe(receiver, None)
    downtrack.handle_pli()
    assert upstream == []


def test_audio_levels_are_read_at_ingress() -> None:
    upstream: list[bytes] = []
    receiver = Receiver(kind="audio", audio_level_id=3, upstream=upstream.append)
    downtrack = DownTrack(receiver, lambda _: None, ssrc=1, payload_type=111, clock_rate=48_000)
    receiver.add_downtrack(downtrack)
    loud = build_packet(payload_type=111, sequence_number=1, timestamp=960, ssrc=5, payload=b"o",
                        extensions=[(3, b"\x8a")])
    quiet = build_packet(payload_type=111, sequence_number=2, timestamp=1920, ssrc=5, payload=b"o",
                         extensions=[(3, b"\x7f")])
    bare = build_packet(payload_type=111, sequence_number=3, timestamp=2880, ssrc=5, payload=b"o")
    empty = build_packet(payload_type=111, sequence_number=4, timestamp=3840, ssrc=5, payload=b"o",
                         extensions=[(3, b"")], two_byte=True)
    levels = []
    for data in (loud, quiet, bare, empty):
        packet = receiver.receive(data, 0, 0)
        assert packet is not None and packet.keyframe
        levels.append((packet.audio_level, packet.voice))
    assert levels == [(10, True), (127, False), (-1, False), (-1, False)]
    assert downtrack.packets_sent == 4 and downtrack.octets_sent == 4
    downtrack.handle_pli()
    assert upstream == []  # audio has no keyframes to ask for


@given(st.lists(st.binary(min_size=1, max_size=60), max_size=20), st.lists(st.integers(0, 65535), max_size=20))
def test_arbitrary_datagrams_and_nacks_never_raise(datagrams: list[bytes], lost: list[int]) -> None:
    receiver = Receiver(kind="video", layers=1, vp8=True, audio_level_id=1)
    downtrack, sent = subscribe(receiver, 0)
    layer = Layer(0, 0, 0, 0)
    feed(receiver, layer, layer.frame(keyframe=True))
    for data in datagrams:
        receiver.receive(bytes((0x80 | data[0] & 0x3F,)) + data[1:], 0, 0)
    downtrack.handle_nack(lost)
    assert len(sent) == downtrack.packets_sent + downtrack.nack_hits
    assert downtrack.nack_hits + downtrack.nack_misses + downtrack.nack_throttled == len(lost)


def test_the_best_arriving_layer_stands_in_for_a_missing_one() -> None:
    receiver, _, clock = setup(layers=3)
    low, mid, high = Layer(0, 0, 0, 0), Layer(1, 0, 0, 0), Layer(2, 0, 0, 0)
    assert receiver.available_layer(2, clock.ns) == 2, "nothing arrives yet: keep what was asked"
    feed(receiver, low, low.frame(), arrival_ns=clock.ns)
    assert receiver.available_layer(2, clock.ns) == 0, "only the low layer comes"
    feed(receiver, mid, mid.frame(), arrival_ns=clock.ns)
    assert receiver.available_layer(2, clock.ns) == 1 and receiver.available_layer(0, clock.ns) == 0
    feed(receiver, high, high.frame(), arrival_ns=clock.ns)
    assert receiver.available_layer(2, clock.ns) == 2
    clock.ns += LAYER_STALE_MS * MS
    feed(receiver, mid, mid.frame(), arrival_ns=clock.ns)
    assert receiver.available_layer(2, clock.ns) == 1, "the high layer stopped"
    assert receiver.available_layer(0, clock.ns) == 1, "nothing below the wanted layer: the lowest above it"
