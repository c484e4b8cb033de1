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


def test_the_least_important_video_is_paused_first_and_the_estimate_is_never_left_unused() -> None:
    pinned, speaker = VideoDemand(0, (100_000.0,), 3), VideoDemand(0, (100_000.0,), 1)
    quiet = VideoDemand(0, (100_000.0,))
    assert allocate([quiet, pinned, speaker], 250_000) == [None, 0, 0]
    assert allocate([quiet, pinned, speaker], 150_000) == [None, 0, None]
    # the most important video's lowest layer does not fit, a cheaper one's does: that one is kept
    screen = VideoDemand(0, (400_000.0,), 2)
    assert allocate([quiet, screen], 150_000) == [0, None]


def test_no_video_is_paused_while_the_estimate_carries_the_lowest_layer_of_one() -> None:
    demands = [VideoDemand(2, SIMULCAST, priority) for priority in range(5)]
    for ceiling in (150_000, 200_000, 500_000, 1_000_000):
        layers = allocate(demands, ceiling)
        assert any(layer is not None for layer in layers), ceiling
        assert sum(SIMULCAST[layer] for layer in layers if layer is not None) <= ceiling
    assert allocate(demands, 300_000) == [None, None, None, 0, 0]  # the most important ones
