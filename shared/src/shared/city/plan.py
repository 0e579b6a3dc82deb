"""The synthetic city, drawn from a seed: pure functions, no I/O.

The city carries Jincheng's code (``140500``, the city whose plan targets the metrics service
tracks) with the shape of the documents' cities (``DOMAIN.md``): districts, street offices and
communities of the three kinds that matter for policy (residential, enterprise workers, urban-
rural fringe), ~1,500–2,300 households each (Shenyang averages 1,947), about 2.9 residents per
household, an age pyramid with about one in five aged 60+, floating residents with residence
permits, facilities whose office rooms straddle the 300 m² line, community workers (87 % with a
college degree or above), social organisations and volunteers.

Each community is drawn from a random generator seeded with the city's seed and the
community's code, so a community's rows never depend on how many others are drawn before it,
and the same seed and ``today`` always give the same city. Dates spread from 2005 (the start of
Jincheng's plan) to ``today``; a share of facilities and volunteers arrive in the current plan
period (from 2026-01-01), so the current targets have a trend to forecast from.

Rows are the registry import's own (``POST /imports`` NDJSON, see
``services/registry/src/registry/importer.py``): dictionaries with a ``type``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

SizeName = Literal["small", "medium", "city"]
Row = dict[str, Any]

CITY_ID = "140500"
CITY_NAME = "Jincheng"
PLAN_START = date(2005, 1, 1)
"""Areas exist from here on: the baseline date of Jincheng's three-year plan."""
PERIOD_START = date(2026, 1, 1)
"""Start of the current plan period (the baseline of the ``-by-2028`` targets)."""
COMMUNITY_KINDS = ("residential", "enterprise_workers", "urban_rural_fringe")


@dataclass(frozen=True)
class CitySize:
    """How big a city to draw."""

    name: SizeName
    districts: int
    streets_per_district: int
    communities: int
    """Communities in all, dealt to the streets in turn."""
    household_sample: int = 1
    """Register every n-th household of a community (1: all). A community keeps its full
    registered household count (an area attribute) whatever the sample."""


SIZES: dict[str, CitySize] = {
    "small": CitySize(
        "small", districts=1, streets_per_district=2, communities=4, household_sample=5
    ),
    "medium": CitySize("medium", districts=3, streets_per_district=4, communities=36),
    "city": CitySize("city", districts=10, streets_per_district=13, communities=1043),
}
"""``city`` is Shenyang-sized: 1,043 communities, ~2 M households, ~6 M residents (seed 000)."""

DISTRICT_NAMES = (
    "城区",
    "泽州",
    "东城",
    "西城",
    "南关",
    "北园",
    "新开",
    "铁西",
    "皇姑",
    "大东",
    "浑南",
    "于洪",
)
STREET_WORDS = ("东街", "西街", "南村", "北关", "金庙铺", "钟家庄", "矿区", "新华", "和平", "红星")
COMMUNITY_WORDS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰志红文斌辉鹏飞霞琴云"

HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
HOUSEHOLD_SIZE_WEIGHTS = (14, 27, 29, 17, 9, 4)
"""Residents per household: 2.9 on average (Shenyang: ~6 M residents in ~2 M households)."""
AGE_BANDS = ((0, 14, 14), (15, 39, 33), (40, 59, 33), (60, 69, 12), (70, 79, 6), (80, 99, 2))
"""(youngest, oldest, weight %): 20 % aged 60 or more."""

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a national id number's first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


# -- areas --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Community:
    """One community of the city and where it lies."""

    id: str
    name: str
    street_id: str
    district_id: str
    kind: str
    households: int

    @property
    def path(self) -> tuple[str, ...]:
        return (CITY_ID, self.district_id, self.street_id, self.id)


@dataclass(frozen=True)
class CityPlan:
    """The areas of a city: its area rows (city first, parents before children) and its
    communities."""

    seed: int
    size: CitySize
    today: date
    area_rows: tuple[Row, ...]
    communities: tuple[Community, ...]

    @property
    def districts(self) -> tuple[str, ...]:
        return tuple(row["id"] for row in self.area_rows if row["level"] == "district")


