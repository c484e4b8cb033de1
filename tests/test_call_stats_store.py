"""``record_samples``: a batch of the SFU's stats samples into the participants' timelines, in a constant number
of queries however many sessions the call has."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from weir.domain.clock import now
from weir.store.call_stats import record_samples
from weir.store.tables import Base, ParticipantStatsRow, SessionParticipantRow

CALL = "default:stats"


@pytest.fixture
async def session() -> AsyncIterator[tuple[AsyncSession, list[str]]]:
    """A session on an in-memory database with 20 participants of CALL and one of another call; the statements
    it runs are listed in the second item."""
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda _c, _k, statement, *_: statements.append(statement.split()[0].upper()))
    joined = now()
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        for n in range(21):
            db.add(SessionParticipantRow(user_session_id=f"s{n}", session_id="one", user_id=f"u{n}", role="user",
                                         call_cid=CALL if n < 20 else "default:other", joined_at=joined,
                                         last_seen_at=joined, left_at=None))
        await db.commit()
        statements.clear()
        yield db, statements
    await engine.dispose()


def sample(user_session_id: str, seconds: int, *, bitrate: float = 500.0) -> dict[str, Any]:
    return {"user_session_id": user_session_id, "at": (now() + timedelta(seconds=seconds)).isoformat(),
            "reading": {"rtt_ms": 20.0}, "bitrate_kbps": bitrate, "tracks": [{"track_type": "video"}]}


async def test_a_batch_is_two_reads_however_many_sessions(session: tuple[AsyncSession, list[str]]) -> None:
    db, statements = session
    first = [sample(f"s{n}", 0) for n in range(20)]
    assert await record_samples(db, CALL, first) == 20
    await db.commit()
    assert statements.count("SELECT") == 2  # the stats rows, then the participants of sessions without one
    statements.clear()
    assert await record_samples(db, CALL, [sample(f"s{n}", 5, bitrate=700.0) for n in range(20)]) == 20
    await db.commit()
    assert statements.count("SELECT") == 1  # every session has its row now
    rows = (await db.scalars(select(ParticipantStatsRow).order_by(ParticipantStatsRow.user_session_id))).all()
    assert len(rows) == 20
    for row in rows:
        assert [point["bitrate_kbps"] for point in row.timeline] == [500.0, 700.0]
        assert row.call_cid == CALL and row.session_id == "one" and row.tracks == [{"track_type": "video"}]
        assert row.user_id == "u" + row.user_session_id.removeprefix("s")


async def test_samples_of_other_calls_unknown_sessions_or_no_time_are_dropped(
        session: tuple[AsyncSession, list[str]]) -> None:
    db, _ = session
    undated = {**sample("s1", 0), "at": None}
    kept = await record_samples(db, CALL, [sample("s0", 0), sample("s20", 0), sample("nobody", 0), undated,
                                           sample("s0", 1, bitrate=900.0)])
    await db.commit()
    assert kept == 2  # s0 twice: one new row, both points on it
    rows = (await db.scalars(select(ParticipantStatsRow))).all()
    assert [(row.user_session_id, [p["bitrate_kbps"] for p in row.timeline]) for row in rows] == [
        ("s0", [500.0, 900.0])]
    assert await record_samples(db, "default:other", [sample("s0", 2)]) == 0  # s0's row belongs to CALL
    assert await record_samples(db, CALL, []) == 0
