"""Which speech-to-text engines this server has: pocketsphinx always, the others when their model is configured."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from weir.config import Settings


@dataclass(slots=True, frozen=True)
class SpeechConfig:
    whisper_model: Path | None = None
    vosk_model: Path | None = None
    vosk_language: str = "en"

    @classmethod
    def from_settings(cls, settings: Settings) -> SpeechConfig:
        return cls(settings.whisper_model, settings.vosk_model, settings.vosk_language.lower())
