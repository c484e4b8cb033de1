"""Publish quality: layers nobody is allocated pause after a while, and resume at once when needed."""

from __future__ import annotations

from weir.sfu.layeractivity import PAUSE_AFTER_S, LayerActivity


def test_unneeded_layers_pause_after_the_debounce_and_resume_at_once() -> None:
    layers = LayerActivity(3, 0.0)
    assert layers.update({0}, 1.0) and layers.active == [True, True, True]  # the first always reports
    assert not layers.update({0}, 2.0)
    assert layers.update({0}, PAUSE_AFTER_S) and layers.active == [True, False, False]
    assert not layers.update({0}, PAUSE_AFTER_S + 1)
    assert layers.update({0, 2}, PAUSE_AFTER_S + 2) and layers.active == [True, False, True]


def test_a_layer_needed_now_and_then_does_not_flap() -> None:
    layers = LayerActivity(2, 0.0)
    layers.update({0, 1}, 0.0)
    for second in range(1, 20):
        needed = {0, 1} if second % 2 else {0}
        assert not layers.update(needed, float(second))
    assert layers.active == [True, True]
