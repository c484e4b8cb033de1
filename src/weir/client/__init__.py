"""Weir's Python client SDK (asyncio): the documented ``StreamVideo`` client API in snake_case.

    client = StreamVideo(api_key, user=User.regular(user_id="alice", name="Alice"), user_token=token)
    call = client.make_call(call_type=StreamCallType.default_type(), id="standup")
    await call.get_or_create(member_ids=["bob"])
    await call.join()

The coordinator half is REST and a WebSocket; the media half (``call_media.py``, ``media/``, ``sfu/``) joins the
SFU with aiortc. docs/python-sdk.md maps every Dart name to its Python name.
"""

from weir.client._observable import Listener, Selected, StateStream, Subscription
from weir.client.call import Call
from weir.client.call_type import (
    CallPermission,
    CallRejectReason,
    SortParamRequest,
    StreamBackstageSettings,
    StreamCallType,
    StreamLimitsSettings,
    StreamTranscriptionSettings,
)
from weir.client.client import ClientState, QueryCallsResult, StreamVideo
from weir.client.errors import VideoError, WeirAPIError
from weir.client.events import EventStream
from weir.client.media.devices import RtcMediaDevice, RtcMediaDeviceKind, RtcMediaDeviceNotifier, enumerate_devices
from weir.client.media.options import CallConnectOptions, FacingMode, TrackOption, VideoDimension
from weir.client.media.sinks import FrameStream, Recording
from weir.client.media.sources import FileSource, MediaSource, SyntheticSource
from weir.client.media.synthetic import TestPatternTrack, ToneTrack
from weir.client.options import RetryPolicy, StreamVideoOptions
from weir.client.preferences import CallPreferences, ClientPublishOptions, DefaultCallPreferences, PreferredCodec
from weir.client.sfu.socket import SfuError
from weir.client.sfu.stats import CallStats, PeerStats
from weir.client.sorting import (
    CallParticipantSortingPresets,
    Comparator,
    by_name,
    by_participant_source,
    by_role,
    combine_comparators,
    conditional,
    descending,
    dominant_speaker,
    pinned,
    publishing_audio,
    publishing_video,
    reaction_type,
    screen_sharing,
    sort_participants,
    speaking,
)
from weir.client.state import (
    CallParticipantPin,
    CallParticipantState,
    CallState,
    ConnectionQuality,
    SfuParticipantSource,
    SfuTrackType,
    ViewportVisibility,
)
from weir.client.status import (
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
    ConnectionState,
    ConnectionStatus,
    DisconnectReason,
    DisconnectReasonBlocked,
    DisconnectReasonCancelled,
    DisconnectReasonEnded,
    DisconnectReasonFailure,
    DisconnectReasonKicked,
    DisconnectReasonLastParticipantLeft,
    DisconnectReasonReconnectionFailed,
    DisconnectReasonRejected,
    DisconnectReasonReplaced,
    DisconnectReasonSfuError,
    DisconnectReasonTimeout,
)
from weir.client.user import User, UserInfo, UserType

__all__ = [
    "CallConnectOptions", "CallStats", "FacingMode", "FileSource", "FrameStream", "MediaSource", "PeerStats",
    "Recording", "RtcMediaDevice", "RtcMediaDeviceKind", "RtcMediaDeviceNotifier", "SfuError", "SyntheticSource",
    "TestPatternTrack", "ToneTrack", "TrackOption", "VideoDimension", "enumerate_devices",
    "Call", "CallParticipantPin", "CallParticipantSortingPresets", "CallParticipantState", "CallPermission",
    "CallPreferences", "CallRejectReason", "CallState", "CallStatus", "CallStatusConnected", "CallStatusConnecting",
    "CallStatusDisconnected", "CallStatusIdle", "CallStatusIncoming", "CallStatusJoined", "CallStatusJoining",
    "CallStatusMigrating", "CallStatusOutgoing", "CallStatusReconnecting", "CallStatusReconnectionFailed",
    "ClientPublishOptions", "ClientState", "Comparator", "ConnectionQuality", "ConnectionState", "ConnectionStatus",
    "DefaultCallPreferences", "DisconnectReason", "DisconnectReasonBlocked", "DisconnectReasonCancelled",
    "DisconnectReasonEnded", "DisconnectReasonFailure", "DisconnectReasonKicked",
    "DisconnectReasonLastParticipantLeft", "DisconnectReasonReconnectionFailed", "DisconnectReasonRejected",
    "DisconnectReasonReplaced", "DisconnectReasonSfuError", "DisconnectReasonTimeout", "EventStream", "Listener",
    "PreferredCodec", "QueryCallsResult", "RetryPolicy", "Selected", "SfuParticipantSource", "SfuTrackType",
    "SortParamRequest", "StateStream", "StreamBackstageSettings", "StreamCallType", "StreamLimitsSettings",
    "StreamTranscriptionSettings", "StreamVideo", "StreamVideoOptions", "Subscription", "User", "UserInfo",
    "UserType", "VideoError", "ViewportVisibility", "WeirAPIError", "by_name", "by_participant_source", "by_role",
    "combine_comparators", "conditional", "descending", "dominant_speaker", "pinned", "publishing_audio",
    "publishing_video", "reaction_type", "screen_sharing", "sort_participants", "speaking",
]
