"""A fast lane for the hottest GET routes: served from the request middleware, not FastAPI's
routing and dependency solving, doing exactly what the route does.

FastAPI spends on each request more than a read route's own work: the route is found by trying
every route before it, and each dependency is solved generically (its cache key, its
parameters, a sub-response for headers). :func:`serve_fast` lets the app's
:class:`shared.http.RequestContextMiddleware` answer ``GET`` on chosen routes itself. It
derives everything from the declared route, which stays declared (OpenAPI, ``HEAD``, and any
request the lane does not take go to FastAPI as before), and it only takes routes it can serve
alike: ``str`` path parameters, and dependencies that each take only the request (as
:func:`shared.reads.read_access` and :func:`shared.query.query_parameters` do), called in the
declared order; an endpoint returning a :class:`~starlette.responses.Response`. An exception
is answered by the app's handler for it (as Starlette's exception middleware looks it up);
anything else goes on to the request middleware (500, or 503 for a database outage). With
dependency overrides set (tests), every request goes to FastAPI.

A path that a route declared earlier would take (``/residents/count`` before
``/residents/{resident_id}``) is left to FastAPI.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from re import Pattern
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts
from starlette._utils import get_route_path, is_async_callable
from starlette.concurrency import run_in_threadpool
from starlette.convertors import StringConvertor
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Dependency = Callable[[Request], Awaitable[Any]]
Handler = Callable[[Request, Exception], Any]


@dataclass(frozen=True, slots=True)
class _Lane:
    """One route served by the fast lane."""

    route: APIRoute
    path: str
    templated: bool
    regex: Pattern[str]
    shadows: tuple[Pattern[str], ...]
    """Paths of routes declared earlier that could take a path this route takes."""
    dependencies: tuple[tuple[str | None, Dependency], ...]
    endpoint: Callable[..., Awaitable[Any]]


class FastReads:
    """The routes of an app served by the fast lane (``app.state.fast_reads``)."""

    def __init__(self, app: FastAPI, lanes: list[_Lane]) -> None:
        self._app = app
        self._literal = {lane.path: lane for lane in lanes if not lane.templated}
        self._templated = tuple(lane for lane in lanes if lane.templated)
        self._handlers: tuple[dict[Any, Handler], dict[int, Handler]] | None = None

    def match(self, scope: Scope) -> tuple[_Lane, dict[str, str]] | None:
        """The lane serving this ``GET`` request, with its path parameters, or None."""
        if self._app.dependency_overrides:
            return None
        path = get_route_path(scope)
        lane = self._literal.get(path)
        params: dict[str, str] = {}
        if lane is None:
            for candidate in self._templated:
                found = candidate.regex.match(path)
                if found is not None:
                    lane, params = candidate, found.groupdict()
                    break
            else:
                return None
        if lane.shadows and any(shadow.match(path) for shadow in lane.shadows):
            return None
        return lane, params

    async def serve(
        self, lane: _Lane, params: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer the request as ``lane``'s route would."""
        if "router" not in scope:
            scope["router"] = self._app.router
        scope["endpoint"] = lane.route.endpoint
        scope["path_params"] = params
        scope["route"] = lane.route
        request = Request(scope, receive, send)
        try:
            values: dict[str, Any] = dict(params)
            for name, call in lane.dependencies:
                value = await call(request)
                if name is not None:
                    values[name] = value
            response = await lane.endpoint(**values)
            if not isinstance(response, Response):
                raise TypeError(f"{lane.route.path}: the fast lane serves only Responses")
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            if is_async_callable(handler):
                response = await handler(request, exc)
            else:  # as Starlette would, in a thread
                response = await run_in_threadpool(handler, request, exc)
            if response is None:
                return
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        """The app's handler of ``exc``, looked up as Starlette's exception middleware does
        (by status for an HTTP exception, else by class); the handler of ``Exception`` (500)
        is the outer middleware's, not this one's."""
        if self._handlers is None:
            by_class: dict[Any, Handler] = {}
            by_status: dict[int, Handler] = {}
            for key, known in self._app.exception_handlers.items():
                if key in (500, Exception):
                    continue
                if isinstance(key, int):
                    by_status[key] = known
                else:
                    by_class[key] = known
            self._handlers = by_class, by_status
        by_class, by_status = self._handlers
        handler: Handler | None = None
        if isinstance(exc, HTTPException):
            handler = by_status.get(exc.status_code)
        if handler is None:
            for cls in type(exc).__mro__:
                handler = by_class.get(cls)
                if handler is not None:
                    break
        return handler


