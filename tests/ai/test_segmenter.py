"""The Segmenter cuts speech by the seed's rule: silence > silence_duration_ms, or max_speech_caption_ms reached."""

from __future__ import annotations

import array
import random

import pytest

from tests.ai.speech_corpus import BYTES_PER_SECOND, SENTENCES, VOICES, espeak, silence, speak
from weir.ai.speech.segmenter import Segment, Segmenter

pytestmark = pytest.mark.skipif(espeak() is None, reason="espeak-ng is missing: run scripts/speech-tools.sh")
CHUNK = 640  # 20 ms, one Opus frame's worth


def feed(segmenter: Segmenter, pcm: bytes, start_ms: int = 0) -> list[Segment]:
    out: list[Segment] = []
    for offset in range(0, len(pcm), CHUNK):
        out += segmenter.push(pcm[offset : offset + CHUNK], start_ms + offset * 1000 // BYTES_PER_SECOND)
    return out + segmenter.flush()


def ms(pcm: bytes) -> int:
    return len(pcm) * 1000 // BYTES_PER_SECOND


def test_silence_longer_than_the_setting_splits_sentences_at_their_bounds() -> None:
    lead, gap = silence(500), silence(1000)
    spoken = [speak(text, VOICES[i % 2]) for i, text in enumerate(SENTENCES[:3])]
    stream = lead + gap.join(spoken) + gap
    segments = feed(Segmenter(silence_duration_ms=700, max_speech_caption_ms=9000), stream, start_ms=10_000)
    assert len(segments) == 3
    start = 10_000 + ms(lead)
    for segment, pcm in zip(segments, spoken, strict=True):
        # Each segment holds its whole sentence (espeak's own edges are near-silent) and none of the next.
        assert start - 300 <= segment.start_ms <= start + 200
        assert start + ms(pcm) - 300 <= segment.end_ms <= start + ms(pcm) + 300
        assert len(segment.pcm) == (segment.end_ms - segment.start_ms) * BYTES_PER_SECOND // 1000
        start += ms(pcm) + ms(gap)


def test_silence_shorter_than_the_setting_keeps_one_segment() -> None:
    first, second = speak(SENTENCES[0], VOICES[0]), speak(SENTENCES[1], VOICES[0])
    stream = silence(300) + first + silence(450) + second + silence(1000)
    assert len(feed(Segmenter(silence_duration_ms=700, max_speech_caption_ms=10_000), stream)) == 1
    assert len(feed(Segmenter(silence_duration_ms=300, max_speech_caption_ms=10_000), stream)) == 2


def test_a_monologue_is_cut_at_max_speech_caption_ms() -> None:
    monologue = b""
    for text in SENTENCES:
        if ms(monologue) >= 12_000:
            break
        monologue += speak(text, VOICES[0]) + silence(150)
    assert ms(monologue) >= 12_000
    segments = feed(Segmenter(silence_duration_ms=700, max_speech_caption_ms=5000), monologue)
    assert len(segments) >= 3
    assert all(segment.end_ms - segment.start_ms <= 5000 for segment in segments)
    # Continuous: each cut starts the next segment where the last one ended.
    assert [s.start_ms for s in segments[1:]] == [s.end_ms for s in segments[:-1]]


def test_a_gap_in_timestamps_counts_as_silence() -> None:
    segmenter = Segmenter(silence_duration_ms=700, max_speech_caption_ms=9000)
    first = speak(SENTENCES[0], VOICES[1])
    segments = segmenter.push(silence(200) + first, 0)
    segments += segmenter.push(speak(SENTENCES[1], VOICES[1]) + silence(900), 200 + ms(first) + 5000)
    assert len(segments) == 2
    assert segments[1].start_ms >= 200 + ms(first) + 5000 - 300


def test_silence_alone_gives_no_segment() -> None:
    segmenter = Segmenter(silence_duration_ms=300, max_speech_caption_ms=5000)
    assert feed(segmenter, silence(3000)) == []


def test_settings_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError):
        Segmenter(silence_duration_ms=0, max_speech_caption_ms=5000)
    with pytest.raises(ValueError):
        Segmenter(silence_duration_ms=700, max_speech_caption_ms=5000).push(b"\0", 0)


def test_steady_background_noise_is_not_speech() -> None:
    spoken = [speak(text, VOICES[i % 2]) for i, text in enumerate(SENTENCES[:3])]
    clean = array.array("h", silence(500) + silence(1000).join(spoken) + silence(1000))
    noise = random.Random(16)
    # White noise at about -30 dBFS throughout: an energy threshold would call the pauses speech.
    noisy = array.array("h", [max(-32768, min(32767, s + int(noise.gauss(0, 1000)))) for s in clean])
    segments = feed(Segmenter(silence_duration_ms=700, max_speech_caption_ms=9000), noisy.tobytes())
    assert len(segments) == 3