def draw_city(size: CitySize, *, seed: int, today: date) -> CityPlan:
    """The areas of a ``size`` city for ``seed``: district codes 140502 onwards, street codes
    the district's plus three digits, community codes the street's plus three digits."""
    rng = random.Random(f"{seed}:areas")
    rows: list[Row] = [_area(CITY_ID, "city", CITY_NAME, None)]
    streets: list[tuple[str, str, str]] = []
    for d in range(size.districts):
        district_id = f"1405{d + 2:02d}"
        rows.append(
            _area(district_id, "district", DISTRICT_NAMES[d % len(DISTRICT_NAMES)], CITY_ID)
        )
        for s in range(size.streets_per_district):
            street_id = f"{district_id}{s + 1:03d}"
            name = f"{STREET_WORDS[(d + s) % len(STREET_WORDS)]}{s + 1}街道"
            rows.append(_area(street_id, "street", name, district_id))
            streets.append((street_id, district_id, name))
    communities: list[Community] = []
    per_street: dict[str, int] = {}
    for index in range(size.communities):
        street_id, district_id, street_name = streets[index % len(streets)]
        number = per_street[street_id] = per_street.get(street_id, 0) + 1
        community = Community(
            id=f"{street_id}{number:03d}",
            name=f"{street_name[:-2]}{COMMUNITY_WORDS[(number - 1) % 10]}社区"
            + (f"{(number - 1) // 10 + 1}" if number > 10 else ""),
            street_id=street_id,
            district_id=district_id,
            kind=COMMUNITY_KINDS[index % len(COMMUNITY_KINDS)],
            households=rng.randint(1500, 2300),
        )
        communities.append(community)
        row = _area(community.id, "community", community.name, street_id)
        row.update(kind=community.kind, household_count=community.households)
        rows.append(row)
    return CityPlan(seed, size, today, tuple(rows), tuple(communities))


def _area(area_id: str, level: str, name: str, parent_id: str | None) -> Row:
    return {
        "type": "area",
        "id": area_id,
        "level": level,
        "name": name,
        "parent_id": parent_id,
        "valid_from": PLAN_START.isoformat(),
    }


# -- one community's register -------------------------------------------------------------


@dataclass
class NationalIds:
    """Unique, valid national id numbers: region code, birth date, a sequence number whose
    parity is the sex, and the check character. One instance per city run."""

    used: dict[tuple[str, date], int]

    @classmethod
    def new(cls) -> NationalIds:
        return cls(used={})

    def issue(self, region: str, birth_date: date, sex: str) -> str:
        """A fresh number for someone born on ``birth_date`` in ``region``."""
        key = (region, birth_date)
        taken = self.used.get(key, 0)
        self.used[key] = taken + 1
        # each sex has 500 sequence numbers per region and day; spill into the next region
        # code block (still six digits) when a day is full
        spill, within = divmod(taken, 500)
        sequence = within * 2 + (1 if sex == "male" else 0)
        region_code = f"{int(region) + spill:06d}"
        first17 = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
        return first17 + check_character(first17)


@dataclass(frozen=True)
class CommunityDraw:
    """The registry rows of one community, and counts for the progress bar."""

    rows: list[Row]
    households: int
    residents: int


def draw_community(
    plan: CityPlan, community: Community, ids: NationalIds, *, office_group: OfficeGroup
) -> CommunityDraw:
    """Households, residents, facilities, workers, organisations and volunteers of
    ``community``; its office rooms lie where ``office_group`` says (:func:`office_groups`)."""
    rng = random.Random(f"{plan.seed}:{community.id}")
    today = plan.today
    rows: list[Row] = []
    residents: list[Row] = []
    households: list[Row] = []
    floating_share = 0.25 if community.kind == "urban_rural_fringe" else 0.08
    laid_off_share = 0.12 if community.kind == "enterprise_workers" else 0.04
    for number in range(1, community.households + 1, plan.size.household_sample):
        ref = f"{community.id}-h{number:05d}"
        households.append(
            {
                "type": "household",
                "ref": ref,
                "community_id": community.id,
                "address": f"{community.name}{rng.randint(1, 40)}号楼{rng.randint(1, 6)}单元"
                f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}室",
                "registered_on": _day_between(rng, PLAN_START, today).isoformat(),
            }
        )
        size = rng.choices(HOUSEHOLD_SIZES, HOUSEHOLD_SIZE_WEIGHTS)[0]
        hardship = rng.random() < 0.03
        surname = rng.choice(SURNAMES)
        members = [_age(rng, adult=index == 0) for index in range(size)]
        elderly_only = all(age >= 60 for age in members)
        floating = rng.random() < floating_share
        for age in members:
            sex = "male" if rng.random() < 0.5 else "female"
            born = _birth_date(rng, age, today)
            flags: list[str] = []
            if hardship:
                flags.append("subsistence_allowance")
            if age >= 60 and elderly_only:
                flags.append("living_alone" if size == 1 else "empty_nest")
            if rng.random() < 0.01:
                flags.append("entitled_group")
            if 18 <= age < 60 and rng.random() < 0.001:
                flags.append("community_correction")
            resident: Row = {
                "type": "resident",
                "national_id": ids.issue(community.district_id, born, sex),
                "name": surname + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
                "sex": sex,
                "birth_date": born.isoformat(),
                "household_ref": ref,
                "employment_status": _employment(rng, age, sex, laid_off_share),
                "disabled": rng.random() < 0.06,
                "flags": flags,
            }
            if floating:
                resident["registration"] = "floating"
                resident["permit_expires_on"] = (
                    today + timedelta(days=rng.randint(-90, 3 * 365))
                ).isoformat()
            residents.append(resident)
    rows += households
    rows += residents
    rows += _facilities(rng, community, today=today, office_group=office_group)
    rows += _workers(rng, community, today=today)
    organisations = _organisations(rng, community, today=today)
    rows += organisations
    rows += _volunteers(rng, community, organisations, len(residents), today=today)
    return CommunityDraw(rows, households=len(households), residents=len(residents))


