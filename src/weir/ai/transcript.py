"""The transcript file: the seed's JSONL, one speech fragment a line, flushed as each is written so a worker that
dies leaves every finished line readable (the coordinator stores what is there)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TextIO


def rfc3339_nano(moment: datetime) -> str:
    """``2024-02-28T08:18:18.061031000Z`` (RFC 3339 with nanoseconds, as the seed writes it)."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond * 1000:09d}Z"


def speech_line(start: datetime, stop: datetime, speaker_id: str, text: str) -> str:
    return json.dumps({"type": "speech", "start_time": rfc3339_nano(start), "stop_time": rfc3339_nano(stop),
                       "speaker_id": speaker_id, "text": text})


class Transcript:
    """Appends speech fragments to ``path``; each line reaches the file (the saved chunk) as it is written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None

    def write(self, start: datetime, stop: datetime, speaker_id: str, text: str) -> None:
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(speech_line(start, stop, speaker_id, text) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
