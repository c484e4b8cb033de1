"""Simulcast: a publisher sends three VP8 layers by rid; each subscriber decodes the one its size calls for."""

from __future__ import annotations

from tests.sfu.rtc_peers import LOOPBACK, Peer, SimulcastPublisher, eventually
from weir.sfu.rtc import RtcRoom, Subscription

FRAMES = 10


async def test_each_subscriber_decodes_the_layer_its_size_calls_for_and_switches_on_request() -> None:
    room = RtcRoom("default:simulcast", LOOPBACK)
    publisher = SimulcastPublisher(room, "pub")
    small, large = Peer(room, "small"), Peer(room, "large")
    await small.join()
    await large.join()
    await publisher.publish()
    await small.participant.update_subscriptions([Subscription("pub", "video", 64, 48)])
    await large.participant.update_subscriptions([Subscription("pub", "video", 256, 192)])
    try:
        await eventually(
            lambda: small.frames["pub|video"] >= FRAMES and large.frames["pub|video"] >= FRAMES, what="video"
        )
        assert (small.sizes["pub|video"], large.sizes["pub|video"]) == ((64, 48), (256, 192))
        track = room.track(("pub", "video"))
        assert track is not None and track.rids == ("q", "h", "f")  # ordered by the announced sizes

        await small.participant.update_subscriptions([Subscription("pub", "video", 100, 80)])
        await eventually(lambda: small.sizes["pub|video"] == (128, 96), what="the switch to the middle layer")
        assert publisher.plis["h"] >= 1  # the switch waited for a keyframe the SFU asked for
        frames = small.frames["pub|video"]
        await eventually(lambda: small.frames["pub|video"] >= frames + FRAMES, what="video after the switch")
        assert large.sizes["pub|video"] == (256, 192)
    finally:
        await publisher.close()
        await small.close()
        await large.close()
        await room.close()
