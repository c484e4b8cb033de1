import pytest

from weir.sfu.seqnum import SEQ_BITS, TS_BITS, Unwrapper, unwrap_near


def test_sequence_numbers_unwrap_past_65535() -> None:
    unwrapper = Unwrapper(SEQ_BITS)
    assert [unwrapper.unwrap(s) for s in (65533, 65534, 65535, 0, 1)] == [65533, 65534, 65535, 65536, 65537]
    assert unwrapper.highest == 65537


def test_a_late_packet_from_before_the_wrap_stays_before_it() -> None:
    unwrapper = Unwrapper(SEQ_BITS)
    for seq in (65534, 0, 2):
        unwrapper.unwrap(seq)
    assert unwrapper.unwrap(65535) == 65535
    assert unwrapper.unwrap(1) == 65537
    assert unwrapper.highest == 65538


def test_timestamps_unwrap_past_2_to_the_32() -> None:
    unwrapper = Unwrapper(TS_BITS)
    start = 2**32 - 3000
    assert unwrapper.unwrap(start) == start
    assert unwrapper.unwrap(0) == 2**32
    assert unwrapper.unwrap(3000) == 2**32 + 3000
    assert unwrapper.unwrap(2**32 - 1500) == 2**32 - 1500  # reordered across the wrap


def test_a_value_older_than_the_first_may_be_negative() -> None:
    unwrapper = Unwrapper(SEQ_BITS)
    unwrapper.unwrap(0)
    assert unwrapper.unwrap(65535) == -1


@pytest.mark.parametrize(
    ("value", "reference", "expected"),
    [(5, 65540, 65541), (65535, 65537, 65535), (100, 100, 100), (32767, 0, 32767), (32768, 0, -32768)],
)
def test_unwrap_near_picks_the_closest_candidate(value: int, reference: int, expected: int) -> None:
    assert unwrap_near(value, reference, SEQ_BITS) == expected
