"""The WebSocket hub: routing by user and by watched call, and slow consumers dropped without holding others."""

from __future__ import annotations

from weir.bus import Envelope
from weir.coordinator.realtime.hub import OUTBOX_SIZE, Hub


def event(n: int) -> Envelope:
    return Envelope({"type": "custom", "n": n}, call_cid="default:c", user_ids=frozenset({"member"}))


def test_routing_by_member_and_watcher() -> None:
    hub = Hub()
    member, watcher, stranger = hub.add("member"), hub.add("watcher"), hub.add("stranger")
    hub.watch(watcher, "default:c")
    assert hub.deliver(event(1)) == 2
    assert member.outbox.qsize() == watcher.outbox.qsize() == 1 and stranger.outbox.empty()
    ring = Envelope({"type": "call.ring"}, call_cid="default:c", user_ids=frozenset({"stranger"}), watchers=False)
    hub.deliver(ring)
    assert stranger.outbox.qsize() == 1 and watcher.outbox.qsize() == 1
    hub.remove(watcher)
    assert hub.deliver(event(2)) == 1, "a closed connection no longer watches"


def test_a_slow_consumer_is_closed_and_the_others_keep_receiving() -> None:
    hub = Hub()
    slow, fast = hub.add("member"), hub.add("member")
    received = 0
    for n in range(OUTBOX_SIZE + 10):
        hub.deliver(event(n))
        while not fast.outbox.empty():
            fast.outbox.get_nowait()
            received += 1
    assert received == OUTBOX_SIZE + 10, "the fast connection got every event"
    assert slow.overflowed and slow.close_reason.startswith("too slow")
    drained = [slow.outbox.get_nowait() for _ in range(slow.outbox.qsize())]
    assert drained[-1] is None, "the slow connection's writer is told to close"
