from tests.sfu.packets import inbound
from weir.sfu.forwarder import DropReason, Forwarder
from weir.sfu.munger import Munger
from weir.sfu.selector import LayerSelector


class Listener:
    def __init__(self) -> None:
        self.changes = 0
        self.keyframes: list[int] = []

    def on_layers_changed(self) -> None:
        self.changes += 1

    def on_keyframe_needed(self, layer: int) -> None:
        self.keyframes.append(layer)


def make(target: int | None = 0) -> tuple[Forwarder, Listener]:
    listener = Listener()
    return Forwarder(Munger(90_000, 0, 0), LayerSelector(target), listener), listener


def test_waits_for_a_keyframe_of_the_target_then_forwards_everything_of_it() -> None:
    forwarder, listener = make(target=1)
    assert forwarder.wanted_layers == {1}
    assert forwarder.forward(inbound(1, layer=1)) is None
    assert forwarder.forward(inbound(1, layer=0, keyframe=True)) is None
    assert forwarder.drops[DropReason.WAITING_KEYFRAME] == 1
    assert forwarder.drops[DropReason.OTHER_LAYER] == 1
    assert forwarder.forward(inbound(2, layer=1, keyframe=True)) is not None
    assert (forwarder.current, listener.changes) == (1, 1)
    assert forwarder.forward(inbound(3, layer=1)) is not None


def test_switches_layers_only_on_a_keyframe_of_the_new_target() -> None:
    forwarder, listener = make(target=0)
    forwarder.forward(inbound(100, layer=0, keyframe=True))
    forwarder.set_target(2)
    assert listener.keyframes == [2]
    assert forwarder.wanted_layers == {0, 2}
    assert forwarder.forward(inbound(5000, layer=2)) is None  # not a keyframe: keep layer 0
    assert forwarder.forward(inbound(101, layer=0)) is not None
    seg = forwarder.forward(inbound(5001, layer=2, keyframe=True))
    assert seg is not None and 5001 - seg.seq_offset == 2  # continues after 100 → 0, 101 → 1
    assert forwarder.current == 2 and forwarder.wanted_layers == {2}
    assert forwarder.forward(inbound(102, layer=0)) is None


def test_pause_drops_at_once_and_resume_waits_for_a_keyframe() -> None:
    forwarder, listener = make()
    forwarder.forward(inbound(1, keyframe=True))
    forwarder.set_target(None)
    assert forwarder.current is None and forwarder.wanted_layers == frozenset()
    assert forwarder.forward(inbound(2)) is None
    forwarder.set_target(0)
    assert listener.keyframes == [0]
    assert forwarder.forward(inbound(3)) is None
    seg = forwarder.forward(inbound(4, keyframe=True))
    assert seg is not None and 4 - seg.seq_offset == 1  # 2 and 3 never went out: no hole


def test_setting_the_same_target_changes_nothing() -> None:
    forwarder, listener = make(target=1)
    forwarder.set_target(1)
    assert (listener.changes, listener.keyframes) == (0, [])


def test_padding_is_counted_and_closed() -> None:
    forwarder, _ = make()
    forwarder.forward(inbound(1, keyframe=True))
    forwarder.skip(inbound(2, payload=b""))
    forwarder.skip(inbound(9, layer=1, payload=b""))  # another layer: counted, munger untouched
    seg = forwarder.forward(inbound(3))
    assert seg is not None and 3 - seg.seq_offset == 1
    assert forwarder.drops[DropReason.PADDING] == 2


def test_too_old_packets_are_counted() -> None:
    forwarder, _ = make()
    forwarder.forward(inbound(10, keyframe=True))
    assert forwarder.forward(inbound(9)) is None
    assert forwarder.drops[DropReason.TOO_OLD] == 1


def test_going_back_to_the_current_layer_needs_no_keyframe() -> None:
    forwarder, listener = make(target=0)
    forwarder.forward(inbound(1, keyframe=True))
    forwarder.set_target(2)
    forwarder.set_target(0)
    assert listener.keyframes == [2]
    assert forwarder.wanted_layers == {0}
    assert forwarder.forward(inbound(2)) is not None


def test_keeps_asking_for_a_keyframe_while_waiting_for_one() -> None:
    """The receiver drops keyframe requests within its rate limit, so a waiting forwarder must ask again."""
    forwarder, listener = make(target=1)
    forwarder.forward(inbound(1, layer=1))
    forwarder.forward(inbound(2, layer=0))
    assert listener.keyframes == [1]  # for the target layer's packets only
    forwarder.forward(inbound(3, layer=1, keyframe=True))
    forwarder.forward(inbound(4, layer=1))
    assert listener.keyframes == [1]
