"""Bandwidth and quality with real aiortc peers: REMB both ways, layers nobody receives paused at the publisher,
video paused for a subscriber whose path cannot carry it, and connection quality from what is lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.sfu.lossy import LossyPath
from tests.sfu.rtc_peers import LOOPBACK, Peer, SimulcastPublisher, eventually
from weir.sfu.rtc import RtcParticipant, RtcRoom, Subscription

DEFAULT_VP8_BITRATE = 500_000  # aiortc's encoder starts here; only a REMB moves it


class Recorded:
    """The room's and some participants' bandwidth and quality callbacks, as they are called."""

    def __init__(self, room: RtcRoom) -> None:
        self.quality: dict[str, str] = {}
        self.inbound: list[tuple[str, str, bool]] = []
        self.publish_quality: list[tuple[str, list[tuple[str, bool]]]] = []
        room.on_connection_quality = self._quality

    def watch(self, participant: RtcParticipant) -> None:
        participant.on_inbound_state = self._inbound
        participant.on_publish_quality = self._publish_quality

    async def _quality(self, grades: dict[str, Any]) -> None:
        self.quality.update(grades)

    async def _inbound(self, states: list[tuple[str, str, bool]]) -> None:
        self.inbound.extend(states)

    async def _publish_quality(self, track_type: str, layers: list[tuple[str, bool]]) -> None:
        self.publish_quality.append((track_type, layers))


def vp8_target_bitrate(peer: Peer) -> int:
    sender = next(s for s in peer.publisher_pc.getSenders() if s.track is not None and s.track.kind == "video")
    encoder = sender._RTCRtpSender__encoder  # type: ignore[attr-defined]
    return 0 if encoder is None else int(encoder.target_bitrate)


@asynccontextmanager
async def video_call(cid: str) -> AsyncIterator[tuple[Recorded, Peer, Peer]]:
    """A room where "sub" receives the video "pub" publishes; "sub"'s callbacks are recorded."""
    room = RtcRoom(cid, LOOPBACK)
    recorded = Recorded(room)
    pub, sub = Peer(room, "pub"), Peer(room, "sub")
    await pub.join()
    await sub.join()
    recorded.watch(sub.participant)
    try:
        await pub.publish(audio=False)
        await sub.subscribe(pub, track_types=("video",))
        yield recorded, pub, sub
    finally:
        await pub.close()
        await sub.close()
        await room.close()


async def test_remb_flows_both_ways_and_a_clean_call_is_excellent() -> None:
    async with video_call("default:remb") as (recorded, pub, sub):
        # aiortc's receiver sends REMB only for packets with abs-send-time, which the SFU adds to what it forwards
        await eventually(lambda: sub.participant.downlink.estimate.remb is not None, timeout_s=20,
                         what="a REMB from the subscriber")
        # the SFU's REMB moves the publisher's encoder off its default rate, up: the path is clean
        await eventually(lambda: vp8_target_bitrate(pub) > DEFAULT_VP8_BITRATE, timeout_s=10,
                         what="the publisher's encoder ramped up by the SFU's REMB")
        await eventually(lambda: recorded.quality == {"pub": "excellent", "sub": "excellent"}, timeout_s=15,
                         what="both connections graded excellent")
        assert sub.participant.downlink.rtt.rtt_ms is not None  # the SRs the SFU relayed came back in RRs
        assert sub.participant.downlink.estimate.ceiling is None and recorded.inbound == []


async def test_layers_nobody_receives_are_paused_at_the_publisher_and_resumed_when_needed() -> None:
    room = RtcRoom("default:publish-quality", LOOPBACK)
    recorded = Recorded(room)
    publisher = SimulcastPublisher(room, "pub")
    sub = Peer(room, "sub")
    await sub.join()
    await publisher.publish()
    recorded.watch(publisher.participant)
    await sub.participant.update_subscriptions([Subscription("pub", "video", 64, 48)])
    try:
        await eventually(lambda: ("video", [("q", True), ("h", False), ("f", False)]) in recorded.publish_quality,
                         timeout_s=15, what="h and f paused")
        assert sub.frames["pub|video"] > 0 and sub.sizes["pub|video"] == (64, 48)
        await sub.participant.update_subscriptions([Subscription("pub", "video", 256, 192)])
        await eventually(lambda: recorded.publish_quality[-1] == ("video", [("q", False), ("h", False), ("f", True)]),
                         timeout_s=15, what="f resumed, then q paused")
        assert ("video", [("q", True), ("h", False), ("f", True)]) in recorded.publish_quality  # f resumed at once
        await eventually(lambda: sub.sizes["pub|video"] == (256, 192), what="the high layer decoded")
    finally:
        await publisher.close()
        await sub.close()
        await room.close()


async def test_a_subscriber_whose_path_loses_heavily_has_its_video_paused_then_resumed() -> None:
    async with video_call("default:lossy-downlink") as (recorded, pub, sub):
        await eventually(lambda: sub.received(pub, "video") >= 10, timeout_s=20, what="video before the loss")
        path = LossyPath(sub.subscriber_pc, 0.4, seed=7)
        await eventually(lambda: ("pub", "video", True) in recorded.inbound, timeout_s=30,
                         what="the video paused for the lossy subscriber")
        await eventually(lambda: recorded.quality.get("sub") == "poor", timeout_s=20, what="poor quality")
        assert recorded.quality.get("pub") != "poor"  # the publisher's own path is clean
        path.rate = 0.0
        await eventually(lambda: recorded.inbound[-1] == ("pub", "video", False), timeout_s=40,
                         what="the video resumed once the path is clean")
        frames = sub.received(pub, "video")
        await eventually(lambda: sub.received(pub, "video") >= frames + 10, timeout_s=20, what="video after resuming")


async def test_a_subscriber_on_a_lossy_path_steps_down_through_the_simulcast_layers() -> None:
    room = RtcRoom("default:lossy-simulcast", LOOPBACK)
    publisher = SimulcastPublisher(room, "pub")
    sub = Peer(room, "sub")
    await sub.join()
    await publisher.publish()
    await sub.participant.update_subscriptions([Subscription("pub", "video", 256, 192)])
    try:
        await eventually(lambda: sub.sizes.get("pub|video") == (256, 192), timeout_s=20, what="the high layer")
        (slot,) = sub.participant.subscribed
        caps: list[int | None] = []
        sizes: set[tuple[int, int]] = set()

        def stepped_down_then_paused() -> bool:
            if not caps or caps[-1] != slot.cap:
                caps.append(slot.cap)
            sizes.add(sub.sizes["pub|video"])
            return None in caps

        LossyPath(sub.subscriber_pc, 0.3, seed=5)
        # (a wait, not a target: on a loaded machine the estimate takes longer to fall past the lowest layer)
        await eventually(stepped_down_then_paused, timeout_s=60, what="the video paused")
        below = [cap for cap in caps[: caps.index(None)] if cap is not None and cap < slot.target]
        assert below, caps  # lower layers were tried before pausing
        assert sizes & {(64, 48), (128, 96)}, sizes  # and decoded
    finally:
        await publisher.close()
        await sub.close()
        await room.close()