def _day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _age(rng: random.Random, *, adult: bool) -> int:
    youngest, oldest, _ = rng.choices(AGE_BANDS, [band[2] for band in AGE_BANDS])[0]
    if adult:
        youngest = max(youngest, 20)
        oldest = max(oldest, youngest)
    return rng.randint(youngest, oldest)


def _birth_date(rng: random.Random, age: int, today: date) -> date:
    """A birth date giving ``age`` on ``today``."""
    latest = _years_before(today, age)
    return latest - timedelta(days=rng.randint(0, 364))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _employment(rng: random.Random, age: int, sex: str, laid_off_share: float) -> str:
    retirement_age = 60 if sex == "male" else 55
    if age < 6:
        return "not_in_labour_force"
    if age < 22:
        return "student" if age < 18 or rng.random() < 0.6 else "employed"
    if age >= retirement_age:
        return "retired" if rng.random() < 0.9 else "not_in_labour_force"
    draw = rng.random()
    if draw < laid_off_share:
        return "laid_off"
    if draw < laid_off_share + 0.05:
        return "unemployed"
    if draw < laid_off_share + 0.12:
        return "not_in_labour_force"
    return "employed"


def _facilities(
    rng: random.Random, community: Community, *, today: date, office_group: OfficeGroup
) -> list[Row]:
    """The committee office and the service station, whose office and public service rooms
    together lie above or below the 300 m² line by ``office_group`` (a ``ramp`` community
    crosses it with a service centre opened in the current plan period), and the places the
    plan counts: culture and sports places, libraries, health stations."""
    cid = community.id

    def facility(ref: str, kind: str, rooms: dict[str, float], opened_on: date) -> Row:
        return {
            "type": "facility",
            "ref": f"{cid}-{ref}",
            "community_id": cid,
            "kind": kind,
            "rooms": [{"purpose": p, "area_m2": round(a, 1)} for p, a in rooms.items()],
            "opened_on": opened_on.isoformat(),
        }

    total = rng.uniform(320, 420) if office_group == "above" else rng.uniform(170, 280)
    station = rng.uniform(60, 100)
    office = total - station
    rows = [
        facility(
            "office",
            "office",
            {"office": office * 0.4, "public_service": office * 0.6},
            _day_between(rng, PLAN_START, date(2006, 12, 31)),
        ),
        facility(
            "station",
            "service_station",
            {
                "labour_security": station * 0.4,
                "community_service": station * 0.3,
                "health_family_planning": station * 0.3,
            },
            _day_between(rng, PLAN_START, date(2007, 12, 31)),
        ),
        facility(
            "sports",
            "culture_sports_place",
            {"culture_sports": rng.uniform(200, 600)},
            _day_between(rng, PLAN_START, date(2010, 12, 31)),
        ),
    ]
    if office_group == "ramp" and today > PERIOD_START:
        extension = 300 - total + rng.uniform(20, 80)
        rows.append(
            facility(
                "centre",
                "service_centre",
                {"elderly_activity": extension * 0.6, "youth_activity": extension * 0.4},
                _day_between(rng, PERIOD_START, today - timedelta(days=1)),
            )
        )
    if rng.random() < 0.3:
        opened = _day_between(rng, PLAN_START, min(today, PERIOD_START - timedelta(days=1)))
        rows.append(facility("library", "library", {"library": rng.uniform(60, 160)}, opened))
    return rows


