"""Engine choice by language, and the default engine's word error rate on the fixed 10-sentence set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.ai.speech_corpus import SENTENCES, VOICES, espeak, silence, speak, word_error_rate
from weir.ai.speech.config import SpeechConfig
from weir.ai.speech.engine import UnsupportedLanguage, caption_language, engine_for
from weir.ai.speech.segmenter import Segmenter

# Measured in docs/benchmarks.md ("Transcription"); the assertion leaves a modest margin above it.
POCKETSPHINX_WER_LIMIT = 0.72
WHISPER_TINY_EN_WER_LIMIT = 0.15


@pytest.mark.parametrize("language", ["xx", "fr", "ja"])
def test_a_language_no_configured_engine_speaks_is_a_clear_error(language: str) -> None:
    with pytest.raises(UnsupportedLanguage) as caught:
        engine_for(language, SpeechConfig())
    message = str(caught.value)
    assert repr(language) in message and "pocketsphinx" in message


def test_english_and_auto_go_to_pocketsphinx_without_models() -> None:
    assert engine_for("en", SpeechConfig()).name == "pocketsphinx"
    assert engine_for("EN", SpeechConfig()).name == "pocketsphinx"
    assert engine_for("auto", SpeechConfig()) is engine_for("en", SpeechConfig())
    # Without a multilingual Whisper model nothing detects languages: auto captions are English.
    assert caption_language("auto", engine_for("auto", SpeechConfig())) == "en"


def transcript_of_the_set(config: SpeechConfig, language: str) -> list[tuple[str, str]]:
    """The 10 sentences, alternating voices with a second of silence between, cut by the Segmenter and
    transcribed segment by segment: the reference and what the engine heard, as one pair."""
    engine = engine_for(language, config)
    stream = silence(500) + b"".join(speak(text, VOICES[i % 2]) + silence(1000) for i, text in enumerate(SENTENCES))
    segmenter = Segmenter(silence_duration_ms=700, max_speech_caption_ms=9000)
    segments = segmenter.push(stream, 0) + segmenter.flush()
    assert len(segments) == len(SENTENCES)
    heard = " ".join(engine.transcribe(segment.pcm, language) for segment in segments)
    return [(" ".join(SENTENCES), heard)]


@pytest.mark.skipif(espeak() is None, reason="espeak-ng is missing: run scripts/speech-tools.sh")
def test_pocketsphinx_word_error_rate_on_the_set_stays_below_the_recorded_value() -> None:
    pairs = transcript_of_the_set(SpeechConfig(), "en")
    assert pairs[0][1].strip()
    assert word_error_rate(pairs) < POCKETSPHINX_WER_LIMIT


@pytest.mark.skipif(not os.environ.get("WEIR_WHISPER_MODEL"),
                    reason="WEIR_WHISPER_MODEL is not set: no faster-whisper model on this machine "
                    "(docs/transcription.md says where to get one)")
@pytest.mark.skipif(espeak() is None, reason="espeak-ng is missing: run scripts/speech-tools.sh")
def test_faster_whisper_word_error_rate_on_the_set(record_property: pytest.RecordProperty) -> None:
    config = SpeechConfig(whisper_model=Path(os.environ["WEIR_WHISPER_MODEL"]))
    assert engine_for("en", config).name == "faster-whisper"
    wer = word_error_rate(transcript_of_the_set(config, "en"))
    record_property("wer", wer)
    print(f"faster-whisper wer={wer:.3f}")
    # Measured with tiny.en, the smallest model; larger ones do better.
    assert wer < WHISPER_TINY_EN_WER_LIMIT


@pytest.mark.skipif(not os.environ.get("WEIR_VOSK_MODEL"),
                    reason="WEIR_VOSK_MODEL is not set: no Vosk model on this machine "
                    "(docs/transcription.md says where to get one)")
@pytest.mark.skipif(espeak() is None, reason="espeak-ng is missing: run scripts/speech-tools.sh")
def test_vosk_word_error_rate_on_the_set(record_property: pytest.RecordProperty) -> None:
    config = SpeechConfig(vosk_model=Path(os.environ["WEIR_VOSK_MODEL"]), vosk_language="en")
    assert engine_for("en", config).name == "vosk"
    wer = word_error_rate(transcript_of_the_set(config, "en"))
    record_property("wer", wer)
    print(f"vosk wer={wer:.3f}")
    # No English Vosk model could be measured here: a configured model must at least beat the built-in engine.
    assert wer < POCKETSPHINX_WER_LIMIT
