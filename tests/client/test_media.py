"""The SDK's media: two clients join through the coordinator and the SFU and exchange audio and video."""

from __future__ import annotations

from tests.client.conftest import WAIT
from tests.client.media_helpers import FRAMES, MEDIA_WAIT, RoomFactory, loopback_ice, other, server  # noqa: F401
from tests.client.media_helpers import room  # noqa: F401
from tests.sfu.rtc_peers import eventually
from weir.client import CallConnectOptions, CallStatusConnected, SfuTrackType, SyntheticSource, TrackOption


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
