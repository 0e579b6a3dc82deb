"""The FastAPI application factory every Shequ service uses.

:func:`create_app` gives each service the same operational surface:

- ``GET /healthz``: liveness, always ``200 {"status": "alive"}``;
- ``GET /readyz``: runs the async checks in ``app.state.readiness_checks`` (name → ``async def
  () -> None`` raising when not ready; the composition root fills it in its lifespan, usually
  ``"database"`` and ``"broker"``) concurrently, each limited to :data:`READINESS_TIMEOUT_S`;
  ``200`` when all pass, else ``503`` saying which dependency is ``down`` (or ``timeout``);
  the exception itself is logged, never answered;
- Prometheus metrics of the default registry on a port of their own (``metrics_port``,
  default ``http_port`` + 1000), started and stopped with the app's lifespan and never served
  on the API port: they name routes, areas and targets an API caller need not see
  (:func:`serve_metrics`);
- in :class:`RequestContextMiddleware`, a client's ``X-Correlation-ID`` is used only when it
  is 1-128 characters of ``A-Za-z0-9._:-``, else replaced by a fresh id, so it never carries
  anything else into events or logs; and every 404 answered to a token subject counts towards
  its failed look-up limit (:mod:`shared.ratelimit`);
- :class:`RequestContextMiddleware`: request and correlation ids (bound in
  :mod:`shared.context`, echoed as response headers), request metrics and one log line per
  request, and in the same pass the secure defaults (:class:`SecureDefaultsMiddleware` on
  its own): request bodies over ``http_max_body_bytes`` (routes
  declared with ``openapi_extra=BULK_BODY``: ``http_max_bulk_body_bytes``) are answered 413
  without being read in full, a body not received within ``http_body_timeout_s`` is answered
  408 (a slow client holds no worker and harms no other request), and every response that sets
  no ``Cache-Control`` of its own gets ``Cache-Control: no-store``, so no cache keeps personal
  data;
- RFC 9457 ``application/problem+json`` responses for :class:`shared.errors.Problem`, request
  validation errors (422, each offending field named, the submitted value never echoed; a body
  that is not JSON, or nested too deep for the parser, is 422 on ``body`` too, never a 400 or a
  500),
  HTTP errors such as 404/405, a database that is away (503 with ``Retry-After``, logged as
  one line: :func:`shared.db.is_outage`), and unexpected exceptions (500, no internals);
- structured logging (:func:`shared.observability.configure_logging`) and
  ``app.state.settings``.

The operational endpoints are left out of the OpenAPI document. They *are* counted in
the request metrics (their labels are bounded and probe/scrape latency is worth seeing), but
their request log lines are DEBUG so probes do not flood the logs.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import time
import uuid
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, replace
from http import HTTPStatus
from re import Pattern
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import _IncludedRouter, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.context import causation_id_var, correlation_id_var, request_id_var
from shared.db import is_outage
from shared.errors import (
    PROBLEM_TYPE_BASE,
    Conflict,
    ContentTooLarge,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    Problem,
    ServiceUnavailable,
    Unauthorized,
)
from shared.fast_reads import FastReads
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS, start_exposition
from shared.observability import configure_logging, log_fields
from shared.schema_routes import install_schema_routes
from shared.settings import ServiceSettings

__all__ = [
    "BULK_BODY",
    "CORRELATION_ID_HEADER",
    "PROBLEM_MEDIA_TYPE",
    "READINESS_TIMEOUT_S",
    "REQUEST_ID_HEADER",
    "UNMATCHED_ROUTE",
    "ProblemDetails",
    "ProblemFieldError",
    "ProblemResponse",
    "ReadinessCheck",
    "RequestContextMiddleware",
    "SecureDefaultsMiddleware",
    "create_app",
    "problem_response",
    "serve_metrics",
]

logger = logging.getLogger("shared.http")

REQUEST_ID_HEADER = "X-Request-ID"
CORRELATION_ID_HEADER = "X-Correlation-ID"
PROBLEM_MEDIA_TYPE = "application/problem+json"
#: Seconds each readiness check may take before it counts as failed.
READINESS_TIMEOUT_S = 3.0
#: ``route`` label of requests no route matched (the raw path is never a label).
UNMATCHED_ROUTE = "unmatched"
#: OpenAPI extension marking a bulk route, see :data:`BULK_BODY`.
BULK_BODY_EXTENSION = "x-shequ-bulk-body"
BULK_BODY: dict[str, Any] = {BULK_BODY_EXTENSION: True}
"""``openapi_extra`` of a route that streams bulk uploads: its body may be up to
``http_max_bulk_body_bytes`` instead of ``http_max_body_bytes``
(``@router.post("/imports", openapi_extra=BULK_BODY)``)."""

ReadinessCheck = Callable[[], Awaitable[None]]
"""A readiness check: returns when the dependency is usable, raises otherwise."""

#: Incoming ids are accepted only if they look like ids (no log or header injection).
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}")
#: A request path holding one of these (a NUL, any C0 or C1 control, DEL) names nothing: 404.
_UNNAMEABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
_OPS_ROUTES = frozenset({"/healthz", "/readyz"})
_PROBLEM_CLASSES: dict[int, type[Problem]] = {
    cls.status: cls
    for cls in (InvalidInput, Unauthorized, Forbidden, NotFound, Conflict, ContentTooLarge)
}
_INTERNAL_ERROR = Problem(
    "An unexpected error occurred. Quote the X-Request-ID response header when reporting it."
)
_DATABASE_UNAVAILABLE = ServiceUnavailable(
    "The database is unavailable for a moment; retry the request.",
    headers={"Retry-After": "1"},
)


# --------------------------------------------------------------------------- problem+json


class ProblemFieldError(BaseModel):
    """One offending input field of a problem response."""

    field: str = Field(description="Dotted location, e.g. `body.birth_date` or `query.limit`.")
    message: str = Field(description="What is wrong with the value (never the value itself).")
    code: str = Field(description="Machine-readable reason, e.g. `missing` or `date_parsing`.")


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, the body of every error response."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="URI of the problem type, e.g. `urn:shequ:problem:not-found`.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="HTTP status code.")
    detail: str = Field(description="Explanation of this occurrence.")
    instance: str | None = Field(default=None, description="Path of the request.")
    errors: list[ProblemFieldError] = Field(
        default_factory=list, description="Each offending input field, for input errors."
    )


class ProblemResponse(JSONResponse):
    """A JSON response with the ``application/problem+json`` media type."""

    media_type = PROBLEM_MEDIA_TYPE


def problem_response(
    *,
    status: int,
    title: str,
    type_uri: str,
    detail: str | None = None,
    instance: str | None = None,
    errors: Iterable[FieldError] = (),
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Build an RFC 9457 response; ``extra`` members never override the standard ones."""
    if status in (204, 304) or status < 200:
        return Response(status_code=status, headers=dict(headers or {}))
    body: dict[str, Any] = {
        "type": type_uri,
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": instance,
        "errors": [asdict(error) for error in errors],
    }
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def _render_problem(problem: Problem, instance: str | None) -> Response:
    return problem_response(
        status=problem.status,
        title=problem.title,
        type_uri=problem.type_uri,
        detail=problem.detail,
        instance=instance,
        errors=problem.errors,
        extra=problem.extra,
        headers=problem.headers,
    )


