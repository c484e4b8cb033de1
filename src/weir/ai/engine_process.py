"""The speech engines' own process: a model decodes outside the worker's event loop (pocketsphinx holds the
interpreter for seconds while it loads and while it decodes, which would stall the worker's media and lease).

The functions run in the child of ``Engines``' process pool; each language's engine loads there once."""

from __future__ import annotations

from weir.ai.speech.engine import SpeechConfig, SpeechEngine, engine_for

_loaded: dict[str, SpeechEngine] = {}


def load(language: str, config: SpeechConfig) -> None:
    """Load the engine for ``language`` (raises ``UnsupportedLanguage``)."""
    if language not in _loaded:
        _loaded[language] = engine_for(language, config)


def transcribe(language: str, config: SpeechConfig, pcm: bytes) -> str:
    load(language, config)
    return _loaded[language].transcribe(pcm, language)
