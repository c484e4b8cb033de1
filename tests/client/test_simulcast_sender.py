"""The SDK's simulcast sender on its own, over a stand-in DTLS transport."""

from __future__ import annotations

from typing import Any

from tests.sfu.rtc_peers import eventually
from weir.client.media.simulcast import SimulcastSender
from weir.client.media.synthetic import TestPatternTrack
from weir.protocol.sfu.models import PublishLayer


class FlakyTransport:
    """Refuses to send (as a DTLS transport between ICE paths does) until ``up``."""

    state = "connected"

    def __init__(self) -> None:
        self.up = False
        self.sent = 0
        self.refused = 0
        self._rtp_router = self

    def register_sender(self, sender: Any, ssrc: int) -> None:
        pass

    async def _send_rtp(self, data: bytes) -> None:
        if not self.up:
            self.refused += 1
            raise ConnectionError("Cannot send encrypted RTP, not connected")
        self.sent += 1


async def test_a_send_refused_for_a_while_loses_those_packets_not_the_camera() -> None:
    layers = [PublishLayer(rid=rid, scale_resolution_down_by=scale, max_bitrate=100_000)
              for rid, scale in (("q", 4.0), ("h", 2.0), ("f", 1.0))]
    sender = SimulcastSender(TestPatternTrack(), layers)
    transport = FlakyTransport()
    sender.start(transport, "0", 1, 2)  # type: ignore[arg-type]
    try:
        await eventually(lambda: transport.refused >= 30, 10, "sends refused")
        transport.up = True
        await eventually(lambda: transport.sent >= 30, 10, "the camera sending again")
    finally:
        await sender.stop()
