"""Query models: read in one validation, refused and documented as declared parameters."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any, Literal

import pytest
from fastapi import APIRouter, Query, Request
from fastapi.testclient import TestClient

from shared.errors import FieldError, InvalidInput
from shared.http import create_app
from shared.inputs import Day, Text
from shared.query import PageQuery, QueryModel, query_parameters
from shared.settings import ServiceSettings

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("restore_logging")]


class PetQuery(QueryModel):
    """Filters of a pet list."""

    name: Annotated[Text | None, Query(max_length=8, description="Exactly this name.")] = None
    kind: Annotated[Literal["cat", "dog"] | None, Query(description="Cats or dogs.")] = None
    tag: Annotated[list[str] | None, Query(description="Every tag (repeatable).")] = None
    min_age: Annotated[int | None, Query(ge=0, le=30, description="At least this old.")] = None
    born_after: Annotated[Day | None, Query(description="Born after this day.")] = None
    indoor: Annotated[bool, Query(description="Only indoor pets.")] = False


class PetPageQuery(PetQuery, PageQuery):
    """A page of pets."""


PET_PAGE = query_parameters(PetPageQuery)
pets = APIRouter(prefix="/pets")


@pets.get("", openapi_extra=PET_PAGE.openapi)
async def list_pets(query: Annotated[PetPageQuery, PET_PAGE.depends]) -> dict[str, Any]:
    if query.name == "rex" and query.min_age is not None and query.min_age > 10:
        raise InvalidInput("too old", errors=[FieldError("min_age", "rex is younger")])
    return query.model_dump(mode="json")


@pets.get("/undocumented")
async def undocumented(query: Annotated[PetPageQuery, PET_PAGE.depends]) -> dict[str, Any]:
    return query.model_dump(mode="json")


declared = APIRouter(prefix="/declared")


@declared.get("")
async def list_declared(  # the same parameters declared one by one, as FastAPI reads them
    cursor: Annotated[
        str | None,
        Query(
            max_length=512,
            pattern=r"^[A-Za-z0-9_-]*$",
            description="`next_cursor` of the previous page (URL-safe base64).",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page (at most 500).")] = 100,
    name: Annotated[Text | None, Query(max_length=8, description="Exactly this name.")] = None,
    kind: Annotated[Literal["cat", "dog"] | None, Query(description="Cats or dogs.")] = None,
    tag: Annotated[list[str] | None, Query(description="Every tag (repeatable).")] = None,
    min_age: Annotated[int | None, Query(ge=0, le=30, description="At least this old.")] = None,
    born_after: Annotated[Day | None, Query(description="Born after this day.")] = None,
    indoor: Annotated[bool, Query(description="Only indoor pets.")] = False,
) -> None:
    """Never called: documented only."""


@pytest.fixture
def client() -> TestClient:
    settings = ServiceSettings(service_name="query-test", environment="development")
    return TestClient(create_app(settings, title="Query", routers=[pets, declared]))


def test_the_query_string_is_read_into_the_model(client: TestClient) -> None:
    answer = client.get(
        "/pets?name=rex&kind=dog&tag=a&tag=b&min_age=3&born_after=2020-01-31&indoor=yes"
        "&limit=7&cursor=abc&unknown=ignored"
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "cursor": "abc",
        "limit": 7,
        "name": "rex",
        "kind": "dog",
        "tag": ["a", "b"],
        "min_age": 3,
        "born_after": "2020-01-31",
        "indoor": True,
    }


def test_defaults_and_a_repeated_scalar_takes_its_last_value(client: TestClient) -> None:
    answer = client.get("/pets?min_age=1&min_age=2")
    assert answer.json() == {
        "cursor": None,
        "limit": 100,
        "name": None,
        "kind": None,
        "tag": None,
        "min_age": 2,
        "born_after": None,
        "indoor": False,
    }


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("min_age=31", "query.min_age", "less_than_equal"),
        ("min_age=x", "query.min_age", "int_parsing"),
        ("kind=cow", "query.kind", "literal_error"),
        ("born_after=20200131", "query.born_after", "date_format"),
        ("name=%07bell", "query.name", "control_character"),
        ("limit=0", "query.limit", "greater_than_equal"),
        ("cursor=a%2Bb", "query.cursor", "string_pattern_mismatch"),
    ],
)
def test_a_bad_value_is_a_422_naming_the_query_parameter(
    client: TestClient, query: str, field: str, code: str
) -> None:
    answer = client.get(f"/pets?{query}")
    declared_answer = client.get(f"/declared?{query}")
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    errors = answer.json()["errors"]
    assert [(error["field"], error["code"]) for error in errors] == [(field, code)]
    # exactly what FastAPI answers for the same parameter declared on its own
    assert errors == declared_answer.json()["errors"]


def test_a_rule_naming_a_query_field_is_located_in_the_query(client: TestClient) -> None:
    answer = client.get("/pets?name=rex&min_age=11")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "query.min_age"


def test_parameters_are_documented_as_fastapi_documents_declared_ones(
    client: TestClient,
) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    assert paths["/pets"]["get"]["parameters"] == paths["/declared"]["get"]["parameters"]
    assert (
        paths["/pets"]["get"]["responses"]["422"] == paths["/declared"]["get"]["responses"]["422"]
    )


def test_a_route_reading_a_query_model_without_documenting_it_fails(
    client: TestClient,
) -> None:
    answer = client.get("/pets/undocumented")
    assert answer.status_code == 500
    assert client.get("/pets").status_code == 200
    read_query = PET_PAGE.depends.dependency
    assert read_query is not None
    route = next(route for route in pets.routes if route.path == "/pets/undocumented")  # type: ignore[attr-defined]
    request = Request({"type": "http", "query_string": b"", "headers": [], "route": route})
    with pytest.raises(RuntimeError, match="without documenting"):
        asyncio.run(read_query(request))


def test_a_type_needing_a_shared_schema_is_refused_at_declaration() -> None:
    from enum import Enum

    class Colour(Enum):
        RED = "red"

    class ColourQuery(QueryModel):
        colour: Colour | None = None

    with pytest.raises(TypeError, match="inline"):
        query_parameters(ColourQuery)


def test_dates_read_as_dates() -> None:
    assert PetQuery.model_validate({"born_after": "2020-01-31"}).born_after == date(2020, 1, 31)


def test_a_field_with_an_alias_is_refused_at_declaration() -> None:
    class AliasQuery(QueryModel):
        min_age: Annotated[int | None, Query(alias="minAge")] = None

    with pytest.raises(TypeError, match="alias"):
        query_parameters(AliasQuery)