_LOCATIONS = ("body", "query", "path", "header", "cookie", "request")


def _route_parameters(request: Request) -> dict[str, str]:
    """The matched route's parameters by name (and alias) → their location: those FastAPI
    reads and those documented in ``openapi_extra`` (a :mod:`shared.query` model's)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return {}
    extra = getattr(route, "openapi_extra", None) or {}
    found = {parameter["name"]: parameter["in"] for parameter in extra.get("parameters", ())}
    pending: list[Dependant] = [dependant]
    while pending:
        current = pending.pop()
        pending.extend(current.dependencies)
        for location, params in (
            ("header", current.header_params),
            ("query", current.query_params),
            ("path", current.path_params),
        ):
            for param in params:
                found[param.name] = location
                found[param.alias] = location
    return found


def locate(request: Request, errors: Iterable[FieldError]) -> list[FieldError]:
    """Prefix each field a rule named (``birth_date``) with its HTTP location
    (``body.birth_date``, ``query.max_age``, ``path.area_id``) from the matched route.

    Domain rules name fields only; this is the one place that knows where they came from.
    Fields already carrying a location are kept.
    """
    parameters = _route_parameters(request)
    located = []
    for error in errors:
        head = re.split(r"[.\[]", error.field, maxsplit=1)[0]
        if head in _LOCATIONS:
            located.append(error)
            continue
        location = parameters.get(head, "body")
        located.append(replace(error, field=f"{location}.{error.field}"))
    return located


async def _handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    if exc.status >= 500:
        logger.error("%s: %s", type(exc).__name__, exc.detail, exc_info=exc)
    if exc.errors:
        exc.errors = locate(request, exc.errors)
    return _render_problem(exc, request.url.path)


def _dotted(location: Iterable[object]) -> str:
    return ".".join(str(part) for part in location) or "request"


async def _handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # Only ``loc``, ``msg`` and ``type`` are used: ``input`` and ``ctx`` may hold the
    # submitted value (a national id number, say), which must not be echoed or logged.
    errors = [
        FieldError(
            field=_dotted(error.get("loc", ())),
            message=str(error.get("msg", "Invalid value")),
            code=str(error.get("type", "invalid")),
        )
        for error in exc.errors()
    ]
    count = len(errors)
    problem = InvalidInput(
        f"{count} invalid field{'s' if count != 1 else ''}; see `errors`.", errors=errors
    )
    return _render_problem(problem, request.url.path)


_UNPARSABLE_BODY = "There was an error parsing the body"
"""Detail of the 400 FastAPI raises when ``json.loads`` fails other than by a syntax error."""


def _unparsable_body(exc: StarletteHTTPException) -> InvalidInput | None:
    """The 422 for a JSON body FastAPI could not parse: nested deeper than the parser's
    recursion limit (``RecursionError``), or bytes that are not UTF-8; else None."""
    if exc.status_code != 400 or exc.detail != _UNPARSABLE_BODY or exc.__cause__ is None:
        return None
    if isinstance(exc.__cause__, RecursionError):
        error = FieldError("body", "JSON nested too deeply", code="json_too_deep")
    else:
        error = FieldError("body", "not a JSON document in UTF-8", code="json_invalid")
    return InvalidInput("The request body cannot be parsed; see `errors`.", errors=[error])


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    unparsable = _unparsable_body(exc)
    if unparsable is not None:
        return _render_problem(unparsable, request.url.path)
    status = exc.status_code
    known = _PROBLEM_CLASSES.get(status)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    title = known.title if known else phrase[:1] + phrase[1:].lower()  # like errors.Problem
    code = known.code if known else re.sub(r"[^a-z0-9]+", "-", phrase.lower()).strip("-")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else title
    headers = dict(exc.headers or {})
    if status == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(
        status=status,
        title=title,
        type_uri=PROBLEM_TYPE_BASE + code,
        detail=detail,
        instance=request.url.path,
        headers=headers,
    )


def _allowed_methods(request: Request) -> str:
    """The ``Allow`` header of a 405: the methods of every route of the most specific template
    matching the path. Starlette names only those of the first route that matched, while ``GET
    /matters`` and ``POST /matters`` are two routes; and ``/vacancies/changes`` is its own
    path, though ``/vacancies/{vacancy_id}`` matches it too."""
    path = _route_path(request.scope)
    by_parameters: dict[int, set[str]] = {}
    for context in iter_route_contexts(request.app.routes):
        regex = getattr(context, "path_regex", None)
        if isinstance(regex, Pattern) and regex.match(path):
            parameters = str(getattr(context, "path", "")).count("{")
            methods = by_parameters.setdefault(parameters, set())
            methods.update(getattr(context, "methods", None) or ())
    return ", ".join(sorted(by_parameters[min(by_parameters)])) if by_parameters else ""


async def _handle_unexpected(request: Request, exc: Exception) -> Response:
    # Reached only if something fails outside RequestContextMiddleware, which handles the rest.
    logger.error("unhandled exception", exc_info=exc)
    return _render_problem(_INTERNAL_ERROR, request.url.path)


# --------------------------------------------------------------------------- middleware


class _RouteTemplates:
    """Maps the route the router matched (``scope["route"]``) to its full path template.

    A route's own ``path`` lacks the prefixes of the routers that include it, so the full
    template comes from :func:`fastapi.routing.iter_route_contexts` over the app's routes,
    cached per route object and rebuilt when an unknown route shows up.
    """

    def __init__(self) -> None:
        self._known: dict[int, tuple[BaseRoute, list[tuple[str, Pattern[str] | None]]]] = {}
        self._fallback: dict[int, tuple[BaseRoute, str]] = {}

    def lookup(self, scope: Scope) -> str:
        route = scope.get("route")
        if not isinstance(route, BaseRoute):
            return UNMATCHED_ROUTE
        entry = self._known.get(id(route))
        if entry is None or entry[0] is not route:
            fallback = self._fallback.get(id(route))
            if fallback is not None and fallback[0] is route:
                return fallback[1]
            self._rebuild(scope.get("app"))
            entry = self._known.get(id(route))
            if entry is None or entry[0] is not route:
                template = str(getattr(route, "path", "") or UNMATCHED_ROUTE)
                self._fallback[id(route)] = (route, template)
                return template
        templates = entry[1]
        if len(templates) > 1:  # the same router included under several prefixes
            path = _route_path(scope)
            for template, regex in templates:
                if regex is not None and regex.match(path):
                    return template
        return templates[0][0]

    def _rebuild(self, app: object) -> None:
        routes = getattr(app, "routes", None)
        if not isinstance(routes, Sequence):
            return
        known: dict[int, tuple[BaseRoute, list[tuple[str, Pattern[str] | None]]]] = {}
        for context in iter_route_contexts(routes):
            template = context.path
            if not template:
                continue
            original = context.original_route
            regex = getattr(context, "path_regex", None)
            entry = known.setdefault(id(original), (original, []))
            entry[1].append((template, regex if isinstance(regex, Pattern) else None))
        self._known = known


class _PrefixedRouter(_IncludedRouter):
    """An included router that answers "no match" at once to a path outside the literal
    prefix all its routes share (``/residents`` for ``/residents``, ``/residents/count``,
    ``/residents/{resident_id}``): FastAPI tries every route of every included router in
    turn, and a service has dozens (:func:`_skip_routers_by_prefix`)."""

    literal_prefix: str = ""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """As an included router, but a path neither equal to the prefix nor below it
        matches none of its routes."""
        prefix = self.literal_prefix
        if prefix and scope["type"] == "http":
            path = _route_path(scope)
            if path != prefix and not path.startswith(prefix + "/"):
                return Match.NONE, {}
        return super().matches(scope)


def _literal_prefix(included: _IncludedRouter) -> str:
    """The path segments every route of ``included`` starts with, without a parameter
    (``""`` when they share none)."""
    shared: list[str] | None = None
    for context in iter_route_contexts([included]):
        segments = []
        for segment in str(context.path).split("/")[1:]:
            if "{" in segment:
                break
            segments.append(segment)
        if shared is None:
            shared = segments
        else:
            common = 0
            while common < min(len(shared), len(segments)) and shared[common] == segments[common]:
                common += 1
            shared = shared[:common]
    return "".join(f"/{segment}" for segment in shared or [] if segment)


def _skip_routers_by_prefix(app: FastAPI) -> None:
    """Let each router included in ``app`` whose routes share a literal prefix refuse other
    paths at once (:class:`_PrefixedRouter`): the same routes, in the same order, matched
    alike; only the routers that cannot match a request are no longer tried route by route."""
    routes = app.router.routes
    for index, route in enumerate(routes):
        if type(route) is not _IncludedRouter:
            continue
        prefix = _literal_prefix(route)
        if prefix:
            prefixed = _PrefixedRouter(
                original_router=route.original_router, include_context=route.include_context
            )
            prefixed.literal_prefix = prefix
            routes[index] = prefixed


def _route_path(scope: Scope) -> str:
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def _valid_id(value: str | None) -> str | None:
    return value if value is not None and _ID_PATTERN.fullmatch(value) else None


class RequestContextMiddleware:
    """Pure ASGI middleware: ids, request metrics, request log line, last-resort 500, and
    (given body limits) the secure defaults of :class:`SecureDefaultsMiddleware`.

    - ``X-Request-ID`` is taken from the request (if it looks like an id: 1–128 characters
      of ``A-Za-z0-9._:-``) or generated (uuid4); ``X-Correlation-ID`` likewise, defaulting to
      the request id. Both are bound in :mod:`shared.context` (causation id = request id)
      while the request is handled, so events it writes carry them, and both are echoed.
    - ``shequ_http_requests_total`` and ``shequ_http_request_duration_seconds`` are recorded
      with the matched route *template* (``unmatched`` when no route matched), the method
      (``other`` for non-standard ones) and the status (``499`` if the request was
      cancelled before a response started).
    - A path holding a control character (``%00`` and the like) is answered 404, as a
      missing resource, before routing: no path parameter carries one into a query.
    - An exception escaping the app is logged with its traceback and answered with a 500
      problem+json carrying no internals (re-raised if the response had already started).
    - With ``max_body_bytes`` (and ``max_bulk_body_bytes``, ``body_timeout_s``) it also limits
      request bodies and adds ``Cache-Control: no-store``, exactly as
      :class:`SecureDefaultsMiddleware` does, in the same pass: one layer, one wrapper of
      ``send`` per request (:func:`create_app` installs it so).
    - With ``allowed_methods``, the ``Allow`` header of a 405 names the methods it gives for
      the request (replacing the header; left as it is when it gives none), in that same pass.
    - A ``GET`` on a route the app serves by the fast lane (``app.state.fast_reads``:
      :func:`shared.fast_reads.serve_fast`) is answered here by that route's dependencies
      and endpoint, without FastAPI's routing and dependency solving; the rest of this list
      applies to it alike.

    It runs on every request, so it keeps its own work small: the two id headers are found
    in one scan of the raw headers, the ids are bound without a context manager, the metric
    series of each (route, method, status) are looked up once and kept, and the log line is
    only built when its level is enabled.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        max_body_bytes: int | None = None,
        max_bulk_body_bytes: int | None = None,
        body_timeout_s: float | None = None,
        allowed_methods: Callable[[Scope], Collection[str]] | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self._routes = _RouteTemplates()
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._limits = (
            None
            if max_body_bytes is None
            else _BodyLimits(max_body_bytes, max_bulk_body_bytes or max_body_bytes, body_timeout_s)
        )
        self._allowed_methods = allowed_methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id, correlation_id = _request_ids(scope)
        limits = self._limits
        allowed_methods = self._allowed_methods
        status = 0
        started = False

        async def send_with_ids(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
                headers = _response_headers(
                    message.get("headers", ()),
                    request_id.encode("latin-1"),
                    correlation_id.encode("latin-1"),
                    no_store=limits is not None,
                )
                if status == 405 and allowed_methods is not None:
                    headers = _with_allow(headers, allowed_methods(scope))
                message["headers"] = headers
            await send(message)

        app_receive = receive if limits is None else limits.receiver(scope, receive)
        begin = time.perf_counter()
        tokens = (
            request_id_var.set(request_id),
            correlation_id_var.set(correlation_id),
            causation_id_var.set(request_id),
        )
        try:
            if _UNNAMEABLE.search(str(scope.get("path", ""))):
                # No resource is named with control characters: answered as a missing one,
                # and never handed to a database (PostgreSQL cannot even compare a NUL).
                await _render_problem(NotFound(), None)(scope, receive, send_with_ids)
            else:
                fast: FastReads | None = (
                    getattr(getattr(scope.get("app"), "state", None), "fast_reads", None)
                    if scope.get("method") == "GET"
                    else None
                )
                lane = None if fast is None else fast.match(scope)
                if fast is None or lane is None:
                    await self.app(scope, app_receive, send_with_ids)
                else:  # the route itself, without FastAPI's routing (shared.fast_reads)
                    await fast.serve(*lane, scope, app_receive, send_with_ids)
        except Exception as exc:
            where = {"method": scope.get("method"), "route": self._routes.lookup(scope)}
            outage = is_outage(exc)
            if outage:  # a restart or failover, not a bug: one line, no traceback
                logger.warning("database unavailable: %s", type(exc).__name__, extra=where)
            else:
                logger.exception("unhandled exception", extra=where)
            if started:
                raise
            problem = _DATABASE_UNAVAILABLE if outage else _INTERNAL_ERROR
            response = _render_problem(problem, str(scope.get("path", "")) or None)
            await response(scope, receive, send_with_ids)
        finally:
            try:
                self._record(scope, status or 499, time.perf_counter() - begin)
                if status == 404:
                    await _count_not_found(scope)
            finally:
                request_id_var.reset(tokens[0])
                correlation_id_var.reset(tokens[1])
                causation_id_var.reset(tokens[2])

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = self._routes.lookup(scope)
        method = str(scope.get("method", "")).upper()
        if method not in _METHODS:
            method = "other"
        key = (route, method, status)
        series = self._series.get(key)
        if series is None:
            labels = (self.service, route, method, str(status))
            series = (HTTP_REQUESTS.labels(*labels), HTTP_LATENCY.labels(*labels))
            self._series[key] = series
        series[0].inc()
        series[1].observe(seconds)
        if route in _OPS_ROUTES and status < 500:
            level = logging.DEBUG
        elif status >= 500:
            level = logging.WARNING
        else:
            level = logging.INFO
        if logger.isEnabledFor(level):
            log_fields(
                logger,
                level,
                f"{method} {route} {status}",
                {
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )


async def _count_not_found(scope: Scope) -> None:
    """Count a 404 answered to an authenticated caller towards its failed look-up limit."""
    principal = scope.get("state", {}).get("principal")
    limits = getattr(getattr(scope.get("app"), "state", None), "rate_limits", None)
    if principal is not None and limits is not None:
        await limits.record_not_found(principal.subject)


_REQUEST_ID_NAME = REQUEST_ID_HEADER.lower().encode()
_CORRELATION_ID_NAME = CORRELATION_ID_HEADER.lower().encode()
_CACHE_CONTROL = b"cache-control"
_NO_STORE = (_CACHE_CONTROL, b"no-store")


def _request_ids(scope: Scope) -> tuple[str, str]:
    """The request id and correlation id of a request: the first of each header when it
    looks like an id, else a new uuid4 and the request id."""
    request_id: str | None = None
    correlation_id: str | None = None
    for name, value in scope.get("headers", ()):
        if name == _REQUEST_ID_NAME:
            if request_id is None:
                request_id = _valid_id(value.decode("latin-1")) or ""
        elif name == _CORRELATION_ID_NAME and correlation_id is None:
            correlation_id = _valid_id(value.decode("latin-1")) or ""
    request_id = request_id or str(uuid.uuid4())
    return request_id, correlation_id or request_id


def _response_headers(
    headers: Iterable[tuple[bytes, bytes]],
    request_id: bytes,
    correlation_id: bytes,
    *,
    no_store: bool,
) -> list[tuple[bytes, bytes]]:
    """The response's headers with ``Cache-Control: no-store`` added when it set none (if
    ``no_store``) and the two ids set (replacing any the app set)."""
    kept = []
    cached = False
    for name, value in headers:
        lowered = name.lower()
        if lowered in (_REQUEST_ID_NAME, _CORRELATION_ID_NAME):
            continue
        if lowered == _CACHE_CONTROL:
            cached = True
        kept.append((name, value))
    if no_store and not cached:
        kept.append(_NO_STORE)
    kept.append((_REQUEST_ID_NAME, request_id))
    kept.append((_CORRELATION_ID_NAME, correlation_id))
    return kept


def _with_allow(
    headers: list[tuple[bytes, bytes]], methods: Collection[str]
) -> list[tuple[bytes, bytes]]:
    """``headers`` with ``Allow`` naming ``methods`` (sorted), replacing any; unchanged when
    ``methods`` is empty."""
    if not methods:
        return headers
    kept = [(name, value) for name, value in headers if name.lower() != b"allow"]
    kept.append((b"allow", ", ".join(sorted(methods)).encode()))
    return kept


class _BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` once a body is known to exceed its route's limit; an HTTP
    exception, so FastAPI's body parsing passes it on and it is rendered as a 413 problem."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            f"The request body is larger than this route accepts ({limit} bytes).",
            headers={"Connection": "close"},
        )


class _BodyTooSlow(StarletteHTTPException):
    """Raised from ``receive`` when the body does not arrive in time (408, connection closed)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            408,
            f"The request body did not arrive within {seconds:g} seconds.",
            headers={"Connection": "close"},
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class _BodyLimits:
    """The request body limits: ``max_body_bytes``, or ``max_bulk_body_bytes`` on a route
    declared with ``openapi_extra=BULK_BODY``; and ``timeout_s``, the time the whole body may
    take to arrive (on a bulk route: the time between two of its chunks)."""

    def __init__(
        self, max_body_bytes: int, max_bulk_body_bytes: int, timeout_s: float | None = None
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_bulk_body_bytes = max_bulk_body_bytes
        self.timeout_s = timeout_s

    def limit_for(self, scope: Scope) -> int:
        """The body limit of the route matched for ``scope``."""
        extra = getattr(scope.get("route"), "openapi_extra", None)
        if isinstance(extra, Mapping) and extra.get(BULK_BODY_EXTENSION):
            return self.max_bulk_body_bytes
        return self.max_body_bytes

    def receiver(self, scope: Scope, receive: Receive) -> Receive:
        """``receive`` raising :class:`_BodyTooLarge` once the body is known to exceed the
        limit of the route (known at the first read: routing has happened by then), and
        :class:`_BodyTooSlow` when the body does not arrive in time. Once the body is
        complete, ``receive`` waits for the disconnect without a deadline."""
        limit: int | None = None
        received = 0
        complete = False
        deadline: float | None = None
        bulk = False

        async def limited_receive() -> Message:
            nonlocal limit, received, complete, deadline, bulk
            if limit is None:
                limit = self.limit_for(scope)
                bulk = limit == self.max_bulk_body_bytes != self.max_body_bytes
                declared = _content_length(scope)
                if declared is not None and declared > limit:
                    raise _BodyTooLarge(limit)
                if self.timeout_s is not None and not bulk:
                    deadline = asyncio.get_running_loop().time() + self.timeout_s
            if complete or self.timeout_s is None:
                message = await receive()
            else:
                try:
                    if bulk:
                        async with asyncio.timeout(self.timeout_s):
                            message = await receive()
                    else:
                        async with asyncio.timeout_at(deadline):
                            message = await receive()
                except TimeoutError:
                    raise _BodyTooSlow(self.timeout_s) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        return limited_receive


class SecureDefaultsMiddleware:
    """Pure ASGI middleware: request body limits and ``Cache-Control: no-store``.

    - A request body may be at most ``max_body_bytes``, or ``max_bulk_body_bytes`` on a route
      declared with ``openapi_extra=BULK_BODY``. The limit holds where the route reads the body:
      a ``Content-Length`` over it is refused before a byte is read, a chunked body once the
      bytes received pass it; the route's read raises and the client gets 413 problem+json.
      A route that never reads the body is not affected.
    - With ``body_timeout_s``, a body that has not arrived in full that many seconds after the
      route began to read it is answered 408 problem+json with ``Connection: close`` (on a bulk
      route: when no chunk arrives for that long), so a client trickling its body ties up
      nothing but its own connection.
    - A response that sets no ``Cache-Control`` gets ``no-store``: responses may carry personal
      data, and neither browsers nor proxies may keep it. A route opts out by setting its own.

    :func:`create_app` does not stack it: :class:`RequestContextMiddleware` given the same
    limits does the same work in its own pass. It is here for apps that want only this.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_bulk_body_bytes: int,
        body_timeout_s: float | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_bulk_body_bytes = max_bulk_body_bytes
        self._limits = _BodyLimits(max_body_bytes, max_bulk_body_bytes, body_timeout_s)

    def limit_for(self, scope: Scope) -> int:
        """The body limit of the route matched for ``scope``."""
        return self._limits.limit_for(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name.lower() == _CACHE_CONTROL for name, _ in headers):
                    headers.append(_NO_STORE)
                    message["headers"] = headers
            await send(message)

        await self.app(scope, self._limits.receiver(scope, receive), send_no_store)


# --------------------------------------------------------------------------- operations


def _short_reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    reason = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    return reason if len(reason) <= 200 else reason[:197] + "..."


async def _run_check(name: str, check: ReadinessCheck) -> str:
    """``ok``, ``timeout`` or ``down``; why a check failed goes to the log, not the answer
    (exception texts name hosts, users and versions)."""
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_S):
            await check()
    except TimeoutError:
        outcome, reason = "timeout", f"timed out after {READINESS_TIMEOUT_S:g}s"
    except Exception as exc:
        outcome, reason = "down", _short_reason(exc)
    else:
        return "ok"
    logger.warning("readiness check %s failed: %s", name, reason, extra={"check": name})
    return outcome


def _operations_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "alive"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: every check in ``app.state.readiness_checks`` passes."""
        checks: Mapping[str, ReadinessCheck] = (
            getattr(request.app.state, "readiness_checks", None) or {}
        )
        names = list(checks)
        outcomes = await asyncio.gather(*(_run_check(name, checks[name]) for name in names))
        results = dict(zip(names, outcomes, strict=True))
        ready = all(outcome == "ok" for outcome in outcomes)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": results},
            status_code=200 if ready else 503,
            headers={"Cache-Control": "no-store"},
        )

    return router


@asynccontextmanager
async def serve_metrics(app: FastAPI, settings: ServiceSettings) -> AsyncIterator[int]:
    """Serve the Prometheus exposition of the default registry on ``metrics_port`` (on
    ``http_host``) while the context lasts, from a daemon thread
    (:func:`shared.metrics.start_exposition`); give the port bound (a free one for
    ``metrics_port=0``), also kept in ``app.state.metrics_port``."""
    server, thread = start_exposition(settings.http_host, settings.resolved_metrics_port())
    port = int(server.server_port)
    app.state.metrics_port = port
    logger.info("metrics: Prometheus exposition on port %d", port, extra={"port": port})
    try:
        yield port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- OpenAPI

_SCHEMA_REF = "#/components/schemas/"
_DEFAULT_422_REF = {"$ref": _SCHEMA_REF + "HTTPValidationError"}


_TOO_LARGE_DESCRIPTION = (
    "Request body too large: over `HTTP_MAX_BODY_BYTES` (default 1 MiB); problem details."
)
_TOO_SLOW_DESCRIPTION = (
    "Request body too slow: not received within `HTTP_BODY_TIMEOUT_S` (default 30 s); "
    "problem details."
)
_BULK_TOO_LARGE_DESCRIPTION = (
    "Request body too large: over `HTTP_MAX_BULK_BODY_BYTES` (default 256 MiB); problem details."
)


_REFUSALS = {
    "401": "No bearer token, or an invalid one (expired, wrong signature, issuer or audience).",
    "403": "The token lacks a scope this operation needs (`WWW-Authenticate` names them).",
    "404": "No such resource, or one outside the token's area: the same answer, so a resource's "
    "existence is never revealed.",
    "409": "The first request with this `Idempotency-Key` is still running, or the change "
    "conflicts with the resource's current state.",
    "429": "Too many writes, or too many requests for missing resources, for this token "
    "(`RATE_LIMIT_WRITES`, `RATE_LIMIT_NOT_FOUND`); retry after `Retry-After` seconds.",
    "503": "The database is away for a moment (a restart or failover): nothing was changed; "
    "retry after `Retry-After` seconds (with the same `Idempotency-Key` for a write).",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}
_OBJECT_QUERY_PARAMETERS = frozenset({"within", "area"})
"""Query parameters naming an area; like path parameters and bodies, they may name something
missing or outside the token's area."""


def _names_a_resource(parameter: dict[str, Any]) -> bool:
    """Whether an OpenAPI parameter names a resource: a path parameter, an area or an id."""
    name = parameter["name"]
    if parameter["in"] == "path":
        return True
    return parameter["in"] == "query" and (name in _OBJECT_QUERY_PARAMETERS or name.endswith("_id"))


def _declare_refusals(method: str, operation: dict[str, Any]) -> bool:
    """Declare what an operation refuses with, from its shape: 401, 403 and 429 when it needs
    a bearer token; 503 when it also reads or writes the database (secured, or taking a body);
    404 when it names a resource (a path parameter, an area or ``*_id`` query
    parameter, a body); 409 when it takes an ``Idempotency-Key``. A GET's ``format`` query
    parameter offering ``csv`` adds ``text/csv`` to its 200 response. Whether a problem
    response was added."""
    responses = operation.setdefault("responses", {})
    parameters = operation.get("parameters", [])
    statuses = []
    if operation.get("security"):
        statuses += ["401", "403", "429"]
    if operation.get("security") or "requestBody" in operation:
        statuses.append("503")  # these read or write the database
    if "requestBody" in operation or any(_names_a_resource(p) for p in parameters):
        statuses.append("404")
    if any(
        parameter["in"] == "header" and parameter["name"].lower() == "idempotency-key"
        for parameter in parameters
    ):
        statuses.append("409")
    for status in statuses:
        declared = responses.setdefault(
            status,
            {
                "description": _REFUSALS[status],
                "content": {
                    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _SCHEMA_REF + "ProblemDetails"}}
                },
            },
        )
        if status in ("429", "503"):
            declared.setdefault("headers", copy.deepcopy(_RETRY_AFTER))
    if method == "get" and any(
        parameter["in"] == "query"
        and parameter["name"] == "format"
        and "csv" in json.dumps(parameter.get("schema", {}))
        for parameter in parameters
    ):
        ok = responses.setdefault("200", {"description": "Successful Response"})
        ok.setdefault("content", {}).setdefault("text/csv", {"schema": {"type": "string"}})
    return bool(statuses)


def _document_problem_responses(schema: dict[str, Any]) -> None:
    """Replace FastAPI's default 422 response schema with the problem+json one we send, and
    declare the 413 and 408 of every operation that takes a body and the refusals of
    :func:`_declare_refusals`."""
    replaced = False
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict):
                continue
            replaced = _declare_refusals(method, operation) or replaced
            responses = operation.get("responses", {})
            bulk = bool(operation.get(BULK_BODY_EXTENSION))
            if bulk or "requestBody" in operation:
                description = _BULK_TOO_LARGE_DESCRIPTION if bulk else _TOO_LARGE_DESCRIPTION
                problem_content = {"schema": {"$ref": _SCHEMA_REF + "ProblemDetails"}}
                responses.setdefault(
                    "413",
                    {"description": description, "content": {PROBLEM_MEDIA_TYPE: problem_content}},
                )
                responses.setdefault(
                    "408",
                    {
                        "description": _TOO_SLOW_DESCRIPTION,
                        "content": {PROBLEM_MEDIA_TYPE: problem_content},
                    },
                )
                replaced = True
            content = responses.get("422", {}).get("content", {})
            if content.get("application/json", {}).get("schema") != _DEFAULT_422_REF:
                continue
            responses["422"] = {
                "description": "Invalid input: problem details naming each offending field.",
                "content": {
                    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _SCHEMA_REF + "ProblemDetails"}}
                },
            }
            replaced = True
    if not replaced:
        return
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = ProblemDetails.model_json_schema(ref_template=_SCHEMA_REF + "{model}")
    components.update(problem.pop("$defs", {}))
    components["ProblemDetails"] = problem
    if _SCHEMA_REF + "HTTPValidationError" not in json.dumps(schema):
        components.pop("HTTPValidationError", None)
        if _SCHEMA_REF + "ValidationError" not in json.dumps(schema):
            components.pop("ValidationError", None)


def _install_problem_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            _document_problem_responses(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


# --------------------------------------------------------------------------- factory


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    version: str = "0.1.0",
    routers: Sequence[APIRouter] = (),
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    description: str = "",
    allowed_methods: Callable[[Scope], Collection[str]] | None = None,
) -> FastAPI:
    """Build a service's FastAPI app with health, readiness, metrics, ids and problem+json.

    ``app.state.settings`` is ``settings``; ``app.state.readiness_checks`` starts empty (ready)
    for the ``lifespan`` to fill or replace. One :class:`RequestContextMiddleware` layer
    gives ids, metrics, the log line and the secure defaults, so a 413 carries the request
    ids too. While the app's lifespan runs, Prometheus metrics are served on their own port
    (:func:`serve_metrics`), around ``lifespan``. ``allowed_methods`` gives the methods the
    ``Allow`` header of a 405 names, when the app knows them better than the route that
    refused (:class:`RequestContextMiddleware`).
    """
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan_with_metrics(app: FastAPI) -> AsyncIterator[None]:
        async with serve_metrics(app, settings):
            if lifespan is None:
                yield
            else:
                async with lifespan(app):
                    yield

    app = FastAPI(
        title=title,
        version=version,
        description=description,
        lifespan=lifespan_with_metrics,
        # FastAPI's own OpenTelemetry off: the services export Prometheus metrics and JSON
        # logs, and with it on every request asks three global providers whether they are set
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.readiness_checks = {}
    app.add_middleware(
        RequestContextMiddleware,
        service=settings.service_name,
        max_body_bytes=settings.http_max_body_bytes,
        max_bulk_body_bytes=settings.http_max_bulk_body_bytes,
        body_timeout_s=settings.http_body_timeout_s,
        allowed_methods=allowed_methods,
    )
    app.add_exception_handler(Problem, _handle_problem)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(Exception, _handle_unexpected)
    app.include_router(_operations_router())
    install_schema_routes(app, settings)  # public: the event schemas and AsyncAPI document
    for router in routers:
        app.include_router(router)
    _skip_routers_by_prefix(app)
    _install_problem_openapi(app)
    return app
