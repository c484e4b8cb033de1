"""Waiting for async tasks (``GET /tasks/{id}``) in API tests."""

from __future__ import annotations

import time
from typing import Any

import httpx

TASK_TIMEOUT_S = 60.0  # a task runs at once; the margin is for a loaded 2-core machine


def finished_task(api: httpx.Client, task_id: str, timeout: float = TASK_TIMEOUT_S) -> dict[str, Any]:
    """The task once it completed or failed."""
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/tasks/{task_id}")
        assert response.status_code == 200, response.text
        task: dict[str, Any] = response.json()
        if task["status"] in ("completed", "failed"):
            return task
        assert time.monotonic() < deadline, f"task still {task['status']}: {task}"
        time.sleep(0.05)


def run_task(api: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    """Wait for the task a request started; it must complete."""
    assert response.status_code == 200, response.text
    task = finished_task(api, response.json()["task_id"])
    assert task["status"] == "completed", task
    return task
