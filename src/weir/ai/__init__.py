"""AI workers' building blocks: speech-to-text for transcription and closed captions."""
