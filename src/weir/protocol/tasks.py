"""JSON models of async tasks (the seed's GetTask) and of the requests that start them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from weir.protocol.calls import CallResponse

TaskStatus = Literal["pending", "running", "completed", "failed"]


class TaskError(BaseModel):
    type: str = "task_failed"
    description: str


class GetTaskResponse(BaseModel):
    """``result`` depends on the task's kind; an export's holds ``url``, a signed link to the exported file."""

    task_id: str
    status: TaskStatus
    progress: int  # percent of the work done
    created_at: datetime
    updated_at: datetime
    result: dict[str, Any] | None = None
    error: TaskError | None = None
    duration: str = ""


class DeleteCallResponse(BaseModel):
    """A hard delete goes on as a task: ``task_id`` follows it."""

    call: CallResponse
    task_id: str | None = None
    duration: str = ""
