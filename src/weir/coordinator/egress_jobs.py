"""What every kind of egress job (recordings, RTMP broadcasts) shares at the coordinator: the statuses of a job
still under way, and waking the workers that wait for a job to claim."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from weir.coordinator.services import Services
from weir.store.db import after_commit

ACTIVE = ("pending", "running", "stopping")


def wake_workers(weir: Services, session: AsyncSession) -> None:
    """Once ``session`` commits, the workers waiting in a claim look again (a new job is pending)."""

    async def wake() -> None:
        async with weir.egress_jobs:
            weir.egress_jobs.notify_all()

    after_commit(session, wake)
