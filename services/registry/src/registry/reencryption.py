"""Re-encryption of stored national id numbers: under the current key, bound to their resident.

Values written before numbers were bound to their resident (associated data with the
resident's id, :mod:`registry.pii`), or under a retired key, are decrypted and encrypted
again, a batch of residents per transaction, without events (nothing about the resident
changes). The service runs it in the background at every start
(:func:`schedule_reencryption`); once it finished, a retired key can be dropped. The same task
stores the address code of numbers stored before it was kept (:func:`fill_area_codes`).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.adapters.people import ResidentRow
from registry.domain.national_id import area_code_of
from registry.pii import BOUND, PiiProtector
from shared.db import transaction
from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

BATCH = 500


async def reencrypt_national_ids(
    sessions: async_sessionmaker[AsyncSession], *, pii: PiiProtector, batch: int = BATCH
) -> int:
    """Re-encrypt every stored number that is unbound or under a retired key; how many."""
    current = f"{BOUND}:{pii.current_key_id}:"
    done, after = 0, ""
    while True:
        async with transaction(sessions) as session:
            query = (
                select(ResidentRow.id, ResidentRow.national_id_encrypted)
                .where(
                    ResidentRow.id > after, ~ResidentRow.national_id_encrypted.startswith(current)
                )
                .order_by(ResidentRow.id)
                .limit(batch)
            )
            rows = (await session.execute(query)).all()
            for resident_id, stored in rows:
                number = pii.decrypt(stored, owner=resident_id)
                await session.execute(
                    update(ResidentRow)
                    .where(ResidentRow.id == resident_id)
                    .where(ResidentRow.national_id_encrypted == stored)
                    .values(national_id_encrypted=pii.encrypt(number, owner=resident_id))
                    .execution_options(synchronize_session=False)
                )
        done += len(rows)
        if len(rows) < batch:
            break
        after = rows[-1][0]
        await asyncio.sleep(0)
    if done:
        log.info("national id numbers re-encrypted", extra={"count": done})
    return done


async def fill_area_codes(
    sessions: async_sessionmaker[AsyncSession], *, pii: PiiProtector, batch: int = BATCH
) -> int:
    """Store the address code (what a mask shows) of every number stored before it was kept,
    so masked reads need not decrypt it; how many. A number whose mask shows nothing (not 18
    characters) keeps none."""
    done, after = 0, ""
    while True:
        async with transaction(sessions) as session:
            query = (
                select(ResidentRow.id, ResidentRow.national_id_encrypted)
                .where(ResidentRow.id > after, ResidentRow.national_id_area_code.is_(None))
                .order_by(ResidentRow.id)
                .limit(batch)
            )
            rows = (await session.execute(query)).all()
            for resident_id, stored in rows:
                area_code = area_code_of(pii.decrypt(stored, owner=resident_id))
                if area_code is None:
                    continue
                await session.execute(
                    update(ResidentRow)
                    .where(ResidentRow.id == resident_id)
                    .where(ResidentRow.national_id_encrypted == stored)
                    .values(national_id_area_code=area_code)
                    .execution_options(synchronize_session=False)
                )
                done += 1
        if len(rows) < batch:
            break
        after = rows[-1][0]
        await asyncio.sleep(0)
    if done:
        log.info("national id address codes stored", extra={"count": done})
    return done


def schedule_reencryption(runtime: ServiceRuntime, pii: PiiProtector) -> None:
    """Re-encrypt, then store missing address codes, in the background once the service
    started (a failure is logged; the next start tries again)."""

    async def run(stop: asyncio.Event) -> None:
        try:
            await reencrypt_national_ids(runtime.sessions, pii=pii)
            await fill_area_codes(runtime.sessions, pii=pii)
        except Exception as exc:
            log.warning("re-encryption of national id numbers failed: %r", exc)

    runtime.add_task("pii-reencryption", run)
