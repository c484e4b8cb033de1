"""Bandwidth estimates: the downlink ceiling from REMB and loss, the uplink REMB, and the meters behind them."""

from __future__ import annotations

from weir.sfu.bwe import (
    CONGESTED_LOSS,
    HOLD_MIN_S,
    LIMIT_MEMORY_S,
    MIN_BITRATE,
    UPLINK_START,
    DownlinkEstimate,
    LayerMeter,
    RateMeter,
    UplinkEstimate,
)

SECOND = 1_000_000_000


def test_a_rate_meter_measures_and_can_hold_an_idle_counter() -> None:
    meter = RateMeter()
    meter.sample(0, 0)
    assert meter.sample(125_000, SECOND) == 500_000  # half of 1 Mbit/s on the first interval
    assert meter.sample(250_000, 2 * SECOND) == 750_000
    assert meter.sample(250_000, 3 * SECOND, hold_when_idle=True) == 750_000
    assert meter.sample(250_000, 4 * SECOND) == 375_000


def test_a_layer_meter_counts_what_arrived_and_what_the_sequence_numbers_say_was_sent() -> None:
    meter = LayerMeter()
    meter.sample(10, 10_000, 9, 0)
    meter.sample(100, 100_000, 109, SECOND)  # 100 sent, 90 arrived
    assert (meter.received, meter.expected, meter.octets) == (90, 100, 90_000)
    meter.sample(100, 100_000, 109, 2 * SECOND)  # paused: the cost is held
    assert meter.cost.bps > 0 and meter.received == 0


def test_a_clean_downlink_sets_no_ceiling() -> None:
    estimate = DownlinkEstimate()
    estimate.on_remb(2_000_000)
    assert estimate.update(1_000_000, 1_000_000, 0.0) is None


def following(estimate: DownlinkEstimate, wanted: float, seconds: range, loss: float = 0.0,
              **options: float) -> float | None:
    """Update once a second, sending what the allocation would: what is wanted, within the ceiling."""
    for second in seconds:
        estimate.on_loss(loss)
        sent = wanted if estimate.ceiling is None else min(estimate.ceiling, wanted)
        estimate.update(sent, wanted, float(second), **options)
    return estimate.ceiling


def test_loss_twice_in_a_row_cuts_the_ceiling_to_what_got_through_and_regrowth_waits_out_a_hold() -> None:
    estimate = DownlinkEstimate()
    estimate.on_loss(0.2)
    assert estimate.update(1_000_000, 2_000_000, -2.0) is None  # once: a stall, say
    assert estimate.update(1_000_000, 2_000_000, -1.0) is None  # no report: the streak goes on
    estimate.on_loss(0.2)
    assert estimate.update(1_000_000, 2_000_000, 0.0) == 800_000  # what got through (and under 1 M less half the loss)
    estimate.on_loss(0.0)
    assert estimate.update(800_000, 2_000_000, HOLD_MIN_S / 2) == 800_000  # held
    # clean: it stays at what got through for a while, then grows until everything wanted fits with room
    assert following(estimate, 2_000_000, range(2, int(LIMIT_MEMORY_S))) == 800_000
    assert following(estimate, 2_000_000, range(int(LIMIT_MEMORY_S), int(LIMIT_MEMORY_S) + 15)) is None


def test_a_remb_under_what_is_sent_and_not_rising_with_some_loss_twice_in_a_row_is_congestion() -> None:
    estimate = DownlinkEstimate()
    sent = {1: 1_000_000.0}
    for second, remb in enumerate((100_000, 150_000, 200_000)):  # a browser's estimate climbing from low
        estimate.on_remb(remb, (1,))
        estimate.on_loss(0.05)
        assert estimate.update(1_000_000, 1_000_000, float(second), sent) is None
    estimate.on_remb(150_000, (1,))
    estimate.on_loss(0.05)
    assert estimate.update(1_000_000, 1_000_000, 3.0, sent) is None  # it fell: once is a stall
    estimate.on_remb(350_000, (1,))
    estimate.on_loss(0.05)
    assert estimate.update(300_000, 1_000_000, 4.0, {1: 300_000.0}) is None  # above what is sent
    for second in (5.0, 6.0):  # under it, not rising, but nothing lost: a busy client's own delays
        estimate.on_remb(200_000, (1,))
        estimate.on_loss(0.0)
        assert estimate.update(1_000_000, 1_000_000, second, sent) is None
    estimate.on_loss(0.05)
    assert estimate.update(1_000_000, 1_000_000, 7.0, sent) is None
    estimate.on_loss(0.05)
    assert estimate.update(1_000_000, 1_000_000, 8.0, sent) == 200_000  # with loss, twice: cut to it


