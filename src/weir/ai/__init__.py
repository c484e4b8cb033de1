"""Weir's on-machine AI: speech to text (``speech``), the transcription and caption worker, translation hooks."""
