"""Demo cases for ``make dev``: eleven cases in Jincheng's demo communities in every state of
the life cycle (submitted, returned, accepted, delegated and forwarded with their hops,
settled, decided, closed and rated, withdrawn, suspended, extended, overdue, a mediation and a
petition), made through the service's own use cases.

The registry's demo slice has no residents, so the demo keeps the facts of a few demo
residents as if the registry had published them (ids ``demo-r-…``, no personal data). Loaded
once: nothing happens when any case exists.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casework import case_service as service
from casework.adapters import cases as store
from casework.adapters import reference
from casework.case_service import MatterApplication
from casework.domain.cases import Party
from casework.domain.eligibility import ResidentFacts
from casework.views import china_now
from shared.auth import Principal
from shared.unit_of_work import EventTranslator, UnitOfWork, unit_of_work

CLERK = Principal(subject="demo-clerk", scopes=frozenset())
DONGJIE_1 = ("140500", "140502", "140502001", "140502001001")
XIJIE_1 = ("140500", "140502", "140502002", "140502002001")
NANCUN = ("140500", "140525", "140525001", "140525001001")

RESIDENTS = [
    # id, path, birth year, registration, employment, disabled, flags
    ("demo-r-01", DONGJIE_1, 1974, "registered", "laid_off", False, ()),
    ("demo-r-02", DONGJIE_1, 1950, "registered", "retired", False, ("empty_nest",)),
    ("demo-r-03", XIJIE_1, 1934, "registered", "retired", False, ("living_alone",)),
    ("demo-r-04", XIJIE_1, 1988, "floating", "employed", False, ()),
    ("demo-r-05", NANCUN, 1961, "registered", "unemployed", True, ("subsistence_allowance",)),
    ("demo-r-06", NANCUN, 1958, "registered", "retired", False, ()),
]


async def load_demo_data(
    sessions: async_sessionmaker[AsyncSession], *, translate: EventTranslator
) -> bool:
    """Load the demo residents and cases unless a case exists; whether it loaded."""
    async with unit_of_work(sessions, translate=translate) as uow:
        if await store.any_case(uow.session):
            return False
        for resident_id, path, born, registration, employment, disabled, flags in RESIDENTS:
            facts = ResidentFacts(
                resident_id=resident_id,
                community_id=path[-1],
                path=path,
                birth_year=born,
                registration=registration,
                employment_status=employment,
                disabled=disabled,
                flags=flags,
            )
            await reference.save_resident(uow.session, facts, version=1)
        await _cases(uow, china_now())
    return True


async def _submit(
    uow: UnitOfWork, resident_id: str, at: datetime, *applications: MatterApplication
) -> list[str]:
    visit = await service.submit_visit(
        uow, principal=CLERK, resident_id=resident_id, matters=applications, at=at
    )
    return [case.id for case in visit.cases]


def _all(code: str, *documents: str) -> MatterApplication:
    return MatterApplication(matter_code=code, documents=documents)


async def _cases(uow: UnitOfWork, now: datetime) -> None:
    p = CLERK

    def ago(days: int) -> datetime:
        return now - timedelta(days=days)

    # A laid-off worker's visit: unemployment registration settled on the spot, and the
    # concession card carried by an agent: delegated, delivered, received, decided, carried
    # back, closed and rated.
    settled, card = await _submit(
        uow,
        "demo-r-01",
        ago(20),
        _all("unemployment_registration", "id_card", "employment_termination_proof"),
        _all(
            "reemployment_concession_card",
            "id_card",
            "household_register",
            "unemployment_registration_card",
            "photo",
        ),
    )
    await service.accept(uow, principal=p, case_id=settled, at=ago(20))
    await service.settle(uow, principal=p, case_id=settled, outcome="approved", at=ago(20))
    await service.close(uow, principal=p, case_id=settled, at=ago(20))
    await service.rate(uow, principal=p, case_id=settled, rating=5, at=ago(20))
    await service.accept(uow, principal=p, case_id=card, at=ago(20))
    await service.delegate(uow, principal=p, case_id=card, agent_id="demo-agent-1", at=ago(19))
    await service.forward(uow, principal=p, case_id=card, at=ago(18))
    await service.record_hop(
        uow, principal=p, case_id=card, hop="received_by_department", at=ago(18)
    )
    await service.decide(uow, principal=p, case_id=card, outcome="approved", at=ago(10))
    await service.record_hop(uow, principal=p, case_id=card, hop="result_carried_back", at=ago(9))
    await service.close(uow, principal=p, case_id=card, at=ago(9))
    await service.rate(uow, principal=p, case_id=card, rating=4, at=ago(9))

    # An elder's visit: preferential card submitted today, longevity certificate returned for
    # a missing photo.
    _, certificate = await _submit(
        uow,
        "demo-r-02",
        now,
        _all("elderly_preferential_card", "id_card", "photo"),
        _all("longevity_certificate", "id_card", "household_register"),
    )
    await service.return_case(
        uow, principal=p, case_id=certificate, missing_documents=["photo"], at=now
    )

    # A 92-year-old's longevity subsidy: forwarded directly, suspended waiting for a bank
    # account proof; a medical subsidy extended with a reason.
    subsidy, medical = await _submit(
        uow,
        "demo-r-03",
        ago(6),
        _all("longevity_subsidy", "id_card", "household_register", "bank_account_proof"),
        _all("elder_hardship_medical_subsidy", "id_card", "medical_bills", "income_proof"),
    )
    await service.accept(uow, principal=p, case_id=subsidy, at=ago(6))
    await service.forward(uow, principal=p, case_id=subsidy, at=ago(5))
    await service.suspend(uow, principal=p, case_id=subsidy, at=ago(3))
    await service.accept(uow, principal=p, case_id=medical, at=ago(6))
    await service.forward(uow, principal=p, case_id=medical, at=ago(6))
    await service.extend(
        uow, principal=p, case_id=medical, days=5, reason="awaiting hospital records", at=ago(1)
    )

    # A floating resident's registration, withdrawn.
    (floating,) = await _submit(
        uow, "demo-r-04", ago(2), _all("floating_population_registration", "id_card", "photo")
    )
    await service.withdraw(uow, principal=p, case_id=floating, at=ago(1))

    # Subsistence allowance accepted 40 days ago and still at the department: overdue (the
    # sweep raises it and escalates it to the street office); a petition about it.
    (allowance,) = await _submit(
        uow,
        "demo-r-05",
        ago(40),
        _all(
            "subsistence_allowance",
            "id_card",
            "household_register",
            "income_proof",
            "application_form",
        ),
    )
    await service.accept(uow, principal=p, case_id=allowance, at=ago(40))
    await service.delegate(uow, principal=p, case_id=allowance, agent_id="demo-agent-2", at=ago(39))
    await service.forward(uow, principal=p, case_id=allowance, at=ago(38))
    (petition,) = await _submit(
        uow,
        "demo-r-05",
        ago(3),
        MatterApplication("petition", ("petition_letter",), related_case_ids=(allowance,)),
    )
    await service.accept(uow, principal=p, case_id=petition, at=ago(3))

    # A neighbours' dispute: one mediation session held; a legal aid application accepted.
    (dispute,) = await _submit(
        uow,
        "demo-r-06",
        ago(8),
        MatterApplication(
            "dispute_mediation",
            ("dispute_statement",),
            parties=(Party("applicant", "demo-r-06"), Party("respondent")),
        ),
    )
    await service.accept(uow, principal=p, case_id=dispute, at=ago(8))
    await service.hold_session(
        uow,
        principal=p,
        case_id=dispute,
        held_on=ago(4).date(),
        mediator_id="demo-mediator-1",
        at=ago(4),
    )
    (aid,) = await _submit(
        uow,
        "demo-r-06",
        ago(1),
        _all("legal_aid", "id_card", "hardship_statement", "case_materials"),
    )
    await service.accept(uow, principal=p, case_id=aid, at=ago(1))