def test_rembs_naming_one_track_each_add_up_and_starve_nothing() -> None:
    """aiortc sends one REMB per received track, each about 1.5 x that track's rate."""
    estimate = DownlinkEstimate()
    sent = {ssrc: 100_000.0 for ssrc in range(1, 6)}
    for second in range(10):
        for ssrc in sent:
            estimate.on_remb(160_000 - second * 1_000, (ssrc, ssrc + 100))  # the media and RTX SSRCs
        assert estimate.update(500_000, 500_000, float(second), sent) is None
    assert estimate.remb == 5 * 151_000


def test_the_stale_remb_of_a_paused_track_does_not_count_when_it_comes_back() -> None:
    estimate = DownlinkEstimate()
    estimate.on_remb(300_000, (1,))
    estimate.update(200_000, 200_000, 0.0, {1: 200_000.0})
    estimate.on_remb(100_000, (1,))  # its last word before the pause
    estimate.update(200_000, 200_000, 1.0, {1: 200_000.0})
    for second in range(2, 6):  # paused: nothing sent, no REMB
        estimate.update(0, 200_000, float(second), {1: 0.0})
    for second in range(6, 9):  # back: aiortc's estimate climbs 8 % a report from where it was
        estimate.on_remb(100_000 + 8_000 * (second - 5), (1,))
        assert estimate.update(200_000, 200_000, float(second), {1: 200_000.0}) is None


def test_random_loss_that_does_not_fall_when_less_is_sent_is_cut_for_once() -> None:
    estimate = DownlinkEstimate()
    ceilings = []
    for second in range(30):  # 15 % loss whatever is sent
        estimate.on_loss(0.15)
        ceilings.append(estimate.update(800_000, 1_000_000, float(second)))
    assert ceilings[1] == 800_000 * 0.85
    assert len({ceiling for ceiling in ceilings[1:10]}) == 1  # no second cut: the first did not lower the loss
    assert ceilings[-1] is not None and ceilings[-1] < ceilings[1]  # after a while it may cut again, once
    assert ceilings[-1] >= 800_000 * 0.85**3


def test_loss_that_falls_as_less_is_sent_is_cut_for_again() -> None:
    estimate = DownlinkEstimate()
    for second, (sent, loss) in enumerate(((1_000_000, 0.7), (1_000_000, 0.7), (300_000, 0.3), (250_000, 0.15))):
        estimate.on_loss(loss)  # a 200 kbit/s policer: each cut lowers the loss
        estimate.update(sent, 2_000_000, float(second))
    assert estimate.ceiling == 300_000 * 0.7 * (1 - 0.15 / 2)


def test_a_cut_starts_from_the_ceiling_when_the_allocation_sent_less() -> None:
    estimate = DownlinkEstimate()
    for second in (0.0, 1.0):
        estimate.on_loss(0.12)
        estimate.update(1_000_000, 2_000_000, second)
    assert estimate.ceiling == 880_000
    for second in range(2, 42):  # the allocation sends 700 k of it; loss comes and goes, answered each time
        estimate.on_loss(0.12 if second % 25 in (0, 1) else 0.05)
        estimate.update(700_000, 2_000_000, float(second))
    assert estimate.ceiling == 880_000 * 0.94  # not cut to what got through of the less that was sent


def test_congestion_right_after_regrowth_doubles_the_hold() -> None:
    estimate = DownlinkEstimate()
    following(estimate, 2_000_000, range(-1, 1), loss=CONGESTED_LOSS * 2)
    cut = following(estimate, 2_000_000, range(1, 2 + int(LIMIT_MEMORY_S)))  # held at what got through, then grows
    assert cut is not None and cut > 800_000
    regrown = estimate._regrown_at
    following(estimate, 2_000_000, range(int(regrown) + 1, int(regrown) + 3), loss=CONGESTED_LOSS * 2)
    cut = estimate.ceiling
    at = int(regrown) + 3
    assert following(estimate, 2_000_000, range(at, at + 2 * int(HOLD_MIN_S) - 1)) == cut  # held twice as long


def test_the_ceiling_never_goes_under_the_minimum() -> None:
    estimate = DownlinkEstimate()
    estimate.on_loss(1.0)
    estimate.update(10_000, 100_000, 0.0)
    estimate.on_loss(1.0)
    assert estimate.update(10_000, 100_000, 1.0) == MIN_BITRATE


def test_the_uplink_estimate_grows_on_a_clean_path_within_its_headroom_and_cuts_on_loss() -> None:
    estimate = UplinkEstimate()
    first = estimate.update(400_000, 0.0, 0.0)
    assert first > UPLINK_START
    assert estimate.update(100_000, 0.0, 1.0) <= 2 * 100_000 + UPLINK_START  # an idle encoder gets no runaway
    held = estimate.update(100_000, 0.05, 2.0)
    assert estimate.update(100_000, 0.05, 3.0) == held
    assert estimate.update(600_000, 0.2, 4.0) == 540_000
    assert estimate.update(540_000, 0.2, 5.0) == 540_000  # the cut did not lower the loss: random, held
    assert estimate.update(540_000, 0.35, 6.0) == 445_500  # heavy loss is cut for regardless


