"""Gaps the SFU cannot repair: asked of the publisher again, then given up with a stand-in that frees the
subscriber's jitter buffer (aiortc's own, fed with what the down-track sends) and a keyframe request."""

from __future__ import annotations

import pytest
from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from tests.sfu.test_receiver import MS, Layer, feed, setup, subscribe
from weir.sfu.downtrack import (
    NACK_FILLS,
    NACK_GIVE_UP_NS,
    NACK_INTERVAL_NS,
    NACK_MAX_RESENDS,
    UNASKED_RESEND_NS,
    DownTrack,
)
from weir.sfu.packet import InboundPacket
from weir.sfu.receiver import Receiver
from weir.sfu.rtcp import Nack, Pli, parse_compound


def received(buf: bytearray) -> RtpPacket:
    """A packet as aiortc's receiver hands it to its jitter buffer (the payload kept whole, not depayloaded)."""
    packet = RtpPacket.parse(bytes(buf))
    packet._data = packet.payload  # type: ignore[attr-defined]
    return packet


def test_a_packet_the_sfu_never_got_is_asked_again_then_stood_in_for() -> None:
    receiver, upstream, clock = setup(layers=1)
    downtrack, sent = subscribe(receiver, 0, start_seq=1000)
    layer = Layer(0, 0, 0, 0)
    frames = [layer.frame(keyframe=True)] + [layer.frame() for _ in range(5)]
    feed(receiver, layer, frames[0] + frames[1])
    lost = frames[2]
    feed(receiver, layer, [packet for frame in frames[3:] for packet in frame])
    assert parse_compound(upstream[-1]) == [Nack(1, 100, (2,))]  # the SFU's own NACK, on the gap
    jitter = JitterBuffer(capacity=512, is_video=True)  # aiortc's, as its video receivers use it
    decodable = [jitter.add(received(buf))[1] for buf in sent]
    assert sum(frame is not None for frame in decodable) == 1, "frames after the gap wait for it"

    before = len(upstream)
    for _ in range(NACK_MAX_RESENDS):
        clock.ns += NACK_INTERVAL_NS
        assert downtrack.handle_nack([1002], clock.ns) == 0
        assert parse_compound(upstream[-1]) == [Nack(1, 100, (2,))], "asked of the publisher again"
    assert len(upstream) == before + NACK_MAX_RESENDS and downtrack.nack_misses == NACK_MAX_RESENDS
    assert len(sent) == 5

    clock.ns += NACK_INTERVAL_NS
    downtrack.handle_nack([1002], clock.ns)
    assert downtrack.gaps_filled == 0, "not yet: a busy subscriber names packets whose resends are on their way"
    clock.ns += NACK_GIVE_UP_NS  # its retransmissions never came: given up
    downtrack.handle_nack([1002], clock.ns)
    assert parse_compound(upstream[-1]) == [Pli(1, 100)]
    stand_in = received(sent[-1])
    assert (stand_in.sequence_number, stand_in.padding_size, stand_in.payload) == (1002, 4, b"")
    assert stand_in.timestamp == RtpPacket.parse(bytes(sent[1])).timestamp  # joins the frame before, left whole
    assert jitter.add(stand_in)[1] is not None, "the jitter buffer moves on"
    for _ in range(NACK_FILLS):  # the stand-in can be lost as well; then nothing more
        clock.ns += NACK_INTERVAL_NS
        downtrack.handle_nack([1002], clock.ns)
    assert downtrack.gaps_filled == NACK_FILLS and len(sent) == 5 + NACK_FILLS

    feed(receiver, layer, lost, 0)  # a late retransmission still goes out under its own number
    assert RtpPacket.parse(bytes(sent[-1])).sequence_number == 1002 and len(lost) == 1


def test_a_packet_the_publisher_has_sent_since_is_not_asked_for() -> None:
    receiver, upstream, clock = setup(layers=1)
    downtrack, _ = subscribe(receiver, 0, start_seq=0)
    layer = Layer(0, 0, 0, 0)
    feed(receiver, layer, layer.frame(keyframe=True, packets=3))
    before = len(upstream)
    clock.ns += 10 * MS
    downtrack.handle_nack([5, 9], clock.ns)  # never sent: the subscriber names what it cannot lack
    assert len(upstream) == before and downtrack.gaps_filled == 0



class Forgetful:
    """A down-track's source whose buffer no longer has ``forgotten`` (sent, then pushed out by later packets)."""

    def __init__(self, receiver: Receiver, forgotten: tuple[int, ...]) -> None:
        self.receiver, self.forgotten = receiver, forgotten

    def lookup(self, layer: int, ext_seq: int) -> InboundPacket | None:
        return None if ext_seq in self.forgotten else self.receiver.lookup(layer, ext_seq)

    def request_keyframe(self, layer: int) -> None:
        self.receiver.request_keyframe(layer)

    def nack(self, layer: int, ext_seqs: list[int]) -> None:
        self.receiver.nack(layer, ext_seqs)

    def update_fanout(self, downtrack: DownTrack) -> None:
        self.receiver.update_fanout(downtrack)

    def add_downtrack(self, downtrack: DownTrack) -> None:
        self.receiver.add_downtrack(downtrack)


