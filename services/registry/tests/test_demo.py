"""The demo data `make dev` loads: Jincheng's areas, facilities and workers, once."""

from __future__ import annotations

import pytest

from registry.adapters.events import translate
from registry.app import create_app
from registry.demo import load_demo_data
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.testing.service import bearer, running_service

pytestmark = [pytest.mark.integration, pytest.mark.publishes]


async def test_demo_data_sets_the_scene_for_the_targets(
    sqlite_url: str, kafka_bootstrap: str
) -> None:
    settings = Settings(
        environment="development",
        database_url=sqlite_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        demo_data=True,
    )
    async with running_service(create_app, settings) as client:
        reader = bearer(settings, "registry:read")
        count = await client.get("/areas/count", params={"level": "community"}, headers=reader)
        assert count.json() == {"count": 7}
        meeting = await client.get(
            "/facilities/stats/communities-meeting-area",
            params={"threshold_m2": 300, "within": "140500"},
            headers=reader,
        )
        assert (meeting.json()["meeting"], meeting.json()["total"]) == (4, 7)
        workers = await client.get("/workers/stats", params={"within": "140500"}, headers=reader)
        assert workers.json()["count"] == 21
        engine = create_engine(sqlite_url)
        assert (
            await load_demo_data(session_factory(engine), translate=translate) == 0
        )  # loaded once only
        await engine.dispose()
