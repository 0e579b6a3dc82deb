"""Demo data for ``make dev``: employers, vacancies, courses, seekers, placements and a loan in
the registry's demo slice of Jincheng (seed 002), everything through the service's own use
cases.

The registry's demo has areas but no residents, so the demo first applies, through the same use
cases as the consumer, the registry facts it needs: the demo areas (the same ids as the
registry's, so the registry's own ``area.created`` events change nothing) and a dozen demo
residents (ids ``demo-r…``, known to this service only). Placements started months ago, so the
3-month checks are recorded (re-employed) and the follow-up job finds the 6-month checks due.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from employment import (
    loans_service,
    matches_service,
    registry_facts,
    seekers_service,
    training_service,
    vacancies_service,
)
from employment.adapters.tables import EmployerRow
from shared.auth import Principal
from shared.contracts.registry import AreaCreated, AreaLevel, ResidentRegistered
from shared.unit_of_work import EventTranslator, unit_of_work

log = logging.getLogger(__name__)

DEMO = Principal(subject="demo-data", scopes=frozenset())
SINCE = date(2005, 1, 1)

AREAS: list[tuple[str, AreaLevel, tuple[str, ...]]] = [
    ("140500", "city", ("140500",)),
    ("140502", "district", ("140500", "140502")),
    ("140525", "district", ("140500", "140525")),
    ("140502001", "street", ("140500", "140502", "140502001")),
    ("140502002", "street", ("140500", "140502", "140502002")),
    ("140525001", "street", ("140500", "140525", "140525001")),
    ("140525002", "street", ("140500", "140525", "140525002")),
    ("140502001001", "community", ("140500", "140502", "140502001", "140502001001")),
    ("140502001002", "community", ("140500", "140502", "140502001", "140502001002")),
    ("140502002001", "community", ("140500", "140502", "140502002", "140502002001")),
    ("140502002002", "community", ("140500", "140502", "140502002", "140502002002")),
    ("140525001001", "community", ("140500", "140525", "140525001", "140525001001")),
    ("140525001002", "community", ("140500", "140525", "140525001", "140525001002")),
    ("140525002001", "community", ("140500", "140525", "140525002", "140525002001")),
]
PATHS = {area_id: path for area_id, _, path in AREAS}

# (resident, community, sex, birth year, employment status, disabled, floating,
#  recorded groups, skills, hours, wage expectation in fen)
SEEKERS: list[
    tuple[str, str, str, int, str, bool, bool, list[str], list[str], list[str], int | None]
] = [
    (
        "demo-r01",
        "140502001001",
        "male",
        1974,
        "laid_off",
        False,
        False,
        [],
        ["repair.electrical", "repair.plumbing"],
        ["full_time"],
        260_000,
    ),
    (
        "demo-r02",
        "140502001001",
        "female",
        1983,
        "laid_off",
        False,
        False,
        [],
        ["care.housekeeping", "catering.cook"],
        ["part_time", "flexible"],
        180_000,
    ),
    (
        "demo-r03",
        "140502001002",
        "male",
        1972,
        "unemployed",
        False,
        False,
        ["long_term_unemployed"],
        ["public.security", "logistics.driving"],
        ["full_time"],
        200_000,
    ),
    (
        "demo-r04",
        "140502001002",
        "female",
        1980,
        "laid_off",
        True,
        False,
        [],
        ["crafts.sewing", "retail.cashier"],
        ["full_time", "part_time"],
        170_000,
    ),
    (
        "demo-r05",
        "140502002001",
        "male",
        2003,
        "unemployed",
        False,
        False,
        ["graduate"],
        ["office.computer", "office.customer"],
        ["full_time"],
        300_000,
    ),
    (
        "demo-r06",
        "140502002002",
        "female",
        1985,
        "unemployed",
        False,
        False,
        ["land_losing_farmer"],
        ["public.greening", "catering.pastry"],
        ["full_time"],
        160_000,
    ),
    (
        "demo-r07",
        "140502002002",
        "male",
        1990,
        "unemployed",
        False,
        True,
        [],
        ["logistics.delivery", "logistics.warehouse"],
        ["full_time", "flexible"],
        280_000,
    ),
    (
        "demo-r08",
        "140525001001",
        "female",
        1982,
        "laid_off",
        False,
        False,
        [],
        ["care.elderly", "care.housekeeping"],
        ["full_time"],
        220_000,
    ),
    (
        "demo-r09",
        "140525001002",
        "male",
        1995,
        "unemployed",
        False,
        False,
        [],
        ["retail.sales", "office.computer"],
        ["full_time"],
        350_000,
    ),
    (
        "demo-r10",
        "140525002001",
        "male",
        1971,
        "laid_off",
        False,
        False,
        [],
        ["recycling.sorting", "public.cleaning"],
        ["full_time"],
        150_000,
    ),
    (
        "demo-r11",
        "140502001001",
        "female",
        2006,
        "unemployed",
        False,
        False,
        ["new_entrant"],
        ["beauty.hairdressing"],
        ["full_time", "part_time"],
        None,
    ),
    (
        "demo-r12",
        "140525001001",
        "male",
        1976,
        "laid_off",
        False,
        False,
        [],
        ["catering.cook", "catering.service"],
        ["full_time"],
        240_000,
    ),
]

# (name, kind, community, training partner)
EMPLOYERS: list[tuple[str, str, str, bool]] = [
    ("Dongjie Property Services Co.", "enterprise", "140502001001", True),
    ("Chengqu Street Office", "public_body", "140502001001", False),
    ("Nancun Home Care Association", "social_organisation", "140525001001", True),
    ("Jincheng Logistics Ltd.", "enterprise", "140525001002", False),
]

# (employer index, kind, place, title, required, nice, hours, h/week, wage fen, posts)
VACANCIES: list[tuple[int, str, str, str, list[str], list[str], str, int, int, int]] = [
    (
        0,
        "enterprise",
        "140502001",
        "Estate electrician",
        ["repair.electrical"],
        ["repair.plumbing"],
        "full_time",
        44,
        280_000,
        2,
    ),
    (
        1,
        "public_welfare",
        "140502001001",
        "Community cleaning and greening",
        ["public.cleaning"],
        ["public.greening"],
        "full_time",
        40,
        160_000,
        3,
    ),
    (
        1,
        "public_welfare",
        "140502001002",
        "Community security patrol",
        ["public.security"],
        [],
        "full_time",
        40,
        180_000,
        2,
    ),
    (
        2,
        "convenience_service",
        "140525001001",
        "Home care assistant",
        ["care.elderly"],
        ["care.housekeeping", "catering.cook"],
        "part_time",
        30,
        200_000,
        4,
    ),
    (
        3,
        "enterprise",
        "140525001",
        "Delivery rider",
        ["logistics.delivery"],
        ["logistics.driving"],
        "flexible",
        40,
        320_000,
        5,
    ),
    (
        0,
        "enterprise",
        "140502002",
        "Canteen cook",
        ["catering.cook"],
        ["catering.pastry"],
        "full_time",
        44,
        250_000,
        1,
    ),
]
QUOTAS = {"140502001001": 6, "140502001002": 4}


async def load_demo_data(
    sessions: async_sessionmaker[AsyncSession],
    *,
    translate: EventTranslator,
    today: date | None = None,
) -> bool:
    """Load the demo when no employer exists yet; whether it was loaded."""
    day = today or date.today()
    async with sessions() as session:
        if await session.scalar(select(func.count()).select_from(EmployerRow)):
            return False
    async with unit_of_work(sessions, translate=translate) as uow:
        for area_id, level, path in AREAS:
            await registry_facts.apply_area(
                uow,
                payload=AreaCreated(
                    area_id=area_id,
                    level=level,
                    name=area_id,
                    parent_id=path[-2] if len(path) > 1 else None,
                    path=list(path),
                    valid_from=SINCE,
                ),
            )
        await uow.flush()
        for number, (resident, community, sex, born, status, disabled, floating, *_) in enumerate(
            SEEKERS
        ):
            await registry_facts.apply_resident(
                uow,
                payload=ResidentRegistered(
                    resident_id=resident,
                    household_id=f"demo-h{number:02d}",
                    community_id=community,
                    path=list(PATHS[community]),
                    sex=sex,
                    birth_year=born,
                    age_band="40-49",
                    registration="floating" if floating else "registered",
                    employment_status=status,
                    disabled=disabled,
                    flags=[],
                    version=1,
                ),
                today=day,
            )
        for community, posts in QUOTAS.items():
            await vacancies_service.set_welfare_quota(
                uow, principal=DEMO, community_id=community, posts=posts
            )
    async with unit_of_work(sessions, translate=translate) as uow:
        seekers = [
            await seekers_service.register_seeker(
                uow,
                principal=DEMO,
                resident_id=resident,
                recorded_groups=recorded,
                skills=skills,
                education="senior_middle",
                hours=hours,  # type: ignore[arg-type]
                max_hours_per_week=44,
                wage_expectation_fen=wage,
                preferred_area_ids=[],
                today=day - timedelta(days=240),
            )
            for resident, *_, recorded, skills, hours, wage in SEEKERS
        ]
        employers = [
            await vacancies_service.register_employer(
                uow,
                principal=DEMO,
                name=name,
                kind=kind,  # type: ignore[arg-type]
                community_id=community,
                training_partner=partner,
            )
            for name, kind, community, partner in EMPLOYERS
        ]
        vacancies = [
            await vacancies_service.post_vacancy(
                uow,
                principal=DEMO,
                employer_id=employers[employer].id,
                kind=kind,  # type: ignore[arg-type]
                place_id=place,
                title=title,
                required_skills=required,
                nice_skills=nice,
                hours=hours,  # type: ignore[arg-type]
                hours_per_week=per_week,
                wage_fen=wage,
                posts=posts,
            )
            for employer, kind, place, title, required, nice, hours, per_week, wage, posts in (
                VACANCIES
            )
        ]
        await training_service.schedule_course(
            uow,
            principal=DEMO,
            title="Elderly care assistant (养老护理员) certificate",
            place_id="140525001",
            skills=["care.elderly"],
            starts_on=day + timedelta(days=14),
            ends_on=day + timedelta(days=44),
            sessions=20,
            capacity=25,
        )
        await training_service.schedule_course(
            uow,
            principal=DEMO,
            title="Household appliance repair",
            place_id="140502001",
            skills=["repair.appliance", "repair.electrical"],
            starts_on=day + timedelta(days=7),
            ends_on=day + timedelta(days=60),
            sessions=24,
            capacity=20,
        )
    # placements: the electrician (laid off, 52), the patrol (long-term unemployed) and the
    # cleaner (laid off, 55) started seven months ago
    placed = [(0, 0), (2, 2), (9, 1)]
    for seeker_index, vacancy_index in placed:
        async with unit_of_work(sessions, translate=translate) as uow:
            match = await matches_service.propose_match(
                uow,
                principal=DEMO,
                vacancy_id=vacancies[vacancy_index].id,
                seeker_id=seekers[seeker_index].id,
            )
            placement = await matches_service.accept_match(
                uow, principal=DEMO, match_id=match.id, started_on=day - timedelta(days=215)
            )
            three_months = placement.check(3).due_on
            await matches_service.record_retention_check(
                uow,
                principal=DEMO,
                placement_id=placement.id,
                months=3,
                passed=True,
                checked_on=three_months + timedelta(days=2),
            )
    async with unit_of_work(sessions, translate=translate) as uow:
        await matches_service.propose_match(
            uow, principal=DEMO, vacancy_id=vacancies[3].id, seeker_id=seekers[7].id
        )
        loan = await loans_service.apply_for_loan(
            uow,
            principal=DEMO,
            seeker_id=seekers[5].id,
            amount_fen=3_000_000,
            term_months=24,
            today=day - timedelta(days=100),
        )
        await loans_service.guarantee_loan(
            uow, principal=DEMO, loan_id=loan.id, guarantee="guarantee_fund"
        )
        await loans_service.approve_loan(
            uow, principal=DEMO, loan_id=loan.id, approved_on=day - timedelta(days=95)
        )
        await loans_service.disburse_loan(
            uow, principal=DEMO, loan_id=loan.id, disbursed_on=day - timedelta(days=90)
        )
        await loans_service.repay_loan(
            uow,
            principal=DEMO,
            loan_id=loan.id,
            amount_fen=250_000,
            paid_on=day - timedelta(days=60),
        )
    log.info("employment demo data loaded")
    return True
