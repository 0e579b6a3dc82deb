"""Test helpers of the employment service: registry facts published as the registry would
publish them, for this service's tests and the end-to-end tests."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from employment.adapters.tables import AreaRow, ResidentRow
from shared.contracts import CONTRACTS, EventPayload
from shared.contracts.registry import AreaCreated, ResidentRegistered, ResidentUpdated
from shared.db import create_engine, session_factory
from shared.kafka import new_producer
from shared.settings import ServiceSettings


async def publish(bootstrap: str, *payloads: tuple[EventPayload, str]) -> None:
    """Send registry payloads to their topics as the registry's relay would."""
    producer = new_producer(
        ServiceSettings(service_name="test-registry", kafka_bootstrap_servers=bootstrap)
    )
    await producer.start()
    try:
        for payload, key in payloads:
            event = CONTRACTS.new_event(payload, aggregate_id=key)
            await producer.send_and_wait(
                CONTRACTS.by_type(event.type).topic,
                value=event.to_json_bytes(),
                key=key.encode(),
                headers=event.kafka_headers(),
            )
    finally:
        await producer.stop()


@dataclass
class Registry:
    """A small city of the test's own, fed to the service as registry events:
    city → districts d1, d2 → one street each → communities d1s1m1, d1s1m2, d2s1m1."""

    tag: str
    bootstrap: str
    database_url: str

    def area(self, name: str) -> str:
        """The id of a named area of this city (``d1``, ``d1s1``, ``d1s1m1`` …)."""
        return f"{self.tag}{name}"

    def path(self, community: str) -> list[str]:
        """The path of a community named like ``d1s1m1``."""
        return [self.tag, self.area(community[:2]), self.area(community[:4]), self.area(community)]

    async def areas(self) -> None:
        """Publish the city's areas and wait until the service has them."""
        payloads: list[tuple[EventPayload, str]] = []
        for name, level in [
            ("", "city"),
            ("d1", "district"),
            ("d2", "district"),
            ("d1s1", "street"),
            ("d2s1", "street"),
            ("d1s1m1", "community"),
            ("d1s1m2", "community"),
            ("d2s1m1", "community"),
        ]:
            path = [self.tag] + [self.area(name[: i + 2]) for i in range(0, len(name), 2)]
            payloads.append(
                (
                    AreaCreated(
                        area_id=path[-1],
                        level=level,
                        name=f"Area {path[-1]}",
                        parent_id=path[-2] if len(path) > 1 else None,
                        path=path,
                        valid_from=date(2005, 1, 1),
                    ),
                    path[-1],
                )
            )
        await publish(self.bootstrap, *payloads)
        await self.wait_for(AreaRow, self.area("d2s1m1"))

    async def resident(
        self,
        community: str,
        *,
        sex: str = "male",
        birth_year: int = 1974,
        employment_status: str = "laid_off",
        disabled: bool = False,
        version: int = 1,
        resident_id: str | None = None,
        wait: bool = True,
    ) -> str:
        """Publish a resident's facts (``resident.registered``, or ``updated`` after version
        1) and wait until the service has them; the resident's id."""
        resident = resident_id or f"{self.tag}r{uuid.uuid4().hex[:8]}"
        fields = {
            "resident_id": resident,
            "household_id": f"{resident}h",
            "community_id": self.area(community),
            "path": self.path(community),
            "sex": sex,
            "birth_year": birth_year,
            "age_band": "50-59",
            "registration": "registered",
            "employment_status": employment_status,
            "disabled": disabled,
            "flags": [],
            "version": version,
        }
        if version == 1:
            payload: EventPayload = ResidentRegistered.model_validate(fields)
        else:
            payload = ResidentUpdated.model_validate({**fields, "changed": ["employment_status"]})
        await publish(self.bootstrap, (payload, resident))
        if wait:
            await self.wait_for(ResidentRow, resident, version=version)
        return resident

    async def wait_for(self, table: Any, key: str, *, version: int | None = None) -> None:
        """Wait until the consumer stored the row ``key`` of ``table`` (at ``version``)."""
        engine = create_engine(self.database_url, pooled=False)
        sessions = session_factory(engine)
        try:
            for _ in range(600):
                async with sessions() as session:
                    row = await session.scalar(select(table).where(table.id == key))
                    if row is not None and (version is None or row.version >= version):
                        return
                await asyncio.sleep(0.1)
            raise AssertionError(f"{table.__name__} {key} never arrived")
        finally:
            await engine.dispose()
