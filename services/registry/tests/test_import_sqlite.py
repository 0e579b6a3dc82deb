"""A large import on the SQLite default leaves the service answering and the relay exact:
`/readyz` stays ready, reads keep answering, and every event is published once."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import pytest
from aiokafka import ConsumerRecord

from registry.app import create_app
from registry.importer import household_id_for
from registry.settings import Settings
from shared.testing.service import bearer, running_service
from shared.testing.topics import read_until

pytestmark = [pytest.mark.integration, pytest.mark.publishes]

HOUSEHOLDS = 3000


async def test_a_large_import_on_sqlite_keeps_the_service_answering_and_the_relay_exact(
    sqlite_url: str, kafka_bootstrap: str
) -> None:
    settings = Settings(
        environment="development", database_url=sqlite_url, kafka_bootstrap_servers=kafka_bootstrap
    )
    writer = bearer(settings, "registry:read", "registry:write")
    areas = [
        {"id": "q1", "level": "city"},
        {"id": "q1d", "level": "district", "parent_id": "q1"},
        {"id": "q1s", "level": "street", "parent_id": "q1d"},
        {"id": "q1m", "level": "community", "parent_id": "q1s"},
    ]
    households = [
        {
            "type": "household",
            "ref": f"SQ-{n}",
            "community_id": "q1m",
            "address": f"{n} Sqlite Road",
            "registered_on": "2020-01-01",
        }
        for n in range(HOUSEHOLDS)
    ]
    async with running_service(create_app, settings) as client:
        first = "".join(
            json.dumps({"type": "area", "name": "Q", "valid_from": "2005-01-01", **a}) + "\n"
            for a in areas
        )
        assert (await client.post("/imports", content=first, headers=writer)).status_code == 200
        body = "".join(json.dumps(h) + "\n" for h in households)
        import_started = time.perf_counter()
        importing = asyncio.create_task(client.post("/imports", content=body, headers=writer))
        slowest, not_ready = 0.0, 0
        while not importing.done():
            started = time.perf_counter()
            ready = await client.get("/readyz")
            read = await client.get("/areas/q1m", headers=writer)
            slowest = max(slowest, time.perf_counter() - started)
            not_ready += ready.status_code != 200
            assert read.status_code == 200, read.text
            await asyncio.sleep(0.05)
        report = (await importing).json()
        import_s = time.perf_counter() - import_started
        assert report["accepted"] == HOUSEHOLDS, report
        assert not_ready == 0
        # Relative, not a latency budget: an import holding the loop or the writer for its whole
        # length would make one read wait about as long as the import; a loaded machine slows
        # both alike. 2 s is the floor for a short import.
        assert slowest < max(2.0, import_s / 3), (slowest, import_s)

        mine = {household_id_for(h["ref"]).encode() for h in households}

        def event_ids(records: list[ConsumerRecord[bytes, bytes]]) -> Counter[bytes]:
            return Counter(dict(r.headers)["ce_id"] for r in records if r.key in mine)

        await read_until(
            settings,
            "registry.household.events",
            lambda found: len(event_ids(found)) >= HOUSEHOLDS,
            timeout_s=120,
            awaited=f"{HOUSEHOLDS} household events",
        )
        await asyncio.sleep(2)  # a relay that sends twice would have done so by now
        records = await read_until(
            settings,
            "registry.household.events",
            lambda found: len(event_ids(found)) >= HOUSEHOLDS,
            timeout_s=60,
        )
        ids = event_ids(records)
        assert len(ids) == HOUSEHOLDS
        assert max(ids.values()) == 1, f"{sum(n - 1 for n in ids.values())} events sent twice"
