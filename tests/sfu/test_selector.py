import pytest

from tests.sfu.packets import inbound
from weir.sfu.selector import LayerSelector, layer_for_dimensions

LAYERS = [(320, 180), (640, 360), (1280, 720)]


@pytest.mark.parametrize(
    ("width", "height", "layer"),
    [
        (320, 180, 0),
        (160, 90, 0),
        (321, 180, 1),
        (640, 360, 1),
        (180, 320, 0),  # portrait tile, same size
        (1280, 720, 2),
        (1920, 1080, 2),  # larger than any layer: the highest
        (700, 200, 2),
    ],
)
def test_layer_for_dimensions(width: int, height: int, layer: int) -> None:
    assert layer_for_dimensions(LAYERS, width, height) == layer


def test_layer_for_dimensions_needs_layers() -> None:
    with pytest.raises(ValueError):
        layer_for_dimensions([], 1, 1)


def test_can_start_only_on_a_keyframe_of_the_target() -> None:
    selector = LayerSelector(target=1)
    assert selector.can_start(inbound(1, layer=1, keyframe=True))
    assert not selector.can_start(inbound(1, layer=1))
    assert not selector.can_start(inbound(1, layer=0, keyframe=True))
    selector.target = None
    assert not selector.can_start(inbound(1, layer=1, keyframe=True))
