"""Per-subscriber allocation: the best layers that fit the downlink, stepping the costliest down first."""

from __future__ import annotations

from weir.sfu.allocator import VideoDemand, allocate

SIMULCAST = (150_000.0, 500_000.0, 1_500_000.0)


def test_without_a_ceiling_every_video_gets_the_layer_it_asked_for() -> None:
    assert allocate([VideoDemand(2, SIMULCAST), VideoDemand(0, SIMULCAST)], None) == [2, 0]


def test_the_costliest_video_steps_down_until_everything_fits() -> None:
    demands = [VideoDemand(2, SIMULCAST), VideoDemand(1, SIMULCAST)]
    assert allocate(demands, 2_100_000) == [2, 1]  # 2.0 Mbit/s fits
    assert allocate(demands, 1_200_000) == [1, 1]  # 1.5 M stepped down first
    assert allocate(demands, 700_000) == [0, 1]  # then a 500 k one (of equals, the first)
    assert allocate(demands, 300_000) == [0, 0]


def test_when_even_the_lowest_layers_do_not_fit_videos_are_paused_costliest_first() -> None:
    demands = [VideoDemand(0, (100_000.0,)), VideoDemand(1, SIMULCAST)]
    assert allocate(demands, 120_000) == [0, None]
    assert allocate(demands, 50_000) == [None, None]


def test_unmeasured_layers_cost_nothing() -> None:
    assert allocate([VideoDemand(2, (0.0, 0.0, 0.0))], 1) == [2]
