"""Voice activity on sent audio: aiortc never sets the audio-level extension's voice bit (RFC 6464).

The SFU counts only packets with the bit set towards ``is_speaking`` and the dominant speaker, as a browser's
VAD would set it; ``mark_voice_activity`` sets it on loud packets of every sender of a peer connection.
"""

from __future__ import annotations

from aiortc import RTCPeerConnection
from aiortc.rtp import HeaderExtensions

from weir.rtc.aiortc_adapter import rewrite_header_extensions
from weir.rtc.extensions import SPEECH_DBOV

__all__ = ["mark_voice_activity"]


def _set_voice_bit(values: HeaderExtensions) -> None:
    if values.audio_level is not None:
        level = values.audio_level[1]
        values.audio_level = (level <= SPEECH_DBOV, level)


def mark_voice_activity(pc: RTCPeerConnection) -> None:
    for sender in pc.getSenders():
        rewrite_header_extensions(sender, _set_voice_bit)
