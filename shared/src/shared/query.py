"""Query strings read in one validation, for the hottest read routes.

FastAPI reads each declared query parameter on its own, and on every request works out again
from the parameter's annotation how to read it (is it a list? a model? which alias?): about
20 µs a parameter, so a list route with a dozen filters spent more on its query string than
on its SQL. A :class:`QueryModel` declares the parameters once, as fields of a pydantic
model; :func:`query_parameters` gives the dependency that reads the query string into it in
one ``model_validate`` and the ``openapi_extra`` that documents them exactly as FastAPI
would, so clients see no difference::

    class ResidentQuery(QueryModel):
        within: Annotated[Text | None, Query(max_length=32, description="…")] = None

    RESIDENT_QUERY = query_parameters(ResidentQuery)

    @router.get("", openapi_extra=RESIDENT_QUERY.openapi)
    async def list_residents(query: Annotated[ResidentQuery, RESIDENT_QUERY.depends]) -> …

A bad value is the same 422 FastAPI gives (``loc`` ``["query", name]``); unknown parameters
are ignored, as FastAPI ignores them; a parameter given twice takes its last value unless its
field is a list. A route that takes the dependency without the ``openapi_extra`` fails on
its first request (a 500), so no parameter goes undocumented.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends as DependsMarker
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, PageSize


class QueryModel(BaseModel):
    """Base of a model of a route's query parameters (each field one parameter)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class PageQuery(QueryModel):
    """The cursor and page size of a paginated list."""

    cursor: Cursor = None
    limit: PageSize = DEFAULT_PAGE_SIZE


Q = TypeVar("Q", bound=QueryModel)


@dataclass(frozen=True)
class QueryParameters(Generic[Q]):
    """The dependency reading a :class:`QueryModel` (``depends``) and the ``openapi_extra`` of
    a route taking it (``openapi``)."""

    model: type[Q]
    depends: DependsMarker
    openapi: dict[str, Any]


def query_parameters(model: type[Q]) -> QueryParameters[Q]:
    """The dependency and documentation of ``model``'s query parameters (each read by its
    field's name: a field with an alias is refused)."""
    aliased = [
        name for name, field in model.model_fields.items() if field.alias not in (None, name)
    ]
    if aliased:
        raise TypeError(f"{model.__name__}: query parameters are read by name; {aliased} alias")
    lists = frozenset(
        name for name, field in model.model_fields.items() if _is_list(field.annotation)
    )
    scalars = tuple(name for name in model.model_fields if name not in lists)
    documented = _documented_parameters(model)
    names = {parameter["name"] for parameter in documented["parameters"]}
    checked_routes: set[int] = set()

    async def read_query(request: Request) -> Q:  # async: FastAPI runs a def in a thread
        route = request.scope.get("route")
        if id(route) not in checked_routes:
            _check_documented(route, names, model)
            checked_routes.add(id(route))
        params = request.query_params
        values: dict[str, Any] = {name: params[name] for name in scalars if name in params}
        for name in lists:
            given = params.getlist(name)
            if given:
                values[name] = given
        try:
            return model.model_validate(values)
        except ValidationError as error:
            raise RequestValidationError(
                [
                    {**problem, "loc": ("query", *problem["loc"])}
                    for problem in error.errors(include_url=False)
                ]
            ) from None

    read_query.__name__ = f"read_{model.__name__}"
    return QueryParameters(model, Depends(read_query), documented)


def _is_list(annotation: Any) -> bool:
    """Whether a field's annotation is a list (or an optional list): read with ``getlist``."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _is_list(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return origin in (list, tuple, set, frozenset)


def _documented_parameters(model: type[QueryModel]) -> dict[str, Any]:
    """The OpenAPI parameters (and 422 answer) FastAPI writes for ``model`` taken as query
    parameters, as ``openapi_extra``: taken from a one-route app, so they match what
    declared parameters would show."""

    async def probe_route(query: Any) -> None:
        """Never served: only documented."""

    # set here, not written in the signature: this module's annotations are strings, and a
    # string naming the local ``model`` could not be resolved
    probe_route.__annotations__ = {"query": Annotated[model, Query()], "return": None}
    probe = FastAPI(openapi_url="/openapi.json")
    probe.add_api_route("/", probe_route, methods=["GET"])
    operation = probe.openapi()["paths"]["/"]["get"]
    parameters: list[dict[str, Any]] = operation["parameters"]
    if "$ref" in repr(parameters):
        raise TypeError(
            f"{model.__name__}: a query parameter's type refers to a shared schema; use a "
            "Literal (or an enum's values) so the parameter documents itself inline"
        )
    return {"parameters": parameters, "responses": {"422": operation["responses"]["422"]}}


def _check_documented(route: Any, names: set[str], model: type[QueryModel]) -> None:
    """Refuse a route that reads ``model`` without documenting it in ``openapi_extra``."""
    extra = getattr(route, "openapi_extra", None) or {}
    shown = {parameter.get("name") for parameter in extra.get("parameters", ())}
    missing = names - shown
    if missing:
        raise RuntimeError(
            f"route {getattr(route, 'path', route)!r} reads {model.__name__} without "
            f"documenting {sorted(missing)}: add openapi_extra=<its query_parameters>.openapi"
        )
