"""The SDK's device and track controls, and what the SFU tells a client about the call."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.client.conftest import WAIT
from tests.client.media_helpers import (  # noqa: F401
    AV,
    FRAMES,
    MEDIA_WAIT,
    RoomFactory,
    loopback_ice,
    other,
    room,  # noqa: F401
    server,
)
from tests.sfu.rtc_peers import eventually
from tests.sfu.signaling_peers import SignalingPeer
from weir.client import (
    CallConnectOptions,
    CallStatusDisconnected,
    ConnectionQuality,
    DisconnectReasonEnded,
    DisconnectReasonSfuError,
    FacingMode,
    RtcMediaDeviceKind,
    RtcMediaDeviceNotifier,
    SfuError,
    SfuTrackType,
    TestPatternTrack,
    ToneTrack,
    enumerate_devices,
)
from weir.client.call_media import COORDINATOR_GRACE
from weir.protocol import events as coordinator
from weir.protocol.sfu.events import (
    CallEndedEvent,
    CallGrantsUpdatedEvent,
    PinsUpdatedEvent,
    TrackUnpublishedEvent,
)
from weir.protocol.sfu.models import Participant


async def test_without_devices_the_camera_and_microphone_fall_back_to_synthetic_sources(
        room: RoomFactory, caplog: pytest.LogCaptureFixture) -> None:
    r = await room(bob_options=CallConnectOptions())
    with caplog.at_level(logging.WARNING, logger="weir.client.media.sources"):
        await r.bob.set_camera_enabled(True)
        await r.bob.set_microphone_enabled(True)
    camera, microphone = r.bob.local_track("video"), r.bob.local_track("audio")
    if enumerate_devices(RtcMediaDeviceKind.VIDEO_INPUT):
        assert not isinstance(camera, TestPatternTrack)
    else:
        assert isinstance(camera, TestPatternTrack) and "no usable video device" in caplog.text
    if enumerate_devices(RtcMediaDeviceKind.AUDIO_INPUT):
        assert not isinstance(microphone, ToneTrack)
    else:
        assert isinstance(microphone, ToneTrack) and "no usable audio device" in caplog.text
    await r.flowing("audio", "video")


def test_device_listing_filters_by_kind() -> None:
    everything = RtcMediaDeviceNotifier.instance.enumerate_devices()
    assert everything == enumerate_devices()
    cameras = RtcMediaDeviceNotifier.instance.video_inputs()
    assert all(d.kind is RtcMediaDeviceKind.VIDEO_INPUT and d.format == "v4l2" for d in cameras)
    assert [d for d in everything if d.kind is RtcMediaDeviceKind.AUDIO_INPUT] == \
        RtcMediaDeviceNotifier.instance.audio_inputs()


async def test_a_chosen_video_input_replaces_the_camera_for_the_other_client(room: RoomFactory) -> None:
    r = await room()
    await eventually(lambda: r.alice.received_video_size(other(r.alice)) == (160, 120), MEDIA_WAIT, "bob's camera")
    chosen = TestPatternTrack(width=128, height=96)
    await r.bob.set_video_input_device(chosen)
    assert r.bob.state.value.video_input_device is chosen and r.bob.local_track("video") is chosen
    await eventually(lambda: r.alice.received_video_size(other(r.alice)) == (128, 96), MEDIA_WAIT,
                     "the chosen source at alice")
    await r.flowing("video")


async def test_a_chosen_audio_input_is_what_the_other_client_hears(room: RoomFactory) -> None:
    r = await room()
    await eventually(lambda: other(r.alice).is_speaking, MEDIA_WAIT, "bob's tone heard as speech")
    silence = ToneTrack(amplitude=0.0)
    await r.bob.set_audio_input_device(silence)
    assert r.bob.state.value.audio_input_device is silence
    await eventually(lambda: not other(r.alice).is_speaking, MEDIA_WAIT, "bob silent at alice")
    await r.flowing("audio")


async def test_flipping_the_camera_changes_the_facing_and_video_keeps_flowing(room: RoomFactory) -> None:
    back = replace(AV, camera_facing_mode=FacingMode.ENVIRONMENT)
    r = await room(bob_options=back)
    assert r.bob.connect_options == back and r.bob.camera_facing_mode is FacingMode.ENVIRONMENT
    await r.flowing("video")
    before = r.bob.local_track("video")
    await r.bob.flip_camera()
    assert r.bob.camera_facing_mode is FacingMode.USER
    assert r.bob.local_track("video") is not before
    await r.flowing("video")
    await r.bob.flip_camera()
    assert r.bob.camera_facing_mode is FacingMode.ENVIRONMENT


async def test_screen_share_is_published_received_and_stopped(room: RoomFactory) -> None:
    r = await room()
    await r.bob.set_screen_share_enabled(True)
    await eventually(lambda: other(r.alice).is_screen_share_enabled, WAIT, "bob sharing, seen by alice")
    await eventually(lambda: r.alice.received_frames(other(r.alice), SfuTrackType.SCREEN_SHARE) >= FRAMES,
                     MEDIA_WAIT, "screen share frames at alice")
    await r.bob.set_screen_share_enabled(False)
    await eventually(lambda: not other(r.alice).is_screen_share_enabled, WAIT, "bob stopped sharing")
    await r.flowing("video")


async def test_sfu_events_arrive_typed_and_update_the_state(room: RoomFactory) -> None:
    r = await room()
    async with r.bob.events.subscribe() as events:
        bob_session = r.bob.state.value.user_session_id
        await r.alice.pin(bob_session, for_everyone=True)
        pins = await events.first(lambda e: isinstance(e, PinsUpdatedEvent), timeout=WAIT)
        assert [p.session_id for p in pins.pins] == [bob_session]  # type: ignore[attr-defined]
        await eventually(lambda: r.bob.state.value.local_participant.is_pinned, WAIT, "bob pinned")  # type: ignore
        await r.alice.revoke_permissions(r.bob.state.value.current_user_id, ["send-video"])
        await events.first(lambda e: isinstance(e, CallGrantsUpdatedEvent), timeout=WAIT)
        await eventually(lambda: "send-video" not in r.bob.state.value.own_capabilities, WAIT, "the revoke")
        await eventually(lambda: not other(r.alice).is_video_enabled, WAIT, "bob's video stopped by the SFU")


async def test_the_call_ending_disconnects_the_other_client(room: RoomFactory) -> None:
    r = await room()
    async with r.bob.events.subscribe() as events:
        await r.alice.end()
        # The coordinator's call.ended or the SFU's call_ended, whichever is first: after the coordinator's the
        # client drops its SFU connection, and the SFU's may then never arrive.
        await events.first(lambda e: isinstance(e, (CallEndedEvent, coordinator.CallEndedEvent)), timeout=WAIT)
    await eventually(lambda: r.bob.state.value.status == CallStatusDisconnected(DisconnectReasonEnded()), WAIT,
                     "bob disconnected")
    await eventually(lambda: r.bob._sfu is None, WAIT, "bob's media closed")


async def test_connection_quality_reaches_the_state(room: RoomFactory) -> None:
    r = await room()
    await r.flowing("audio", "video")
    graded = (ConnectionQuality.GOOD, ConnectionQuality.EXCELLENT)
    await eventually(lambda: other(r.alice).connection_quality in graded, MEDIA_WAIT, "bob's connection graded")


async def test_a_moderator_mute_turns_the_microphone_off_and_the_user_may_unmute(room: RoomFactory) -> None:
    r = await room()
    await r.flowing("audio")
    await r.alice.mute_users([r.bob.state.value.current_user_id], audio=True)
    await eventually(lambda: r.bob.local_track("audio") is None, WAIT, "bob's microphone off at bob")
    assert not other(r.alice).is_audio_enabled
    assert not r.bob.state.value.local_participant.is_audio_enabled  # type: ignore[union-attr]
    await r.bob.set_microphone_enabled(True)
    await eventually(lambda: other(r.alice).is_audio_enabled, WAIT, "bob unmuted himself")
    await r.flowing("audio")


async def test_a_track_the_sfu_drops_with_a_failed_connection_stays_on(room: RoomFactory) -> None:
    """What the SFU tells everyone when a publisher connection fails (its tracks unpublished) is no remote mute:
    the camera stays on, so the rejoin that follows publishes it again (a loaded CI run caught a peer that
    rejoined with nothing to publish after the SFU had let its publisher connection fail)."""
    r = await room()
    await r.flowing("video")
    assert r.bob._sfu is not None
    me = r.bob.state.value.local_participant
    assert me is not None and me.is_video_enabled
    dropped = Participant(user_id=me.user_id, session_id=me.session_id, published_tracks=["audio"],
                          joined_at=me.joined_at or datetime.now(UTC))
    r.bob._sfu.handlers.on_event(TrackUnpublishedEvent(session_id=me.session_id, track_type="video",
                                                       cause="unpublished", participant=dropped))
    assert not r.bob.state.value.local_participant.is_video_enabled  # type: ignore[union-attr]  # it got there
    await asyncio.sleep(0.5)  # what it spawned has run
    assert r.bob.local_track("video") is not None


async def test_publishing_without_the_capability_raises_an_sfu_error(room: RoomFactory) -> None:
    r = await room()
    await r.alice.revoke_permissions(r.bob.state.value.current_user_id, ["screenshare"])
    await eventually(lambda: "screenshare" not in r.bob.state.value.own_capabilities, WAIT, "the revoke at bob")
    with pytest.raises(SfuError) as refused:
        await r.bob.set_screen_share_enabled(True)
    assert refused.value.code == "permission_denied" and refused.value.reconnect_strategy == "unspecified"
    assert not other(r.alice).is_screen_share_enabled
    await r.flowing("video")  # the rest of the call is unharmed


async def test_a_session_replaced_elsewhere_disconnects_with_an_sfu_error(room: RoomFactory) -> None:
    r = await room()
    assert r.bob._sfu is not None
    credentials = r.bob._sfu.credentials.model_dump()
    # another socket resumes bob's session (as a second device with the same credentials would)
    thief = await SignalingPeer.join({"credentials": credentials, "user_session_id": r.bob.state.value.user_session_id})
    try:
        await eventually(lambda: r.bob.state.value.status.is_disconnected, WAIT + COORDINATOR_GRACE, "bob dropped")
        reason = r.bob.state.value.status.reason  # type: ignore[attr-defined]
        assert isinstance(reason, DisconnectReasonSfuError) and reason.error.code == "session_replaced"
        assert r.bob._sfu is None
    finally:
        await thief.close()
