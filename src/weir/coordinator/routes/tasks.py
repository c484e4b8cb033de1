"""Routes: async tasks (``GET /tasks/{id}``) and the user exports that start one (server-side only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from weir.coordinator.auth import Caller, server_caller, services
from weir.coordinator.routes.users import UserIdPath, require_users
from weir.coordinator.tasks_export import EXPORT_USERS
from weir.domain.clock import utc
from weir.protocol.errors import not_found
from weir.protocol.tasks import GetTaskResponse, TaskError
from weir.protocol.users import TaskResponse, UserIdsRequest
from weir.store import tasks as store

router = APIRouter(tags=["tasks"])

TaskId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Task id")]


@router.get("/tasks/{id}", response_model=GetTaskResponse, summary="An async task's status, progress and result")
async def get_task(request: Request, id: TaskId, _: Caller = Depends(server_caller("GetTask"))) -> GetTaskResponse:
    weir = services(request)
    async with weir.db.read() as session:
        row = await store.get_task(session, id)
    if row is None:
        raise not_found(f"task {id}")
    result = dict(row.result) if row.result is not None else None
    if result is not None and row.result_key is not None:
        ttl = timedelta(seconds=weir.settings.recording_url_ttl_seconds)
        result["url"] = await weir.stores.default().signed_url(row.result_key, ttl)
    return GetTaskResponse(
        task_id=row.id, status=row.status, progress=row.progress,  # type: ignore[arg-type]
        created_at=utc(row.created_at), updated_at=utc(row.updated_at), result=result,
        error=TaskError(description=row.error) if row.error is not None else None)


async def _export(request: Request, user_ids: list[str]) -> TaskResponse:
    weir = services(request)
    async with weir.db.transaction() as session:
        users = await require_users(session, user_ids)
        task = weir.tasks.submit(session, EXPORT_USERS, {"user_ids": list(users)})
    return TaskResponse(task_id=task.id)


@router.post("/export/users", response_model=TaskResponse, summary="Export users and the calls they took part in")
async def export_users(
    request: Request, body: UserIdsRequest, _: Caller = Depends(server_caller("ExportUsers")),
) -> TaskResponse:
    return await _export(request, body.user_ids)


@router.get("/users/{user_id}/export", response_model=TaskResponse, summary="Export a user and their calls")
async def export_user(
    request: Request, user_id: UserIdPath, _: Caller = Depends(server_caller("ExportUser")),
) -> TaskResponse:
    return await _export(request, [user_id])