def serve_fast(app: FastAPI, *paths: str) -> FastReads:
    """Serve ``GET`` on each of ``paths`` (route templates, ``/residents/{resident_id}``)
    through the fast lane (``app.state.fast_reads``); call it once every router is included.
    A route the lane could not serve exactly as FastAPI does is refused (``TypeError``)."""
    contexts = list(iter_route_contexts(app.router.routes))
    lanes = []
    for path in paths:
        earlier: list[Any] = []
        for context in contexts:
            route = context.original_route
            methods = getattr(context, "methods", None) or getattr(route, "methods", None) or ()
            if context.path == path and "GET" in methods and isinstance(route, APIRoute):
                lanes.append(_lane(context, route, path, earlier))
                break
            if not methods or "GET" in methods:
                earlier.append(context)
        else:
            raise ValueError(f"no GET route {path!r}")
    fast = FastReads(app, lanes)
    app.state.fast_reads = fast
    return fast


def _lane(context: Any, route: APIRoute, path: str, earlier: list[Any]) -> _Lane:
    dependant = getattr(context, "dependant", None) or route.dependant
    refuse = f"{path}: the fast lane cannot serve this route alike"
    if (
        dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or dependant.request_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or route.dependencies
        or getattr(context, "dependencies", None)
    ):
        raise TypeError(f"{refuse}: it reads more than its path and its dependencies")
    for param in dependant.path_params:
        if param.field_info.annotation is not str or param.field_info.metadata:
            raise TypeError(f"{refuse}: path parameter {param.name} is not a plain str")
    convertors = context.param_convertors or route.param_convertors
    if set(convertors) != {param.name for param in dependant.path_params}:
        raise TypeError(f"{refuse}: its path parameters are not all str parameters")
    if not all(isinstance(c, StringConvertor) for c in convertors.values()):
        raise TypeError(f"{refuse}: a path parameter has a convertor")
    calls: list[tuple[str | None, Dependency]] = []
    for sub in dependant.dependencies:
        call = sub.call
        if (
            call is None
            or sub.dependencies
            or sub.path_params
            or sub.query_params
            or sub.header_params
            or sub.cookie_params
            or sub.body_params
            or sub.response_param_name
            or sub.background_tasks_param_name
            or sub.security_scopes_param_name
            or sub.request_param_name is None
            or sub.concurrency is not None
            or not _is_coroutine(call)
            or any(call is other for _, other in calls)
        ):
            raise TypeError(f"{refuse}: dependency {sub.name} takes more than the request")
        request_name = sub.request_param_name
        calls.append((sub.name, _calling(call, request_name)))
    endpoint = route.endpoint
    if not inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{refuse}: its endpoint is not a coroutine function")
    returned = typing.get_type_hints(endpoint).get("return")
    if not (isinstance(returned, type) and issubclass(returned, Response)):
        raise TypeError(f"{refuse}: its endpoint does not return a Response")
    regex = context.path_regex or route.path_regex
    return _Lane(
        route, path, bool(convertors), regex, _shadows(path, earlier), tuple(calls), endpoint
    )


def _calling(call: Callable[..., Awaitable[Any]], request_name: str) -> Dependency:
    if request_name == "request":
        return call
    return lambda request: call(**{request_name: request})


def _is_coroutine(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 (a dependency object's __call__)
    )


_PARAMETER = re.compile(r"^\{[^}:]+\}$")


def _shadows(path: str, earlier: list[Any]) -> tuple[Pattern[str], ...]:
    """The path patterns of ``earlier`` routes that could take a path ``path`` takes: same
    number of segments, each literal one equal or either a ``str`` parameter; a route whose
    template is not of that simple form (a mount, a ``path`` convertor) is kept."""
    mine = path.split("/")
    kept = []
    for context in earlier:
        template = str(getattr(context, "path", "") or "")
        regex = getattr(context, "path_regex", None) or getattr(
            context.original_route, "path_regex", None
        )
        if regex is None:
            continue
        theirs = template.split("/")
        simple = all("{" not in part or _PARAMETER.match(part) for part in theirs) and isinstance(
            context.original_route, APIRoute
        )
        if not simple:
            kept.append(regex)
            continue
        if len(theirs) == len(mine) and all(
            a == b or _PARAMETER.match(a) or _PARAMETER.match(b)
            for a, b in zip(mine, theirs, strict=True)
        ):
            kept.append(regex)
    return tuple(kept)


__all__ = ["FastReads", "serve_fast"]
