"""Frame recording at the coordinator: a worker's JPEG goes to the job's store and ``call.frame_recording_ready``
announces it, with a signed URL, to the call and the webhooks.

The worker writes each image to the job's ``frames`` folder (the data dir it shares with the coordinator) and
reports it; the image is stored at once, so the event's URL works when it arrives. A store that is away gets the
image through the durable upload queue instead (the URL works once it is there), and the event still goes out:
a moderator hears of the frame on time. Each image is kept as a ``recordings`` row of type "frame" (listed by
``frame_captures``, not by ``list_recordings``), so the call's hard delete removes it with the rest.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.recorder import FRAME, recording_url, wake_uploads
from weir.coordinator.services import Services
from weir.coordinator.userview import user_response
from weir.domain.clock import now
from weir.egress.delivery import object_key, work_dir
from weir.protocol import events as ev
from weir.protocol.egress_channel import FrameRequest
from weir.storage.base import DEFAULT_STORAGE, StorageError
from weir.storage.uploads import queue_upload
from weir.store.sessions import new_id
from weir.store.tables import CallRow, EgressJobRow, RecordingRow
from weir.store.users import get_user

log = logging.getLogger(__name__)
FRAMES_FOLDER = "frames"  # in the job's work dir; not a recording file (``job_files`` lists files only)


async def _kept(session: AsyncSession, call_cid: str, session_id: str, filename: str) -> bool:
    return await session.scalar(select(RecordingRow.id).where(
        RecordingRow.call_cid == call_cid, RecordingRow.session_id == session_id,
        RecordingRow.filename == filename)) is not None


def frames_dir(data_dir: Path, egress_id: str) -> Path:
    return work_dir(data_dir, egress_id) / FRAMES_FOLDER


async def _store(weir: Services, storage: str | None, path: Path, key: str) -> bool:
    """Put the image in its store now; False when the store refused (the upload queue takes it then)."""
    try:
        await (await weir.stores.resolve(storage)).put(key, path, "image/jpeg")
    except StorageError as error:
        log.warning("frame %s not stored yet, queued: %s", key, error)
        return False
    return True


async def frame_ready(weir: Services, job: EgressJobRow, frame: FrameRequest) -> None:
    """Store a captured frame and emit its event; the local file goes once its store has it."""
    path = frames_dir(weir.settings.data_dir, job.id) / frame.filename
    session_id = job.session_id or job.id
    key = object_key(job.call_cid, session_id, frame.filename)
    storage = job.external_storage or DEFAULT_STORAGE
    stored = await _store(weir, job.external_storage, path, key)
    async with weir.db.transaction() as session:
        call = await session.get(CallRow, job.call_cid)
        if call is None:
            return
        if await _kept(session, call.cid, session_id, frame.filename):
            return  # a repeated report of an image still waiting for its store
        session.add(RecordingRow(
            id=new_id(), call_cid=call.cid, session_id=session_id, egress_id=job.id, recording_type=FRAME,
            filename=frame.filename, storage=storage, key=key, start_time=frame.captured_at,
            end_time=frame.captured_at, created_at=now()))
        if not stored:
            queue_upload(session, path, job.external_storage, key, "image/jpeg")
            wake_uploads(weir, session)
        user = await get_user(session, frame.user_id)
        users = {} if user is None else {user.id: user_response(user).model_dump(mode="json")}
        url = await recording_url(weir, storage, key)
        await weir.events.emit(session, ev.CallFrameRecordingFrameReadyEvent(
            created_at=now(), call_cid=call.cid, egress_id=job.id, session_id=session_id,
            captured_at=frame.captured_at, track_type=frame.track_type, url=url, users=users), call_cid=call.cid)
    if stored:
        await asyncio.to_thread(path.unlink, True)
