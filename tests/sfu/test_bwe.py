"""Bandwidth estimates: the downlink ceiling from REMB and loss, the uplink REMB, and the meters behind them."""

from __future__ import annotations

from weir.sfu.bwe import (
    CONGESTED_LOSS,
    HOLD_MIN_S,
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


def test_loss_twice_in_a_row_cuts_the_ceiling_below_what_was_sent_and_regrowth_waits_out_a_hold() -> None:
    estimate = DownlinkEstimate()
    estimate.on_loss(0.2)
    assert estimate.update(1_000_000, 2_000_000, -2.0) is None  # once: a stall, say
    assert estimate.update(1_000_000, 2_000_000, -1.0) is None  # no report: the streak goes on
    estimate.on_loss(0.2)
    assert estimate.update(1_000_000, 2_000_000, 0.0) == 900_000  # cut by half the loss
    assert estimate.update(900_000, 2_000_000, HOLD_MIN_S / 2) == 900_000  # held
    grown = estimate.update(900_000, 2_000_000, HOLD_MIN_S)
    assert grown is not None and grown > 900_000
    for second in range(3, 30):  # clean: it grows until everything wanted fits with room, then lifts
        if estimate.update(900_000, 2_000_000, float(second)) is None:
            break
    assert estimate.ceiling is None


def test_a_remb_that_falls_under_what_is_sent_is_congestion() -> None:
    estimate = DownlinkEstimate()
    for second, remb in enumerate((100_000, 150_000, 200_000)):  # a browser's estimate climbing from low
        estimate.on_remb(remb)
        assert estimate.update(1_000_000, 1_000_000, float(second)) is None
    estimate.on_remb(400_000)
    assert estimate.update(300_000, 1_000_000, 3.0) is None  # it rose
    estimate.on_remb(350_000)
    assert estimate.update(300_000, 1_000_000, 4.0) is None  # it fell, but is above what is sent
    estimate.on_remb(200_000)
    assert estimate.update(1_000_000, 1_000_000, 5.0) == 200_000


def test_congestion_right_after_regrowth_doubles_the_hold() -> None:
    estimate = DownlinkEstimate()
    for second in (-1.0, 0.0):
        estimate.on_loss(CONGESTED_LOSS * 2)
        estimate.update(1_000_000, 2_000_000, second)
    estimate.update(800_000, 2_000_000, HOLD_MIN_S)  # regrows
    estimate.on_loss(CONGESTED_LOSS * 2)
    cut = estimate.update(800_000, 2_000_000, HOLD_MIN_S + 1)
    assert estimate.update(800_000, 2_000_000, HOLD_MIN_S + 1 + HOLD_MIN_S) == cut  # still held: twice as long
    assert (estimate.update(800_000, 2_000_000, HOLD_MIN_S + 1 + 2 * HOLD_MIN_S) or 0) > (cut or 0)


def test_the_ceiling_never_goes_under_the_minimum() -> None:
    estimate = DownlinkEstimate()
    estimate.on_loss(1.0)
    estimate.update(10_000, 100_000, 0.0)
    estimate.on_loss(1.0)
    assert estimate.update(10_000, 100_000, 1.0) == MIN_BITRATE


def test_the_uplink_estimate_grows_on_a_clean_path_within_its_headroom_and_cuts_on_loss() -> None:
    estimate = UplinkEstimate()
    first = estimate.update(400_000, 0.0)
    assert first > UPLINK_START
    assert estimate.update(100_000, 0.0) <= 2 * 100_000 + UPLINK_START  # an idle encoder gets no runaway
    held = estimate.update(100_000, 0.05)
    assert estimate.update(100_000, 0.05) == held
    assert estimate.update(600_000, 0.3) == 510_000


def test_lasting_congestion_without_a_regrowth_keeps_the_hold_short() -> None:
    estimate = DownlinkEstimate()
    for second in range(6):  # six lossy seconds: cut after cut
        estimate.on_loss(0.3)
        cut = estimate.update(500_000, 2_000_000, float(second))
    assert estimate.update(500_000, 2_000_000, 5 + HOLD_MIN_S) != cut  # regrows after the shortest hold
