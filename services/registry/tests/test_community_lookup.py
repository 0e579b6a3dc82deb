"""``get_community``: one Core statement in a session holding no change, the ORM otherwise,
and the same answer either way (what the session holds, or would flush first, counts);
``get_communities``: the same of many ids in one statement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.adapters.areas import AreaRow, get_communities, get_community
from registry.adapters.tables import Base
from shared.db import create_engine, session_factory


def _area(area_id: str, households: int) -> AreaRow:
    return AreaRow(
        id=area_id,
        level="community",
        name="Beijie",
        parent_id=None,
        path=f"/{area_id}/",
        household_count=households,
        valid_from=date(2020, 1, 1),
        created_at=datetime.now(UTC),
    )


@pytest.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a fresh SQLite database holding the registry's tables."""
    engine = create_engine(sqlite_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield session_factory(engine)
    await engine.dispose()


async def test_the_community_is_read_as_stored_or_as_the_session_holds_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        session.add(_area("c1", 10))
    async with sessions() as session, session.begin():  # holds nothing: Core
        found = await get_community(session, "c1")
        assert found is not None
        assert (found.id, found.level, found.path, found.household_count) == (
            "c1",
            "community",
            ("c1",),
            10,
        )
        assert found.valid_from == date(2020, 1, 1)
        assert found.valid_to is None
        assert await get_community(session, "nowhere") is None
    async with sessions() as session, session.begin():  # a change not flushed yet
        row = await session.get(AreaRow, "c1")
        assert row is not None
        row.household_count = 11
        changed = await get_community(session, "c1")
        assert changed is not None
        assert changed.household_count == 11
        session.add(_area("c2", 3))  # pending
        pending = await get_community(session, "c2")
        assert pending is not None
        assert pending.household_count == 3


async def test_many_communities_are_read_at_once_as_the_session_holds_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        session.add_all([_area("c1", 10), _area("c2", 20)])
    async with sessions() as session, session.begin():
        found = await get_communities(session, {"c1", "c2", "nowhere"})
        assert sorted(found) == ["c1", "c2"]
        for area_id in ("c1", "c2"):
            assert found[area_id] == await get_community(session, area_id)
        assert await get_communities(session, set()) == {}
        row = await session.get(AreaRow, "c1")
        assert row is not None
        row.household_count = 11  # a change not flushed yet
        session.add(_area("c3", 3))  # pending
        held = await get_communities(session, ["c1", "c3"])
        assert (held["c1"].household_count, held["c3"].household_count) == (11, 3)
