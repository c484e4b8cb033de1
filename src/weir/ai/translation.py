"""The translation engine interface. Weir ships no engine: enabling ``transcription.translation`` without one is
refused with a clear error, so captions are never silently left untranslated."""

from __future__ import annotations

from typing import Protocol


class TranslationEngine(Protocol):
    """Turns one caption's text from ``source`` into ``target`` (language codes of the settings); blocking."""

    name: str

    def translate(self, text: str, source: str, target: str) -> str: ...


class NoTranslationEngine(Exception):
    pass


def translation_engine() -> TranslationEngine:
    """The configured translation engine; none ships with Weir yet."""
    raise NoTranslationEngine(
        "no translation engine configured: Weir ships none, so transcription.translation cannot be enabled")
