"""Voice activity on sent audio: aiortc never sets the audio-level extension's voice bit (RFC 6464).

The SFU counts only packets with the bit set towards ``is_speaking`` and the dominant speaker, as a browser's
VAD would set it; ``mark_voice_activity`` sets it on loud packets of every sender of a peer connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender

from weir.rtc.extensions import SPEECH_DBOV

__all__ = ["mark_voice_activity"]


def _mark(sender: RTCRtpSender) -> None:
    extensions = sender._RTCRtpSender__rtp_header_extensions_map  # type: ignore[attr-defined]
    original = extensions.set
    if getattr(original, "marks_voice", False):
        return

    def set_with_voice(values: Any, original: Callable[[Any], Any] = original) -> Any:
        if values.audio_level is not None:
            level = values.audio_level[1]
            values.audio_level = (level <= SPEECH_DBOV, level)
        return original(values)

    set_with_voice.marks_voice = True  # type: ignore[attr-defined]
    extensions.set = set_with_voice


def mark_voice_activity(pc: RTCPeerConnection) -> None:
    for sender in pc.getSenders():
        _mark(sender)
