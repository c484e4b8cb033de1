"""Speech-to-text for transcription and captions: voice activity segmentation and engines behind one interface."""

from weir.ai.speech.config import SpeechConfig
from weir.ai.speech.engine import SpeechEngine, UnsupportedLanguage, caption_language, engine_for
from weir.ai.speech.segmenter import Segment, Segmenter

__all__ = [
    "Segment", "Segmenter", "SpeechConfig", "SpeechEngine", "UnsupportedLanguage", "caption_language", "engine_for",
]
