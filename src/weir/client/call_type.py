"""Small value types of the call API: call types, reject reasons, permissions, settings and sort keys.

Where the protocol already defines a shape it is reused under the Dart SDK's name: ``CallPermission`` is the
capability enum, ``StreamBackstageSettings`` the backstage settings model, ``SortParamRequest`` the sort key.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from weir.domain.capabilities import Capability
from weir.domain.settings import BackstageSettings, LimitsSettings, TranscriptionSettings
from weir.protocol.queries import SortParam

CallPermission = Capability
StreamBackstageSettings = BackstageSettings
StreamLimitsSettings = LimitsSettings
StreamTranscriptionSettings = TranscriptionSettings
SortParamRequest = SortParam


@dataclass(frozen=True)
class StreamCallType:
    """A call type: the built-in ones by name, or ``StreamCallType.custom("my-type")``."""

    value: str

    @classmethod
    def default_type(cls) -> StreamCallType:
        return cls("default")

    @classmethod
    def audio_room(cls) -> StreamCallType:
        return cls("audio_room")

    @classmethod
    def livestream(cls) -> StreamCallType:
        return cls("livestream")

    @classmethod
    def development(cls) -> StreamCallType:
        return cls("development")

    @classmethod
    def custom(cls, name: str) -> StreamCallType:
        return cls(name)

    def __str__(self) -> str:
        return self.value


class CallRejectReason(StrEnum):
    """Why a ringing call is rejected; the caller cancels with ``CANCEL``."""

    BUSY = "busy"
    DECLINE = "decline"
    TIMEOUT = "timeout"
    CANCEL = "cancel"

    @classmethod
    def busy(cls) -> CallRejectReason:
        return cls.BUSY

    @classmethod
    def decline(cls) -> CallRejectReason:
        return cls.DECLINE

    @classmethod
    def timeout(cls) -> CallRejectReason:
        return cls.TIMEOUT

    @classmethod
    def cancel(cls) -> CallRejectReason:
        return cls.CANCEL
