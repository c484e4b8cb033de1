"""One small interface over the speech-to-text engines, and the choice of engine for a language.

Preference: faster-whisper, then Vosk, then pocketsphinx; the first configured engine that supports the language
wins, so a configured model beats the built-in one. ``auto`` means detection, which only a multilingual Whisper
model does; without one it means English, the language of every engine Weir can run without a model.
"""

from __future__ import annotations

import threading
from typing import Protocol

from weir.ai.speech.config import SpeechConfig

AUTO = "auto"
AUTO_FALLBACK = "en"


class SpeechEngine(Protocol):
    name: str

    def supports(self, language: str) -> bool: ...

    def transcribe(self, pcm: bytes, language: str) -> str:
        """Text of 16 kHz mono s16le speech; blocking (callers run it in a thread). ``language`` may be auto."""
        ...


class UnsupportedLanguage(Exception):
    def __init__(self, language: str, engines: list[SpeechEngine]) -> None:
        self.language = language
        names = ", ".join(engine.name for engine in engines)
        super().__init__(f"no speech-to-text engine for language {language!r}; configured engines: {names}")


_lock = threading.Lock()
_engines: dict[SpeechConfig, list[SpeechEngine]] = {}


def configured_engines(config: SpeechConfig) -> list[SpeechEngine]:
    """The engines of ``config`` in order of preference, made once per config (models load lazily, once)."""
    with _lock:
        if config not in _engines:
            _engines[config] = _make_engines(config)
        return _engines[config]


def _make_engines(config: SpeechConfig) -> list[SpeechEngine]:
    from weir.ai.speech.pocketsphinx_engine import PocketsphinxEngine

    engines: list[SpeechEngine] = []
    if config.whisper_model is not None:
        from weir.ai.speech.whisper_engine import WhisperEngine

        engines.append(WhisperEngine(config.whisper_model))
    if config.vosk_model is not None:
        from weir.ai.speech.vosk_engine import VoskEngine

        engines.append(VoskEngine(config.vosk_model, config.vosk_language))
    engines.append(PocketsphinxEngine())
    return engines


def engine_for(language: str, config: SpeechConfig) -> SpeechEngine:
    """The preferred engine for a seed language code (or ``auto``); raises UnsupportedLanguage."""
    engines = configured_engines(config)
    wanted = language.lower()
    for candidate in (wanted, AUTO_FALLBACK) if wanted == AUTO else (wanted,):
        for engine in engines:
            if engine.supports(candidate):
                return engine
    raise UnsupportedLanguage(language, engines)


def caption_language(language: str, engine: SpeechEngine) -> str:
    """The language an engine's captions are in: ``auto`` on an engine that cannot detect is English."""
    wanted = language.lower()
    return AUTO_FALLBACK if wanted == AUTO and not engine.supports(AUTO) else wanted
