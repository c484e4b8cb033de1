"""Requests: the messages a client sends to the SFU, one JSON object per WebSocket text frame."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, Field, RootModel, field_validator

from weir.protocol.freeform import check_json
from weir.protocol.sfu.models import (
    MAX_TRACKS,
    SDP,
    SESSION_ID,
    ClientCapability,
    ClientDetails,
    IceCandidate,
    Inbound,
    MuteState,
    PeerTarget,
    ReconnectDetails,
    TrackInfo,
    TrackSubscription,
)

MAX_SUBSCRIPTIONS = 1000
MAX_STATS_KEYS = 200


class Request(Inbound):
    request_id: str | None = Field(
        default=None, max_length=64, description="Echoed in an error this request causes.")


class JoinRequest(Request):
    """The first message on a socket: the SFU token from the coordinator's join, and the session it names."""

    type: Literal["join"] = "join"
    token: str = Field(min_length=1, max_length=8192)
    session_id: SESSION_ID
    client_details: ClientDetails = Field(default_factory=ClientDetails)
    capabilities: list[ClientCapability] = Field(default_factory=list, max_length=16)
    reconnect_details: ReconnectDetails | None = None


class SetPublisherRequest(Request):
    """The publisher peer connection's offer, with one ``TrackInfo`` per sending m-line (publish)."""

    type: Literal["set_publisher"] = "set_publisher"
    sdp: SDP
    tracks: list[TrackInfo] = Field(max_length=MAX_TRACKS)

    @field_validator("tracks")
    @classmethod
    def _one_per_type(cls, tracks: list[TrackInfo]) -> list[TrackInfo]:
        if len({t.track_type for t in tracks}) != len(tracks):
            raise ValueError("at most one track of each track_type")
        if len({t.mid for t in tracks}) != len(tracks):
            raise ValueError("each track needs its own mid")
        return tracks


class SendAnswerRequest(Request):
    """The answer to the subscriber offer named by ``negotiation_id``."""

    type: Literal["send_answer"] = "send_answer"
    sdp: SDP
    negotiation_id: int = Field(ge=1)


class IceTrickleRequest(Request):
    """A local ICE candidate of one of the client's peer connections; ``candidate: null`` ends gathering."""

    type: Literal["ice_trickle"] = "ice_trickle"
    target: PeerTarget
    candidate: IceCandidate | None


class UpdateSubscriptionsRequest(Request):
    """The complete set of tracks the client wants to receive (it replaces the previous set)."""

    type: Literal["update_subscriptions"] = "update_subscriptions"
    tracks: list[TrackSubscription] = Field(max_length=MAX_SUBSCRIPTIONS)


class UpdateMuteStatesRequest(Request):
    type: Literal["update_mute_states"] = "update_mute_states"
    mute_states: list[MuteState] = Field(min_length=1, max_length=MAX_TRACKS)


class IceRestartRequest(Request):
    """Restart ICE: for ``subscriber`` the SFU sends a new offer; for ``publisher`` the client's next offer does."""

    type: Literal["ice_restart"] = "ice_restart"
    target: PeerTarget


class LeaveRequest(Request):
    type: Literal["leave"] = "leave"
    reason: str = Field(default="", max_length=255)


Stats = Annotated[dict[str, Any], Field(max_length=MAX_STATS_KEYS), AfterValidator(check_json)]


class SendStatsRequest(Request):
    """Periodic client statistics (every ``stats_options.reporting_interval_ms``)."""

    type: Literal["send_stats"] = "send_stats"
    publisher: Stats | None = None
    subscriber: Stats | None = None


class HealthCheckRequest(Request):
    type: Literal["health_check"] = "health_check"


AnyRequest = Annotated[
    JoinRequest | SetPublisherRequest | SendAnswerRequest | IceTrickleRequest | UpdateSubscriptionsRequest
    | UpdateMuteStatesRequest | IceRestartRequest | LeaveRequest | SendStatsRequest | HealthCheckRequest,
    Field(discriminator="type"),
]


class SfuRequest(RootModel[AnyRequest]):
    """Any client → SFU message, told apart by ``type``."""


REQUEST_TYPES: frozenset[str] = frozenset(m.model_fields["type"].default for m in get_args(get_args(AnyRequest)[0]))

__all__ = [
    "REQUEST_TYPES", "AnyRequest", "HealthCheckRequest", "IceRestartRequest", "IceTrickleRequest", "JoinRequest",
    "LeaveRequest", "Request", "SendAnswerRequest", "SendStatsRequest", "SetPublisherRequest", "SfuRequest",
    "UpdateMuteStatesRequest", "UpdateSubscriptionsRequest",
]