@pytest.mark.parametrize("order", [(3, 4), (4, 3)])
def test_a_run_of_stand_ins_never_makes_up_a_frame_of_its_own(order: tuple[int, int]) -> None:
    """Two whole frames lost in a row (one packet each, as at the lowest layers) that the SFU no longer has, given
    up in either order: their stand-ins join the frame before them. aiortc hands an empty frame to its decoder as
    an end of stream, and that decoder then fails on every later frame."""
    receiver, _, clock = setup(layers=1)
    downtrack, sent = subscribe(Forgetful(receiver, order), 0, start_seq=0)
    layer = Layer(0, 0, 0, 0)
    feed(receiver, layer, [packet for n in range(7) for packet in layer.frame(keyframe=n == 0)])
    jitter = JitterBuffer(capacity=512, is_video=True)
    frames = [jitter.add(received(buf))[1] for buf in sent if RtpPacket.parse(bytes(buf)).sequence_number not in order]
    for seq in order:  # each NACKed until given up on, the first before the second is
        for _ in range(NACK_MAX_RESENDS):
            clock.ns += NACK_INTERVAL_NS
            downtrack.handle_nack([seq], clock.ns)
        clock.ns += NACK_GIVE_UP_NS
        downtrack.handle_nack([seq], clock.ns)
    stand_ins = [buf for buf in sent if RtpPacket.parse(bytes(buf)).payload == b""]
    frames += [jitter.add(received(buf))[1] for buf in stand_ins]
    more = len(sent)
    feed(receiver, layer, [packet for _ in range(3) for packet in layer.frame()])  # each hands on one frame
    frames += [jitter.add(received(buf))[1] for buf in sent[more:]]
    decoded = [frame for frame in frames if frame is not None]
    assert downtrack.gaps_filled == 2 and len(decoded) == 6  # frames 0, 1, 2 (with both stand-ins), 5, 6, 7
    assert all(frame.data for frame in decoded), "no frame of stand-ins alone"


def test_a_packet_whose_resend_was_lost_is_resent_unasked_for_a_while() -> None:
    """aiortc NACKs only on a new gap: once the loss stops, a packet whose one resend was lost is never asked for
    again, and its gap would hold aiortc's jitter buffer for 512 packets."""
    receiver, _, clock = setup(layers=1)
    downtrack, sent = subscribe(receiver, 0, start_seq=0)
    layer = Layer(0, 0, 0, 0)
    feed(receiver, layer, [packet for n in range(6) for packet in layer.frame(keyframe=n == 0)])
    jitter = JitterBuffer(capacity=512, is_video=True)
    frames = [jitter.add(received(buf))[1] for buf in sent if RtpPacket.parse(bytes(buf)).sequence_number != 2]
    assert sum(frame is not None for frame in frames) == 1, "frame 0; the rest wait for the gap"
    clock.ns += NACK_INTERVAL_NS
    assert downtrack.handle_nack([2], clock.ns) == 1  # its resend is lost too; no NACK follows
    assert downtrack.resend_unasked(clock.ns + NACK_INTERVAL_NS // 2) == 0, "not so soon after the last"
    clock.ns += NACK_INTERVAL_NS
    assert downtrack.resend_unasked(clock.ns) == 1
    frames += [jitter.add(received(sent[-1]))[1]]
    assert frames[-1] is not None, "the gap closed: the frames behind it move on"
    resends = [downtrack.resend_unasked(clock.ns + n * NACK_INTERVAL_NS) for n in range(1, 2 * NACK_MAX_RESENDS)]
    assert sum(resends) == NACK_MAX_RESENDS - 2 and downtrack.gaps_filled == 0  # bounded; no stand-in unasked
    assert downtrack.resend_unasked(clock.ns + UNASKED_RESEND_NS) == 0


def test_a_packet_a_later_nack_leaves_out_has_come_and_is_not_resent_unasked() -> None:
    receiver, _, clock = setup(layers=1)
    downtrack, sent = subscribe(receiver, 0, start_seq=0)
    layer = Layer(0, 0, 0, 0)
    feed(receiver, layer, [packet for n in range(8) for packet in layer.frame(keyframe=n == 0)])
    clock.ns += NACK_INTERVAL_NS
    assert downtrack.handle_nack([2, 4], clock.ns) == 2
    assert downtrack.handle_nack([4, 6], clock.ns + 1) == 1  # names every packet it lacks: 2 came, 4 did not
    clock.ns += 2 * NACK_INTERVAL_NS
    assert downtrack.resend_unasked(clock.ns) == 2
    assert {RtpPacket.parse(bytes(buf)).sequence_number for buf in sent[-2:]} == {4, 6}


def test_a_packet_the_sfu_has_is_never_stood_in_for_but_sent_again() -> None:
    """A busy client may NACK a packet whose resend is on its way; a stand-in arriving after that resend would
    replace it in aiortc's jitter buffer (a whole frame at the lowest layers: an empty frame)."""
    receiver, _, clock = setup(layers=1)
    downtrack, sent = subscribe(receiver, 0, start_seq=0)
    layer = Layer(0, 0, 0, 0)
    feed(receiver, layer, [packet for n in range(4) for packet in layer.frame(keyframe=n == 0)])
    for _ in range(NACK_MAX_RESENDS):
        clock.ns += NACK_INTERVAL_NS
        downtrack.handle_nack([2], clock.ns)
    clock.ns += NACK_GIVE_UP_NS
    assert downtrack.handle_nack([2], clock.ns) == 1
    again = RtpPacket.parse(bytes(sent[-1]))
    assert (again.sequence_number, downtrack.gaps_filled) == (2, 0) and again.payload