ROLES = (
    ("party_secretary", "elected", 0.9),
    ("committee_director", "elected", 0.6),
    ("deputy_director", "elected", 0.5),
    ("committee_member", "elected", 0.5),
    ("committee_member", "elected", 0.4),
)
"""Leadership posts: (role, appointment, chance of a cross appointment)."""
EDUCATION = ("senior_middle", "college", "bachelor", "postgraduate")
EDUCATION_WEIGHTS = (13, 45, 38, 4)
"""87 % with a college degree or above (Shenyang's 9,092 workers, seed 000)."""


def _workers(rng: random.Random, community: Community, *, today: date) -> list[Row]:
    roles = [(role, appointment, cross) for role, appointment, cross in ROLES]
    roles += [("officer", "hired", 0.0)] * rng.randint(2, 5)
    rows = []
    for number, (role, appointment, cross) in enumerate(roles, start=1):
        age = rng.randint(25, 55)
        appointed = _day_between(rng, max(PLAN_START, date(today.year - age + 18, 1, 1)), today)
        rows.append(
            {
                "type": "worker",
                "ref": f"{community.id}-w{number:02d}",
                "community_id": community.id,
                "role": role,
                "appointment": appointment,
                "education": rng.choices(EDUCATION, EDUCATION_WEIGHTS)[0],
                "birth_year": today.year - age,
                "sex": rng.choice(("male", "female")),
                "cross_appointed": rng.random() < cross,
                "appointed_on": appointed.isoformat(),
            }
        )
    return rows


ORGANISATION_KINDS = ("volunteer_team", "elderly_association", "culture", "sports", "charity")


def _organisations(rng: random.Random, community: Community, *, today: date) -> list[Row]:
    return [
        {
            "type": "organisation",
            "ref": f"{community.id}-o{number}",
            "community_id": community.id,
            "name": f"{community.name}{kind}",
            "kind": kind,
            "member_count": rng.randint(10, 120),
            "registered_on": _day_between(rng, PLAN_START, today).isoformat(),
        }
        for number, kind in enumerate(
            rng.sample(ORGANISATION_KINDS, rng.randint(2, len(ORGANISATION_KINDS))), start=1
        )
    ]


def _volunteers(
    rng: random.Random,
    community: Community,
    organisations: list[Row],
    residents: int,
    *,
    today: date,
) -> list[Row]:
    """Volunteers at ~8–12 % of residents, a fifth of them registered in the current period."""
    count = int(residents * rng.uniform(0.08, 0.12))
    rows = []
    for number in range(1, count + 1):
        recent = rng.random() < 0.2 and today > PERIOD_START
        first = PERIOD_START if recent else PLAN_START
        last = today if recent else min(today, PERIOD_START - timedelta(days=1))
        registered_on = _day_between(rng, first, last)
        row: Row = {
            "type": "volunteer",
            "ref": f"{community.id}-v{number:05d}",
            "community_id": community.id,
            "registered_on": registered_on.isoformat(),
        }
        # a volunteer joins a team registered by then
        teams = [o for o in organisations if o["registered_on"] <= row["registered_on"]]
        if teams and rng.random() < 0.7:
            row["organisation_ref"] = rng.choice(teams)["ref"]
        rows.append(row)
    return rows


OfficeGroup = Literal["above", "ramp", "below"]


def office_groups(plan: CityPlan) -> dict[str, OfficeGroup]:
    """Where each community's office and public service rooms lie: a quarter (at least one)
    stay below 300 m², a quarter (at least one) cross the line in the current plan period,
    the rest are above it since the plan began. The share of communities at 300 m² moves
    from about half on 2026-01-01 to about three quarters today: short of the plan's 80 %,
    but on course for it by 2028."""
    rng = random.Random(f"{plan.seed}:office")
    ids = [c.id for c in plan.communities]
    rng.shuffle(ids)
    quarter = max(1, len(ids) // 4)
    groups: dict[str, OfficeGroup] = dict.fromkeys(ids, "above")
    groups.update(dict.fromkeys(ids[:quarter], "below"))
    groups.update(dict.fromkeys(ids[quarter : 2 * quarter], "ramp"))
    return groups


def iter_city(plan: CityPlan) -> Iterator[tuple[Community, CommunityDraw]]:
    """Every community with its rows, in order."""
    ids = NationalIds.new()
    groups = office_groups(plan)
    for community in plan.communities:
        yield community, draw_community(plan, community, ids, office_group=groups[community.id])
