import pytest

from tests.sfu.packets import inbound
from weir.sfu.packetbuffer import PacketBuffer


def test_hits_and_misses() -> None:
    buffer = PacketBuffer(8)
    packets = [inbound(seq) for seq in range(100, 105)]
    assert all(buffer.add(p) for p in packets)
    assert buffer.get(102) is packets[2]
    assert buffer.get(99) is None
    assert buffer.get(105) is None


def test_only_the_newest_capacity_packets_are_kept() -> None:
    buffer = PacketBuffer(4)
    for seq in range(10):
        buffer.add(inbound(seq))
    assert [seq for seq in range(10) if buffer.get(seq) is not None] == [6, 7, 8, 9]
    assert buffer.capacity == 4


def test_duplicates_and_packets_older_than_the_ring_are_refused() -> None:
    buffer = PacketBuffer(4)
    first = inbound(9)
    assert buffer.add(first)
    assert not buffer.add(inbound(9))
    assert not buffer.add(inbound(5))  # its slot holds 9
    assert buffer.get(9) is first


def test_numbers_across_the_16_bit_wrap_stay_distinct() -> None:
    buffer = PacketBuffer(16)
    for ext_seq in range(65530, 65542):  # unwrapped: 65536 is the wrapped 0
        buffer.add(inbound(ext_seq))
    assert buffer.get(65536) is not None and buffer.get(0) is None
    assert buffer.get(65541) is not None


def test_late_packet_fills_its_slot() -> None:
    buffer = PacketBuffer(8)
    buffer.add(inbound(10))
    buffer.add(inbound(12))
    assert buffer.get(11) is None
    late = inbound(11)
    assert buffer.add(late)
    assert buffer.get(11) is late


@pytest.mark.parametrize("capacity", [0, 3, 100])
def test_capacity_must_be_a_power_of_two(capacity: int) -> None:
    with pytest.raises(ValueError):
        PacketBuffer(capacity)