def test_lasting_congestion_without_a_regrowth_keeps_the_hold_short() -> None:
    estimate = DownlinkEstimate()
    for second, loss in enumerate((0.6, 0.6, 0.4, 0.28, 0.2, 0.14)):  # six lossy seconds, each cut answered
        estimate.on_loss(loss)
        cut = estimate.update(500_000, 2_000_000, float(second))
    assert estimate.update(500_000, 2_000_000, 5 + HOLD_MIN_S) != cut  # regrows after the shortest hold


def test_a_regrowth_takes_at_least_the_next_step_up_so_paused_video_comes_back_quickly() -> None:
    estimate = DownlinkEstimate()
    following(estimate, 100_000, range(6), loss=0.9)
    assert estimate.ceiling == MIN_BITRATE
    estimate._limit_at = -LIMIT_MEMORY_S  # long ago
    estimate.on_loss(0.0)
    assert estimate.update(0, 100_000, 5.0 + HOLD_MIN_S, next_bps=30_000) == 2 * MIN_BITRATE  # at most doubled
    estimate.on_loss(0.0)
    assert estimate.update(0, 100_000, 6.0 + HOLD_MIN_S, next_bps=30_000) == 30_000
    estimate.on_loss(0.0)
    assert estimate.update(30_000, 100_000, 7.0 + HOLD_MIN_S, next_bps=55_000) == 55_000
    estimate.on_loss(0.0)
    assert estimate.update(30_000, 100_000, 8.0 + HOLD_MIN_S, next_bps=55_000) == 55_000  # no further than that


def test_loss_short_of_heavy_never_cuts_under_the_floor_heavy_loss_may() -> None:
    estimate = DownlinkEstimate()
    for second, loss in enumerate((0.28, 0.28, 0.2, 0.14)):  # answered by each cut (it falls as the ceiling does)
        estimate.on_loss(loss)
        estimate.update(200_000, 200_000, float(second), floor_bps=150_000)
    assert estimate.ceiling == 150_000  # audio and one video's lowest layer
    for second in range(10, 20):
        estimate.on_loss(0.6)
        estimate.update(150_000, 200_000, float(second), floor_bps=150_000)
    assert estimate.ceiling == MIN_BITRATE


def test_the_floor_follows_what_audio_and_a_lowest_layer_cost_unless_the_loss_is_heavy() -> None:
    estimate = DownlinkEstimate()
    following(estimate, 200_000, range(3), loss=0.2, floor_bps=100_000)
    assert estimate.ceiling is not None and estimate.ceiling < 200_000
    following(estimate, 200_000, range(3, 6), loss=0.2, floor_bps=190_000)  # audio costs more now
    assert estimate.ceiling == 190_000
    following(estimate, 200_000, range(6, 12), loss=0.6, floor_bps=190_000)
    assert estimate.ceiling is not None and estimate.ceiling < 190_000


def test_after_heavy_loss_paused_every_video_a_regrowth_reaches_the_floor_though_it_cost_more_than_got_through(
) -> None:
    estimate = DownlinkEstimate()
    following(estimate, 12_500, range(4), loss=0.45, floor_bps=12_500)
    assert estimate.ceiling == MIN_BITRATE  # heavy loss: under the floor, the video is paused
    # paused: nothing is sent, so nothing is reported; the lowest layer's measured cost drifted up a little
    for second in range(4, 4 + int(HOLD_MIN_S) * 4):
        estimate.update(0, 12_800, float(second), next_bps=12_800, floor_bps=12_800)
    assert estimate.ceiling == 12_800  # within the limit's memory, yet enough for the lowest layer again


def test_regrowth_past_a_policers_rate_backs_off_exponentially() -> None:
    """A 800 kbit/s policer and 2 Mbit/s wanted: each regrowth past what got through loses heavily. After each
    such failure the limit is kept twice as long, so in 200 s the path is overshot a few times, not every 25 s."""
    estimate = DownlinkEstimate()
    tries, over = 0, False
    for second in range(200):
        sent = 2_000_000.0 if estimate.ceiling is None else min(estimate.ceiling, 2_000_000.0)
        tries += sent > 800_000 and not over
        over = sent > 800_000
        estimate.on_loss(max(0.0, 1 - 800_000 / sent))
        estimate.update(sent, 2_000_000, float(second), floor_bps=200_000)
    assert 1 < tries <= 4
