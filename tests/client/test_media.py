"""The SDK's media: two clients join through the coordinator and the SFU and exchange audio and video."""

from __future__ import annotations

from tests.client.conftest import WAIT
from tests.client.media_helpers import (  # noqa: F401
    FRAMES,
    MEDIA_WAIT,
    RoomFactory,
    loopback_ice,
    other,
    room,  # noqa: F401
    server,
)
from tests.sfu.lossy import LossyPath
from tests.sfu.rtc_peers import eventually
from weir.client import (
    CallConnectOptions,
    CallPreferences,
    CallStatusConnected,
    ClientPublishOptions,
    SfuTrackType,
    SyntheticSource,
    TrackOption,
    VideoDimension,
)


async def test_two_clients_exchange_audio_and_video(room: RoomFactory) -> None:
    r = await room()
    assert r.alice.state.value.status == CallStatusConnected()
    await r.flowing("audio", "video")
    bob_seen = other(r.alice)
    assert bob_seen.published_tracks == {SfuTrackType.AUDIO, SfuTrackType.VIDEO}
    camera = r.bob.local_track("video")
    assert camera is not None and camera.frames >= FRAMES  # type: ignore[attr-defined]


async def test_muting_and_unmuting_is_seen_by_the_other_client(room: RoomFactory) -> None:
    r = await room()
    await r.flowing("video")
    await r.bob.set_camera_enabled(False)
    await eventually(lambda: SfuTrackType.VIDEO not in other(r.alice).published_tracks, WAIT, "bob's video muted")
    assert not other(r.alice).is_video_enabled and other(r.alice).is_audio_enabled
    await r.bob.set_microphone_enabled(False)
    await eventually(lambda: not other(r.alice).published_tracks, WAIT, "bob's audio muted")
    await r.bob.set_camera_enabled(True)
    await r.bob.set_microphone_enabled(True)
    await eventually(lambda: other(r.alice).published_tracks == {SfuTrackType.AUDIO, SfuTrackType.VIDEO}, WAIT,
                     "bob unmuted")
    await r.flowing("audio", "video")


async def test_audio_levels_and_the_dominant_speaker_reach_the_state(room: RoomFactory) -> None:
    quiet = CallConnectOptions(microphone=TrackOption.enabled(SyntheticSource(amplitude=0.0)))
    r = await room(bob_options=quiet)
    await eventually(lambda: other(r.bob).is_speaking and other(r.bob).audio_level > 0, MEDIA_WAIT,
                     "alice speaking, seen by bob")
    await eventually(lambda: other(r.bob).is_dominant_speaker, MEDIA_WAIT, "alice the dominant speaker")
    assert not r.bob.state.value.local_participant.is_speaking  # type: ignore[union-attr]
    assert other(r.bob).audio_levels


async def test_the_camera_is_sent_in_three_simulcast_layers(room: RoomFactory) -> None:
    r = await room(alice_options=CallConnectOptions())
    bob = other(r.alice)
    sizes = {(40, 30): VideoDimension(40, 30), (80, 60): VideoDimension(80, 60), (160, 120): None}
    for size, preferred in sizes.items():
        await r.alice.set_preferred_incoming_video_resolution(preferred, session_ids=[bob.session_id])
        await eventually(lambda size=size: r.alice.received_video_size(bob) == size, MEDIA_WAIT,
                         f"bob's {size} layer at alice")
    sender = r.bob._sfu.publisher.simulcast  # type: ignore[union-attr]
    assert sender is not None and sender.rids == ["q", "h", "f"]
    assert all(packets > 0 for packets in sender.packets_sent().values())


async def test_one_layer_when_the_preferences_allow_no_simulcast(room: RoomFactory) -> None:
    r = await room(alice_options=CallConnectOptions(), bob_options=CallConnectOptions())
    r.bob.update_call_preferences(CallPreferences(client_publish_options=ClientPublishOptions(max_simulcast_layers=1)))
    await r.bob.set_camera_enabled(True)
    await r.alice.set_preferred_incoming_video_resolution(VideoDimension(40, 30))
    await eventually(lambda: len(r.alice.state.value.other_participants) == 1, MEDIA_WAIT, "bob")
    await eventually(lambda: r.alice.received_frames(other(r.alice)) >= FRAMES, MEDIA_WAIT, "bob's video")
    assert r.alice.received_video_size(other(r.alice)) == (160, 120)  # the one layer there is


async def test_simulcast_layers_resend_what_the_sfu_asks_for(room: RoomFactory) -> None:
    r = await room(alice_options=CallConnectOptions(), bob_options=CallConnectOptions(camera=TrackOption.enabled()))
    await eventually(lambda: len(r.alice.state.value.other_participants) == 1, MEDIA_WAIT, "bob")
    await eventually(lambda: r.alice.received_frames(other(r.alice)) >= FRAMES, MEDIA_WAIT, "bob's video")
    assert r.bob._sfu is not None and r.bob._sfu.publisher is not None
    path = LossyPath(r.bob._sfu.publisher.pc, 0.05, seed=7)  # bob's uplink loses 5% of its packets, both ways
    await eventually(lambda: path.dropped_rtp >= 10, MEDIA_WAIT, "10 packets lost")
    # the SFU NACKed what bob's layers lacked (unless the NACK was lost too), and bob sent most of it again
    assert path.resent >= path.dropped_rtp // 2 > 0, (path.dropped_rtp, path.resent)
    path.rate = 0.0
    # a packet whose NACK was lost too stays missing: alice's decoder asks for a keyframe once its jitter buffer
    # gives up on it (aiortc's receiver), which can take many seconds
    start = r.alice.received_frames(other(r.alice))
    await eventually(lambda: r.alice.received_frames(other(r.alice)) >= start + FRAMES, 2 * MEDIA_WAIT, "video after")

