import pytest

from tests.sfu.packets import inbound
from weir.sfu.munger import SEGMENT_HISTORY, Munger, Segment

START_SEQ, START_TS = 65534, 2**32 - 100


def out(munger: Munger, ext_seq: int, ext_ts: int = 0) -> int | None:
    seg = munger.translate(inbound(ext_seq, ext_ts))
    return None if seg is None else ext_seq - seg.seq_offset


def started(ext_seq: int = 10) -> Munger:
    munger = Munger(90_000, START_SEQ, START_TS)
    munger.rebase(inbound(ext_seq, 900, keyframe=True))
    return munger


# (operation, source ext_seq, expected outgoing ext_seq or None), applied in order after a start at source 10
SCENARIO = [
    ("forward", 11, START_SEQ + 1),
    ("forward", 13, START_SEQ + 3),  # upstream loss of 12: the gap stays, for the subscriber to NACK
    ("forward", 12, START_SEQ + 2),  # the retransmission fills it
    ("skip", 14, None),  # padding right after the highest: closed
    ("forward", 15, START_SEQ + 4),
    ("skip", 17, None),  # padding after a gap (16 missing): cannot be closed
    ("forward", 18, START_SEQ + 7),
    ("forward", 16, START_SEQ + 5),  # late, placed by the segment in force when 16 went by
    ("forward", 9, None),  # from before the start
]


def test_scenario_table() -> None:
    munger = started()
    for operation, ext_seq, expected in SCENARIO:
        if operation == "skip":
            munger.skip(inbound(ext_seq))
        else:
            assert out(munger, ext_seq) == expected, (operation, ext_seq)
    assert munger.last_out_seq == START_SEQ + 7


def test_outgoing_numbers_wrap_past_65535_and_2_to_the_32() -> None:
    munger = started()
    seg = munger.translate(inbound(13, 900 + 200))
    assert seg is not None
    assert 13 - seg.seq_offset == 65537  # written as 1
    assert 1100 - seg.ts_offset == 2**32 + 100  # written as 100


def test_first_rebase_uses_the_start_numbers() -> None:
    munger = Munger(48_000, 7, 8)
    assert munger.last_out_seq == 6
    seg = munger.rebase(inbound(500, 9000, layer=2, ext_pid=40, ext_tl0=3))
    assert seg == Segment(layer=2, start=500, seq_offset=493, ts_offset=8992, pid_offset=0, tl0_offset=0)


def test_rebase_continues_sequence_timestamp_and_vp8_ids() -> None:
    munger = Munger(90_000, 100, 1000)
    munger.rebase(inbound(10, 50_000, arrival_ns=0, ext_pid=7, ext_tl0=1))
    munger.translate(inbound(11, 53_000, arrival_ns=33_000_000, ext_pid=8, ext_tl0=2))
    seg = munger.rebase(inbound(9000, 777_000, layer=1, arrival_ns=133_000_000, ext_pid=500, ext_tl0=60))
    assert 9000 - seg.seq_offset == 102
    assert 777_000 - seg.ts_offset == 1000 + 3000 + 9000  # 100 ms later at 90 kHz
    assert 500 - seg.pid_offset == 9  # previous packet's outgoing picture id was 8
    assert 60 - seg.tl0_offset == 3
    assert munger.translate(inbound(11)) is None  # old layer's numbers are from before the switch


def test_rebase_with_no_time_gap_still_advances_the_timestamp() -> None:
    munger = Munger(90_000, 0, 0)
    munger.rebase(inbound(1, 100))
    seg = munger.rebase(inbound(50, 5000, layer=1))
    assert 5000 - seg.ts_offset == 1


def test_rebase_after_skips_continues_after_the_skipped_numbers() -> None:
    munger = started()
    munger.skip(inbound(11))
    munger.skip(inbound(12))
    seg = munger.rebase(inbound(700, 0, layer=1))
    assert 700 - seg.seq_offset == START_SEQ + 1  # 11 and 12 were never sent: no hole


def test_a_run_of_skips_keeps_one_segment() -> None:
    munger = started()
    for ext_seq in range(11, 11 + 5 * SEGMENT_HISTORY):
        munger.skip(inbound(ext_seq))
    assert out(munger, 11 + 5 * SEGMENT_HISTORY) == START_SEQ + 1
    assert out(munger, 10) == START_SEQ  # the start segment is still in the history


def test_history_is_bounded() -> None:
    munger = started()
    ext_seq = 10
    for _ in range(SEGMENT_HISTORY + 1):
        munger.skip(inbound(ext_seq + 1))
        ext_seq += 2
        assert out(munger, ext_seq) is not None
    assert out(munger, 10) is None  # its segment fell out of the history


def test_skip_before_any_packet_or_of_an_old_packet_does_nothing() -> None:
    munger = Munger(90_000, 0, 0)
    munger.skip(inbound(5))
    assert munger.segment is None
    munger = started()
    munger.translate(inbound(12))
    munger.skip(inbound(11))
    assert out(munger, 13) == START_SEQ + 3


@pytest.mark.parametrize("clock_rate", [48_000, 90_000])
def test_random_start_numbers_fit_their_fields(clock_rate: int) -> None:
    munger = Munger(clock_rate)
    seg = munger.rebase(inbound(0, 0))
    assert 0 <= -seg.seq_offset < 2**16 and 0 <= -seg.ts_offset < 2**32
