"""RTP header extensions (RFC 8285) the SFU and the SDK both write or read, by URI, and the audio-level voice rule.

An audio level (RFC 6464) is in -dBov: 0 is the loudest, 127 silence. A level above ``SPEECH_DBOV`` is background
noise: the SDK sets the voice bit only on packets at or below it, and the SFU's dominant-speaker picker scores only
those.
"""

from __future__ import annotations

__all__ = ["AUDIO_LEVEL_URI", "MID_URI", "REPAIRED_RID_URI", "RID_URI", "SPEECH_DBOV"]

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
REPAIRED_RID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
SPEECH_DBOV = 70  # quieter than this is background noise
