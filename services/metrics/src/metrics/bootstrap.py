"""Start-up work of the metrics service: load and validate the catalogue, record its measures
(filling new ones from the stored entities), and store the catalogue's targets."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metrics import targets_service
from metrics.adapters import store
from metrics.adapters.tables import EntityProjection, MeasureDefinition
from metrics.domain.catalogue import default_catalogue_dir, read_indicator_file, read_target_file
from metrics.domain.measures import Catalogue, compile_catalogue
from metrics.domain.sources import REGISTRY_SOURCES, Sources
from metrics.settings import Settings
from metrics.tracking import Tracker
from shared.db import insert_ignoring_conflicts
from shared.paths import path_ids
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def load_catalogue(settings: Settings, *, sources: Sources = REGISTRY_SOURCES) -> Catalogue:
    """The configured catalogue (``catalogue_dir`` or the shipped one), validated; raises
    :class:`metrics.domain.catalogue.CatalogueError` naming every problem."""
    directory = Path(settings.catalogue_dir) if settings.catalogue_dir else default_catalogue_dir()
    indicators = read_indicator_file(directory / "indicators.yaml")
    targets = read_target_file(directory / "targets.yaml")
    return compile_catalogue(sources, indicators, targets)


async def record_measures(session: AsyncSession, *, catalogue: Catalogue) -> list[str]:
    """Record the catalogue's measures; a measure new to this database is filled from the
    stored entities (each active entity contributes from the day its current state began;
    facts on their day). Returns the keys filled. Only the replica whose transaction records
    a measure fills it, so concurrent start-ups do not count twice."""
    filled: list[str] = []
    deltas: dict[store.LedgerKey, int] = defaultdict(int)
    for key, measure in sorted(catalogue.measures.items()):
        inserted = await session.execute(
            insert_ignoring_conflicts(session, MeasureDefinition.__table__).values(  # type: ignore[arg-type]
                key=key, entity=measure.entity, definition=json.dumps(measure.definition)
            )
        )
        if not getattr(inserted, "rowcount", 0):
            continue
        rows = await session.scalars(
            select(EntityProjection).where(
                EntityProjection.entity_type == measure.entity, EntityProjection.active.is_(True)
            )
        )
        for row in rows:
            attributes = row.attribute_values()
            value = measure.contribution(attributes)
            ledger_key = measure.ledger_key(attributes)
            if value and ledger_key is not None:
                for area in path_ids(row.path):
                    deltas[(area, ledger_key, row.since)] += value
        filled.append(key)
    await store.add_to_ledger(session, deltas)
    if filled:
        log.info("measures recorded", extra={"measures": filled})
    return filled


async def prepare(uow: UnitOfWork, *, catalogue: Catalogue, tracker: Tracker) -> None:
    """Record measures and store the catalogue's targets; evaluate the targets that changed."""
    await record_measures(uow.session, catalogue=catalogue)
    changed = await targets_service.sync_catalogue_targets(uow.session, catalogue=catalogue)
    if changed:
        await tracker.evaluate_all(uow, target_ids=changed)
