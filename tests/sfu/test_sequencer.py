import pytest

from weir.sfu.munger import Segment
from weir.sfu.sequencer import Sequencer

SEG = Segment(layer=1, start=0, seq_offset=-5, ts_offset=0)


def test_lookup_returns_what_was_pushed() -> None:
    sequencer = Sequencer(8)
    sequencer.push(65536, SEG)
    assert sequencer.lookup(65536) == (65531, SEG)  # the source number: 65536 plus the segment's offset, -5


def test_unknown_and_overwritten_numbers_miss() -> None:
    sequencer = Sequencer(4)
    assert sequencer.lookup(3) is None
    for out_seq in range(10):
        sequencer.push(out_seq, SEG)
    assert sequencer.lookup(5) is None  # its slot now holds 9
    assert sequencer.lookup(9) == (4, SEG)


@pytest.mark.parametrize("capacity", [0, 6])
def test_capacity_must_be_a_power_of_two(capacity: int) -> None:
    with pytest.raises(ValueError):
        Sequencer(capacity)
