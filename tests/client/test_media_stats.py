"""Call statistics: ``call.stats`` from aiortc's reports, and the reports the SDK sends to the SFU."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client.media_helpers import (  # noqa: F401
    MEDIA_WAIT,
    RoomFactory,
    loopback_ice,
    room,  # noqa: F401
)
from tests.conftest import RunningServer
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import running_sfu
from weir.client import CallPreferences, CallStats, PeerStats

REPORTING_MS = 1000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The SFU asks for a stats report every second."""
    with running_sfu("sqlite", tmp_path_factory.mktemp("weir-sdk-stats"),
                     stats_reporting_interval_ms=REPORTING_MS) as running:
        yield running


async def test_call_stats_summarise_both_connections(room: RoomFactory) -> None:
    r = await room()
    r.alice.update_call_preferences(CallPreferences(call_stats_reporting_interval=0.5))
    await r.flowing("audio", "video")
    stats: CallStats = await r.alice.stats.subscribe().first(
        lambda s: s.subscriber.summary.get("video_packetsReceived", 0) > 0
        and s.publisher.summary.get("video_packetsSent", 0) > 0, timeout=MEDIA_WAIT)
    assert stats.publisher.summary["audio_packetsSent"] > 0 and stats.publisher.summary["video_bytesSent"] > 0
    assert stats.subscriber.summary["audio_packetsReceived"] > 0
    kinds = {report["type"] for report in stats.publisher.raw.values()}
    assert {"outbound-rtp", "transport"} <= kinds
    layers = {report.get("rid") for report in stats.publisher.raw.values() if report["type"] == "outbound-rtp"}
    assert {"q", "h", "f"} <= layers  # the camera's simulcast layers are reported one by one
    assert any(report["type"] == "inbound-rtp" for report in stats.subscriber.raw.values())
    assert stats.collected_at is not None
    assert isinstance(stats.publisher, PeerStats) and isinstance(stats.subscriber, PeerStats)


async def test_stats_reach_the_sfu_at_the_reporting_interval(room: RoomFactory, server: RunningServer) -> None:
    r = await room()
    await r.flowing("video")
    rooms = server.app.state.sfu.server.rooms
    session = rooms.find(r.bob.cid, r.bob.state.value.user_session_id)
    assert session is not None
    await eventually(lambda: session.last_stats.get("publisher", {}).get("video_packetsSent", 0) > 0,
                     MEDIA_WAIT, "bob's stats report at the SFU")
    first = session.last_stats["publisher"]["video_packetsSent"]
    await eventually(lambda: session.last_stats["publisher"]["video_packetsSent"] > first, MEDIA_WAIT,
                     "the next report")
    assert session.last_stats["subscriber"]["video_packetsReceived"] > 0
