"""``CallStatus`` (where the local user is in a call's lifecycle), ``DisconnectReason`` and the connection state.

Each documented status and reason is a small frozen dataclass, so they compare by value and work with
``match``: ``case CallStatusReconnecting(attempt=n)``, ``case CallStatusDisconnected(reason=DisconnectReasonEnded())``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


# --- disconnect reasons -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DisconnectReason:
    """Why a call became ``CallStatusDisconnected``."""


@dataclass(frozen=True)
class DisconnectReasonTimeout(DisconnectReason):
    """The call timed out (an unanswered ring, or the server removed an inactive participant)."""


@dataclass(frozen=True)
class DisconnectReasonFailure(DisconnectReason):
    """A general failure, e.g. ``join()`` was refused."""

    error: str = ""


@dataclass(frozen=True)
class DisconnectReasonSfuError(DisconnectReason):
    """An SFU error (set by the media half of the SDK)."""

    error: Any = None


@dataclass(frozen=True)
class DisconnectReasonRejected(DisconnectReason):
    """A ringing call was rejected: by every callee (caller's side) or by this user (callee's side)."""

    by_user_id: str | None = None


@dataclass(frozen=True)
class DisconnectReasonBlocked(DisconnectReason):
    """This user was blocked from the call."""

    by_user_id: str | None = None


@dataclass(frozen=True)
class DisconnectReasonCancelled(DisconnectReason):
    """The caller cancelled the ringing call."""

    by_user_id: str | None = None


@dataclass(frozen=True)
class DisconnectReasonEnded(DisconnectReason):
    """The call ended (for everyone, or this user left it)."""


@dataclass(frozen=True)
class DisconnectReasonReplaced(DisconnectReason):
    """Another call replaced this one (single active call mode)."""

    next_call_cid: str | None = None


@dataclass(frozen=True)
class DisconnectReasonLastParticipantLeft(DisconnectReason):
    """Everybody else left a ringing-flow call and ``drop_if_alone_in_ringing_flow`` is on."""


@dataclass(frozen=True)
class DisconnectReasonReconnectionFailed(DisconnectReason):
    """Reconnecting failed within ``reconnect_timeout``."""


@dataclass(frozen=True)
class DisconnectReasonKicked(DisconnectReason):
    """Weir's: this user was kicked from the call (the seed names no reason for it)."""

    by_user_id: str | None = None


# --- call statuses ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CallStatus:
    """Where the local user is in a call's lifecycle."""

    @property
    def is_idle(self) -> bool:
        return isinstance(self, CallStatusIdle)

    @property
    def is_incoming(self) -> bool:
        return isinstance(self, CallStatusIncoming)

    @property
    def is_outgoing(self) -> bool:
        return isinstance(self, CallStatusOutgoing)

    @property
    def is_joining(self) -> bool:
        return isinstance(self, CallStatusJoining)

    @property
    def is_joined(self) -> bool:
        return isinstance(self, CallStatusJoined)

    @property
    def is_connecting(self) -> bool:
        return isinstance(self, CallStatusConnecting)

    @property
    def is_connected(self) -> bool:
        return isinstance(self, CallStatusConnected)

    @property
    def is_reconnecting(self) -> bool:
        return isinstance(self, CallStatusReconnecting)

    @property
    def is_disconnected(self) -> bool:
        return isinstance(self, CallStatusDisconnected)

    @property
    def is_active(self) -> bool:
        """Joining or in the call (joined, connecting, connected, reconnecting or migrating)."""
        return isinstance(self, ACTIVE_STATUSES)

    @property
    def attempt(self) -> int:
        """The reconnection attempt (0 unless reconnecting)."""
        return 0


@dataclass(frozen=True)
class CallStatusIdle(CallStatus):
    """No active call at the moment."""


@dataclass(frozen=True)
class CallStatusIncoming(CallStatus):
    """This user is being rung: show an incoming-call screen. ``video`` is the ring's video flag."""

    video: bool = False


@dataclass(frozen=True)
class CallStatusOutgoing(CallStatus):
    """This user is ringing others: show an outgoing-call screen."""

    video: bool = False


@dataclass(frozen=True)
class CallStatusConnecting(CallStatus):
    """Connecting to the call's media (SFU)."""


@dataclass(frozen=True)
class CallStatusReconnecting(CallStatus):
    attempt: int = 0


@dataclass(frozen=True)
class CallStatusReconnectionFailed(CallStatus):
    pass


@dataclass(frozen=True)
class CallStatusMigrating(CallStatus):
    """Moving from one SFU to another."""


@dataclass(frozen=True)
class CallStatusConnected(CallStatus):
    """Joined and connected to the SFU: ready to send and receive tracks."""


@dataclass(frozen=True)
class CallStatusDisconnected(CallStatus):
    reason: DisconnectReason = DisconnectReasonEnded()


@dataclass(frozen=True)
class CallStatusJoining(CallStatus):
    """``join()`` is in progress."""


@dataclass(frozen=True)
class CallStatusJoined(CallStatus):
    """The coordinator has this user as a participant of the call's session (media comes with the SFU)."""


ACTIVE_STATUSES = (CallStatusJoining, CallStatusJoined, CallStatusConnecting, CallStatusConnected,
                   CallStatusReconnecting, CallStatusMigrating)


# --- the client's connection ------------------------------------------------------------------------------
class ConnectionStatus(StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True)
class ConnectionState:
    """The coordinator WebSocket: its status, its ``connection_id`` while connected, the reconnection attempt."""

    status: ConnectionStatus = ConnectionStatus.DISCONNECTED
    connection_id: str | None = None
    attempt: int = 0

    @property
    def is_connected(self) -> bool:
        return self.status is ConnectionStatus.CONNECTED
