"""Routes of the elder roster and assessments: thin, each parses, calls one use case and maps
the result; writes run through the command runner."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from eldercare import assessments, clock, elders
from eldercare.api.deps import Reader, Within, WriteCommand, after_id
from eldercare.domain.assessment import (
    CARE_LEVEL_NAMES,
    CARE_PACKAGES,
    CURRENT_INSTRUMENT,
    INSTRUMENTS,
    AssessmentSnapshot,
)
from eldercare.domain.roster import ElderSnapshot, RosterStatus
from shared.audit import AuditTrail
from shared.contracts.eldercare import ServiceKind
from shared.contracts.registry import Sex
from shared.inputs import Day, Text
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize, page_of
from shared.runtime import SessionDep

router = APIRouter(tags=["elders"])


class PackageItemOut(BaseModel):
    """One service of a care package."""

    service: ServiceKind
    visits_per_week: int = Field(description="Visits offered per week (0: on request).")


class ElderOut(BaseModel):
    """An elder on the roster (ids and derived facts; names stay in the registry)."""

    resident_id: str
    community_id: str
    path: list[str]
    sex: Sex
    birth_year: int
    age: int = Field(
        description="Age today: exact after a registry age milestone, else the best the "
        "registry's events told (the age reached this year for residents known from older "
        "events)."
    )
    disabled: bool
    living_alone: bool
    empty_nest: bool
    status: RosterStatus
    enrolled_on: date | None
    ended_on: date | None
    care_level: int | None = Field(description="Care level of the newest assessment.")
    care_level_name: str | None
    care_package: list[PackageItemOut] = Field(description="The care plan's service package.")

    @classmethod
    def of(cls, elder: ElderSnapshot) -> ElderOut:
        """The API view of an elder."""
        level = elder.care_level
        return cls(
            resident_id=elder.resident_id,
            community_id=elder.community_id,
            path=list(elder.path),
            sex=elder.sex,
            birth_year=elder.birth_year,
            age=elder.age(clock.today()),
            disabled=elder.disabled,
            living_alone=elder.living_alone,
            empty_nest=elder.empty_nest,
            status=elder.status,
            enrolled_on=elder.enrolled_on,
            ended_on=elder.ended_on,
            care_level=level,
            care_level_name=None if level is None else CARE_LEVEL_NAMES[level],
            care_package=[
                PackageItemOut(service=item.service, visits_per_week=item.visits_per_week)
                for item in (CARE_PACKAGES[level] if level is not None else ())
            ],
        )


class ElderPage(Page[ElderOut]):
    """One page of elders."""


@router.get("/elders", response_model=ElderPage)
async def list_elders(
    principal: Reader,
    session: SessionDep,
    trail: AuditTrail,
    within: Within = None,
    status: RosterStatus | None = Query(default=None, description="Default: enrolled."),
    care_level: Annotated[int | None, Query(ge=0, le=3)] = None,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> ElderPage:
    """Elders in the token's area, by resident id."""
    found = await elders.list_elders(
        session,
        principal=principal,
        within=within,
        status=status,
        care_level=care_level,
        after=after_id(cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(list(found), limit, lambda e: [e.resident_id])
    await trail.read(principal, "elder", [(e.resident_id, e.path) for e in page], session=session)
    return ElderPage(items=[ElderOut.of(e) for e in page], next_cursor=next_cursor)


@router.get("/elders/{resident_id}", response_model=ElderOut)
async def get_elder(
    resident_id: str, principal: Reader, session: SessionDep, trail: AuditTrail
) -> ElderOut:
    """One elder (the read is audited; 404 when not on the roster or outside the token's
    area)."""
    elder = await elders.get_elder(session, principal=principal, resident_id=resident_id)
    await trail.read(principal, "elder", [(elder.resident_id, elder.path)], session=session)
    return ElderOut.of(elder)


class AssessmentIn(BaseModel):
    """An assessment: the ten Barthel item scores and the instrumental activities the elder
    needs help with."""

    model_config = ConfigDict(extra="forbid")

    barthel: dict[Text, StrictInt] = Field(
        description="Barthel item → score (feeding, bathing, grooming, dressing, bowels, "
        "bladder, toilet_use, transfers, mobility, stairs)."
    )
    iadl_dependent: list[Text] = Field(
        default_factory=list, max_length=20, description="IADL activities needing help."
    )
    instrument: Text | None = Field(
        default=None,
        max_length=40,
        description=f"Instrument version (default {CURRENT_INSTRUMENT}).",
    )
    assessed_on: Day | None = Field(default=None, description="Day assessed (default today).")


class AssessmentOut(BaseModel):
    """A scored assessment."""

    id: str
    resident_id: str
    instrument: str
    barthel: dict[str, int]
    iadl_dependent: list[str]
    barthel_score: int = Field(description="Barthel ADL index, 0–100.")
    iadl_dependent_count: int
    care_level: int
    care_level_name: str
    assessed_on: date
    reassess_on: date

    @classmethod
    def of(cls, assessment: AssessmentSnapshot) -> AssessmentOut:
        """The API view of an assessment."""
        return cls(
            id=assessment.id,
            resident_id=assessment.resident_id,
            instrument=assessment.instrument,
            barthel=dict(assessment.barthel),
            iadl_dependent=list(assessment.iadl_dependent),
            barthel_score=assessment.barthel_score,
            iadl_dependent_count=assessment.iadl_dependent_count,
            care_level=assessment.care_level,
            care_level_name=CARE_LEVEL_NAMES[assessment.care_level],
            assessed_on=assessment.assessed_on,
            reassess_on=assessment.reassess_on,
        )


@router.post("/elders/{resident_id}/assessments", status_code=201, response_model=AssessmentOut)
async def record_assessment(
    resident_id: str, body: AssessmentIn, command: WriteCommand
) -> JSONResponse:
    """Record and score an assessment; the elder's care level follows the newest one."""
    return await command.run(
        assessments.record_assessment,
        AssessmentOut.of,
        status=201,
        resident_id=resident_id,
        barthel=body.barthel,
        iadl_dependent=body.iadl_dependent,
        instrument=body.instrument,
        assessed_on=body.assessed_on,
    )


@router.get("/elders/{resident_id}/assessments", response_model=list[AssessmentOut])
async def list_assessments(
    resident_id: str, principal: Reader, session: SessionDep, trail: AuditTrail
) -> list[AssessmentOut]:
    """An elder's assessments, newest first (the read is audited)."""
    found = await assessments.list_assessments(
        session, principal=principal, resident_id=resident_id
    )
    await trail.read(principal, "assessment", [(a.id, a.path) for a in found], session=session)
    return [AssessmentOut.of(a) for a in found]


@router.get("/reassessments", response_model=list[AssessmentOut])
async def reassessments_due(
    principal: Reader,
    session: SessionDep,
    trail: AuditTrail,
    by: Annotated[Day | None, Query(description="Due on or before (default today).")] = None,
    within: Within = None,
) -> list[AssessmentOut]:
    """Elders whose newest assessment is due for reassessment, soonest first (each read is
    audited)."""
    found = await assessments.reassessments_due(
        session, principal=principal, by=by or clock.today(), within=within
    )
    await trail.read(principal, "assessment", [(a.id, a.path) for a in found], session=session)
    return [AssessmentOut.of(a) for a in found]


class InstrumentOut(BaseModel):
    """An assessment instrument version."""

    version: str
    barthel_items: dict[str, list[int]]
    iadl_activities: list[str]
    reassess_months: dict[int, int] = Field(description="Care level → months to reassessment.")


@router.get("/instruments", response_model=list[InstrumentOut])
async def list_instruments(principal: Reader) -> list[InstrumentOut]:
    """The assessment instruments, by version."""
    return [
        InstrumentOut(
            version=i.version,
            barthel_items={k: list(v) for k, v in i.barthel_items.items()},
            iadl_activities=list(i.iadl_activities),
            reassess_months=dict(i.reassess_months),
        )
        for i in INSTRUMENTS.values()
    ]
