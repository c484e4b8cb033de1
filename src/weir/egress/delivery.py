"""Where a worker puts a recording's files (Weir's own storage, or left for the upload queue), and salvaging a dead
worker's files."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from weir.config import Settings
from weir.storage.base import DEFAULT_STORAGE
from weir.storage.local import LocalStore


@dataclass(frozen=True)
class FinishedFile:
    """A stored file of a recording: its name, its store and key, and the time it covers."""

    filename: str
    storage: str
    key: str
    start_time: datetime
    end_time: datetime


def work_dir(data_dir: Path, egress_id: str) -> Path:
    """Where a worker writes a job's files while it records (in the data dir it shares with the coordinator)."""
    return data_dir / "egress" / egress_id


def local_store(settings: Settings) -> LocalStore:
    assert settings.api_secret is not None
    return LocalStore(settings.data_dir / "recordings", settings.public_base_url, settings.api_secret)


def object_key(call_cid: str, session_id: str, filename: str) -> str:
    call_type, _, call_id = call_cid.partition(":")
    return f"{call_type}/{call_id}/{session_id}/{filename}"


def content_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


async def deliver(settings: Settings, external_storage: str | None, call_cid: str, session_id: str,
                  files: list[Path], started: datetime) -> list[FinishedFile]:
    """Store the job's files in Weir's own storage and say what they are. For an external storage (the job's,
    chosen when it started) the files stay where they are: the coordinator queues their uploads."""
    storage = external_storage or DEFAULT_STORAGE
    finished = []
    for path in files:
        key = object_key(call_cid, session_id, path.name)
        if external_storage is None:
            await local_store(settings).put(key, path, content_type(path.name))
        ended = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        finished.append(FinishedFile(path.name, storage, key, started, max(ended, started)))
    return finished


def job_files(directory: Path) -> list[Path]:
    """The finished-or-partial files a job wrote (not temporary ones)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.endswith((".part", ".tmp")))
