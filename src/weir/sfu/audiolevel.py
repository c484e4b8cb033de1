"""Audio levels from the ``ssrc-audio-level`` header extension (RFC 6464), and a dominant-speaker picker.

No audio is decoded. The extension's one byte is a voice-activity bit and a level in -dBov (0 is the loudest,
127 silence).

The picker, kept simple on purpose:

- each packet with the voice bit set and a level at or below ``SPEECH_DBOV`` scores ``127 - level`` for its
  speaker; anything else scores nothing;
- scores go into per-speaker buckets of ``BUCKET_MS``; a speaker's activity is the sum over the last
  ``WINDOW_MS`` (buckets roll off as time passes, so observing allocates nothing);
- ``pick`` (run on a timer) elects the most active speaker, but a challenger must beat the current dominant
  speaker by ``SWITCH_RATIO`` (hysteresis, so two people talking at once do not flap); with nobody active the
  current dominant speaker stays.
"""

from __future__ import annotations

from collections.abc import Hashable

from weir.rtc.extensions import AUDIO_LEVEL_URI, SPEECH_DBOV
from weir.sfu.rtp import RtpHeader

__all__ = ["AUDIO_LEVEL_URI", "DominantSpeaker", "read_audio_level"]

SILENCE_DBOV = 127
BUCKET_MS = 100
WINDOW_MS = 1500
SWITCH_RATIO = 1.5
_BUCKETS = WINDOW_MS // BUCKET_MS


def read_audio_level(header: RtpHeader, ext_id: int) -> int:
    """The extension's raw byte (voice bit 0x80 | level), or -1 when the packet lacks it or it is empty."""
    for found, start, end in header.extension_elements():
        if found == ext_id:
            return header.data[start] if end > start else -1
    return -1


class _Activity:
    __slots__ = ("bucket", "buckets", "total")

    def __init__(self, bucket: int) -> None:
        self.buckets = [0] * _BUCKETS
        self.bucket = bucket  # number of the newest bucket (ms // BUCKET_MS)
        self.total = 0

    def advance(self, bucket: int) -> None:
        """Clear the buckets that fall out of the window on the way to ``bucket``."""
        if bucket <= self.bucket:
            return
        for number in range(self.bucket + 1, min(bucket, self.bucket + _BUCKETS) + 1):
            slot = number % _BUCKETS
            self.total -= self.buckets[slot]
            self.buckets[slot] = 0
        self.bucket = bucket


class DominantSpeaker:
    __slots__ = ("_speakers", "dominant")

    def __init__(self) -> None:
        self._speakers: dict[Hashable, _Activity] = {}
        self.dominant: Hashable | None = None

    def observe(self, speaker: Hashable, level: int, voice: bool, now_ms: int) -> None:
        bucket = now_ms // BUCKET_MS
        activity = self._speakers.get(speaker)
        if activity is None:
            activity = self._speakers[speaker] = _Activity(bucket)
        activity.advance(bucket)
        if voice and level <= SPEECH_DBOV and bucket > activity.bucket - _BUCKETS:
            score = SILENCE_DBOV - level
            activity.buckets[bucket % _BUCKETS] += score
            activity.total += score

    def remove(self, speaker: Hashable) -> None:
        self._speakers.pop(speaker, None)
        if self.dominant == speaker:
            self.dominant = None

    def activity(self, speaker: Hashable, now_ms: int) -> int:
        """``speaker``'s summed score over the window ending at ``now_ms``."""
        found = self._speakers.get(speaker)
        if found is None:
            return 0
        found.advance(now_ms // BUCKET_MS)
        return found.total

    def pick(self, now_ms: int) -> Hashable | None:
        """Elect and return the dominant speaker as of ``now_ms``."""
        best, best_total = None, 0
        for speaker in self._speakers:
            total = self.activity(speaker, now_ms)
            if total > best_total:
                best, best_total = speaker, total
        if best is None or best == self.dominant:
            return self.dominant
        current = self.activity(self.dominant, now_ms) if self.dominant is not None else 0
        if best_total > current * SWITCH_RATIO:
            self.dominant = best
        return self.dominant
