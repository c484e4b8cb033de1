"""Public helpers of the SDK that need no server: status questions, facing modes and track options, the default
retry backoff, device listings by kind, the synthetic sources' frames, derived call state and user kinds."""

from __future__ import annotations

import dataclasses

import pytest

from weir.client import (
    CallConnectOptions,
    CallParticipantState,
    CallState,
    CallStatus,
    CallStatusConnected,
    CallStatusConnecting,
    CallStatusDisconnected,
    CallStatusIdle,
    CallStatusIncoming,
    CallStatusJoined,
    CallStatusJoining,
    CallStatusMigrating,
    CallStatusOutgoing,
    CallStatusReconnecting,
    CallStatusReconnectionFailed,
    DisconnectReason,
    FacingMode,
    RetryPolicy,
    RtcMediaDevice,
    RtcMediaDeviceKind,
    RtcMediaDeviceNotifier,
    TestPatternTrack,
    ToneTrack,
    TrackOption,
    User,
    enumerate_devices,
)
from weir.client import status as status_module

QUESTIONS = ("is_idle", "is_incoming", "is_outgoing", "is_joining", "is_joined", "is_connecting", "is_connected",
             "is_reconnecting", "is_disconnected")


@pytest.mark.parametrize(("status", "true", "active"), [
    (CallStatusIdle(), "is_idle", False),
    (CallStatusIncoming(video=True), "is_incoming", False),
    (CallStatusOutgoing(), "is_outgoing", False),
    (CallStatusJoining(), "is_joining", True),
    (CallStatusJoined(), "is_joined", True),
    (CallStatusConnecting(), "is_connecting", True),
    (CallStatusConnected(), "is_connected", True),
    (CallStatusReconnecting(attempt=3), "is_reconnecting", True),
    (CallStatusMigrating(), None, True),
    (CallStatusReconnectionFailed(), None, False),
    (CallStatusDisconnected(), "is_disconnected", False),
])
def test_each_status_answers_exactly_its_own_question(status: CallStatus, true: str | None, active: bool) -> None:
    assert {q for q in QUESTIONS if getattr(status, q)} == ({true} if true else set())
    assert status.is_active is active


def test_every_disconnect_reason_is_a_disconnect_reason() -> None:
    reasons = [value for name, value in vars(status_module).items()
               if name.startswith("DisconnectReason") and name != "DisconnectReason"]
    assert len(reasons) == 11
    for reason in reasons:
        assert issubclass(reason, DisconnectReason) and dataclasses.is_dataclass(reason)
        assert CallStatusDisconnected(reason()).reason == reason()  # each can be built bare and compared


def test_facing_mode_flips_and_tracks_start_disabled() -> None:
    assert FacingMode.USER.flipped() is FacingMode.ENVIRONMENT and FacingMode.ENVIRONMENT.flipped() is FacingMode.USER
    off = TrackOption.disabled()
    assert off == TrackOption() and not off.is_enabled and off.source is None
    defaults = CallConnectOptions()
    assert defaults.camera == defaults.microphone == defaults.screen_share == off


def test_the_default_retry_backoff_doubles_up_to_one_second_with_jitter() -> None:
    backoff = RetryPolicy().backoff
    for attempt, ceiling in ((1, 0.25), (2, 0.5), (3, 1.0), (4, 1.0), (20, 1.0), (5000, 1.0)):
        delays = {backoff(attempt) for _ in range(200)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays), (attempt, min(delays), max(delays))
        assert len(delays) > 100, "jittered, not one fixed delay"
    assert RetryPolicy().max_retries is None


def test_device_listings_by_kind_agree() -> None:
    devices = RtcMediaDeviceNotifier.instance
    for kind, listing in ((RtcMediaDeviceKind.AUDIO_OUTPUT, devices.audio_outputs()),
                          (RtcMediaDeviceKind.AUDIO_INPUT, devices.audio_inputs()),
                          (RtcMediaDeviceKind.VIDEO_INPUT, devices.video_inputs())):
        assert listing == enumerate_devices(kind) == devices.enumerate_devices(kind)
        assert all(isinstance(d, RtcMediaDevice) and d.kind is kind for d in listing)


async def test_the_synthetic_sources_count_what_they_produce() -> None:
    pattern = TestPatternTrack(width=64, height=48)
    frames = [await pattern.recv() for _ in range(3)]
    assert [(f.width, f.height) for f in frames] == [(64, 48)] * 3
    assert pattern.frames == pattern.count == 3
    assert len({bytes(f.planes[0]) for f in frames}) == 3  # every frame differs, so every frame is encoded
    pattern.stop()

    tone, silence = ToneTrack(), ToneTrack(amplitude=0.0)
    sound, quiet = await tone.recv(), await silence.recv()
    assert (sound.samples, sound.sample_rate, tone.frames) == (960, 48_000, 1)  # 20 ms
    assert any(bytes(sound.planes[0])) and not any(bytes(quiet.planes[0]))
    tone.stop()
    silence.stop()


def test_derived_call_state() -> None:
    talking = CallParticipantState("ann", "s-ann", is_speaking=True)
    state = CallState("audio_room:morning", "bob", call_participants=(
        talking, CallParticipantState("bob", "s-bob", is_local=True), CallParticipantState("cy", "s-cy")))
    assert state.active_speakers == (talking,)
    assert (state.call_type, state.call_id) == ("audio_room", "morning")
    assert state.local_participant is not None and state.local_participant.user_id == "bob"
    assert not state.created_by_me and state.ringing_members == ()


def test_user_kinds() -> None:
    assert User.anonymous().is_anonymous and not User.regular("ann").is_anonymous
    assert not User.guest("visitor").is_anonymous
    assert User.regular("ann", name="Ann", custom={"k": 1}).details() == {"id": "ann", "name": "Ann",
                                                                          "custom": {"k": 1}}
