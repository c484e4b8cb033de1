"""The SFU-to-SFU relay: its packet handling, then two relay links on loopback (real UDP and SRTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.sfu.packets import vp8_rtp
from tests.sfu.test_receiver import Clock, Layer, setup
from weir.sfu.cascade.inbound import RelayIn
from weir.sfu.cascade.link import RelayLink
from weir.sfu.cascade.outbound import RelayOut
from weir.sfu.cascade.wire import ARRIVING_NAME, AUDIO_LEVEL_ID, LayerDemand, RelayTrackSpec, new_key
from weir.sfu.downtrack import DownTrack
from weir.sfu.receiver import PLI_MIN_INTERVAL_MS, Receiver
from weir.sfu.rtcp import Pli, parse_compound
from weir.sfu.rtp import RtpHeader, build_packet

MS = 1_000_000
SSRCS = (0x1000, 0x1001, 0x1002)
VIDEO = RelayTrackSpec("pub", "video", "video", "vp8", 90_000, 96, SSRCS, dimensions=((320, 180), (640, 360),
                                                                                      (1280, 720)))
AUDIO = RelayTrackSpec("pub", "audio", "audio", "opus", 48_000, 111, (0x2000,))


def frames(layers: list[Layer], count: int) -> list[tuple[int, bytes]]:
    """``count`` one-packet frames of each layer, interleaved, the first a keyframe."""
    return [(layer.index, packet) for n in range(count) for layer in layers
            for packet in layer.frame(keyframe=n == 0)]


def test_nothing_is_relayed_before_the_far_side_asks() -> None:
    receiver, _, clock = setup()
    sent: list[bytearray] = []
    receiver.add_downtrack(RelayOut(VIDEO, receiver, sent.append))
    for index, packet in frames([Layer(i, 10, 0, 1) for i in range(3)], 3):
        receiver.receive(packet, index, clock.ns)
    assert sent == []


def test_demanded_layers_go_as_they_came_under_their_relay_ssrc() -> None:
    receiver, upstream, clock = setup()
    sent: list[bytearray] = []
    out = RelayOut(VIDEO, receiver, sent.append)
    receiver.add_downtrack(out)
    layers = [Layer(i, 100 * i, 5000, 1) for i in range(3)]
    fed = frames(layers, 2)
    for index, packet in fed[:3]:  # every layer arriving, so the demand is met as asked
        receiver.receive(packet, index, clock.ns)
    out.demand(frozenset({1}))
    assert parse_compound(upstream[-1]) == [Pli(1, 101)]  # the far side starts on a keyframe
    for index, packet in fed[3:]:
        receiver.receive(packet, index, clock.ns)
    assert len(sent) == 1
    relayed, original = RtpHeader.parse(bytes(sent[0])), RtpHeader.parse(fed[4][1])
    assert relayed.ssrc == SSRCS[1]
    assert (relayed.sequence_number, relayed.timestamp, relayed.payload_type) == (
        original.sequence_number, original.timestamp, 96)
    assert relayed.payload == original.payload


def test_a_demanded_layer_that_is_not_arriving_is_replaced_by_one_that_is() -> None:
    receiver, _, clock = setup()
    sent: list[bytearray] = []
    out = RelayOut(VIDEO, receiver, sent.append, clock)
    receiver.add_downtrack(out)
    low = Layer(0, 1, 0, 1)
    for packet in low.frame(keyframe=True):
        receiver.receive(packet, 0, clock.ns)
    out.demand(frozenset({2}))  # the publisher sends only its low layer
    assert out.wanted_layers == {0}
    for packet in low.frame():
        receiver.receive(packet, 0, clock.ns)
    assert [RtpHeader.parse(bytes(b)).ssrc for b in sent] == [SSRCS[0]]


def test_nacks_are_answered_from_the_publishers_buffer_and_plis_reach_the_publisher() -> None:
    receiver, upstream, clock = setup(layers=1)
    sent: list[bytearray] = []
    spec = RelayTrackSpec("pub", "video", "video", "vp8", 90_000, 96, SSRCS[:1])
    out = RelayOut(spec, receiver, sent.append)
    receiver.add_downtrack(out)
    out.demand(frozenset({0}))
    layer = Layer(0, 65534, 0, 1)  # the far side names 16-bit numbers across the wrap
    for packet in layer.frame(keyframe=True, packets=4):
        receiver.receive(packet, 0, clock.ns)
    sent.clear()
    assert out.handle_nack(0, (65535, 1, 7)) == 2
    assert [RtpHeader.parse(bytes(b)).sequence_number for b in sent] == [65535, 1]
    assert out.nack_misses == 1
    clock.ns += 10_000 * MS
    out.handle_keyframe_request(0)
    assert parse_compound(upstream[-1]) == [Pli(1, 100)]


def test_audio_levels_cross_the_relay() -> None:
    receiver = Receiver(kind="audio", audio_level_id=3)
    sent: list[bytearray] = []
    out = RelayOut(AUDIO, receiver, sent.append)
    receiver.add_downtrack(out)
    out.demand(frozenset({0}))
    receiver.receive(build_packet(payload_type=111, sequence_number=9, timestamp=960, ssrc=5, payload=b"opus",
                                  extensions=[(3, bytes((0x80 | 25,)))]), 0, 0)
    relayed = RtpHeader.parse(bytes(sent[0]))
    assert relayed.extensions() == {AUDIO_LEVEL_ID: bytes((0x80 | 25,))}
    assert relayed.payload == b"opus"
    far = RelayIn(AUDIO, lambda _: None, 1)
    packet = far.receiver.receive(bytes(sent[0]), 0, 0)
    assert packet is not None and (packet.audio_level, packet.voice, packet.frame[-4:]) == (25, True, b"opus")


def test_the_wire_formats_round_trip() -> None:
    assert LayerDemand.parse(bytes(LayerDemand.of(7, frozenset({0, 2})))) == LayerDemand(7, 0b101)
    assert LayerDemand.parse(bytes(Pli(1, 2))) is None
    assert RelayTrackSpec.from_json(VIDEO.to_json()) == VIDEO
    with pytest.raises(ValueError):
        RelayTrackSpec.from_json({**AUDIO.to_json(), "kind": "data"})


# --- two SFUs on loopback ------------------------------------------------------------------------------------

async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


def far_subscriber(relayed: RelayIn, target: int) -> tuple[DownTrack, list[bytearray]]:
    sent: list[bytearray] = []
    downtrack = DownTrack(relayed.receiver, sent.append, ssrc=0xABC, payload_type=98, clock_rate=90_000, vp8=True,
                          target_layer=target)
    relayed.receiver.add_downtrack(downtrack)
    return downtrack, sent


async def test_two_sfus_relay_layers_on_demand_with_nack_and_pli_end_to_end() -> None:
    a, b = RelayLink(), RelayLink()
    await a.open("127.0.0.1")
    await b.open("127.0.0.1")
    a_to_b, b_to_a = new_key(), new_key()
    to_b = a.add_peer(b.address, a_to_b, b_to_a, sender_ssrc=11)
    to_a = b.add_peer(a.address, b_to_a, a_to_b, sender_ssrc=22)
    try:
        upstream: list[bytes] = []
        clock = Clock()
        publisher = Receiver(kind="video", layers=3, vp8=True, upstream=upstream.append, sender_ssrc=1,
                             now_ns=clock)
        out = to_b.relay_out(VIDEO, publisher)
        relayed = to_a.relay_in(VIDEO)
        layers = [Layer(i, 1000 * i, 0, 1) for i in range(3)]
        for index, packet in frames(layers, 1):
            publisher.receive(packet, index, clock.ns)

        # two subscribers on B behind one relay track: B asks for their layers, and only those come
        low, low_sent = far_subscriber(relayed, 0)
        high, high_sent = far_subscriber(relayed, 2)
        await until(lambda: out.wanted_layers == {0, 2})
        await until(lambda: any(parse_compound(p) == [Pli(1, 102)] for p in upstream))  # keyframe asked end to end

        dropped: list[int] = []

        def lossy(buf: bytearray) -> None:  # the relay loses one packet of the high layer
            if RtpHeader.parse(bytes(buf)).ssrc == SSRCS[2] and not dropped and out.packets_sent > 4:
                dropped.append(RtpHeader.parse(bytes(buf)).sequence_number)
                return
            to_b.send_rtp(buf)

        out._send = lossy
        for n in range(6):
            for index, packet in frames(layers, 1) if n == 0 else [
                    (layer.index, p) for layer in layers for p in layer.frame()]:
                publisher.receive(packet, index, clock.ns)
            await asyncio.sleep(0.01)
        await until(lambda: len(low_sent) == 6 and len(high_sent) == 6)
        assert {bytes(buf)[-1] for buf in low_sent} == {0} and {bytes(buf)[-1] for buf in high_sent} == {2}
        assert dropped and out.nack_hits >= 1  # B's receiver NACKed the hole over the relay, A resent it
        assert relayed.receiver.counters()[1][0] == 0  # the middle layer never crossed

        # a subscriber switching layers moves the demand: the new layer comes, the old one stops after the switch
        high.set_target_layer(1)
        await until(lambda: out.wanted_layers == {0, 1, 2})
        for index, packet in frames(layers, 2):
            publisher.receive(packet, index, clock.ns)
        await until(lambda: out.wanted_layers == {0, 1} and bytes(high_sent[-1])[-1] == 1)

        # a far subscriber's PLI reaches the publisher (once the receivers' rate limits allow)
        await asyncio.sleep(PLI_MIN_INTERVAL_MS / 1000 + 0.05)
        clock.ns += 1000 * MS
        asked = len(upstream)
        high.handle_pli()
        await until(lambda: Pli(1, 101) in [p for data in upstream[asked:] for p in parse_compound(data)])

        # a stranger, and a datagram under the wrong key, are dropped
        assert to_a.refused == 0
        rogue = RelayLink()
        await rogue.open("127.0.0.1")
        rogue.add_peer(b.address, new_key(), new_key(), 33).send_rtp(vp8_rtp(1, 1, ssrc=SSRCS[0]))
        await until(lambda: b.strangers == 1)
        rogue.close()
    finally:
        a.close()
        b.close()


def test_the_far_side_follows_the_layers_arriving_at_the_origin_and_keeps_asking_for_what_it_needs() -> None:
    receiver, _, clock = setup()
    rtcp: list[bytes] = []
    out = RelayOut(VIDEO, receiver, lambda _: None, clock, send_rtcp=rtcp.append)
    for index, packet in frames([Layer(0, 1, 0, 1), Layer(1, 500, 0, 1)], 1):  # the publisher paused layer 2
        receiver.receive(packet, index, clock.ns)
    out.refresh(clock.ns)
    report = LayerDemand.parse(rtcp[-1])
    assert report == LayerDemand.of(SSRCS[0], {0, 1}, ARRIVING_NAME)

    sent: list[bytes] = []
    far = RelayIn(VIDEO, sent.append, 1)
    far.receiver.report_arrivals(report.layer_set(), clock.ns)
    assert far.receiver.available_layer(2, clock.ns) == 1  # nothing relayed yet, but layer 1 is what comes
    far.need(frozenset({2}))  # a subscription asks for layer 2 all the same: the origin hears it
    assert LayerDemand.parse(sent[-1]) == LayerDemand.of(SSRCS[0], {2})
