"""``Allow`` on a 405 lists every method the path answers to.

Starlette answers 405 with the methods of the first route matching the path only; the
registry serves some paths with one route per method (``GET`` and ``POST /residents/lookup``,
``GET`` and ``PATCH /residents/{id}``), so the header would leave methods out. The app's
:class:`shared.http.RequestContextMiddleware` rewrites it (``create_app(allowed_methods=…)``)
from the app's OpenAPI document: every method documented for a path template the request's
path matches. It does so in the pass it makes anyway, so no request pays for a layer of its
own.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.types import Scope

_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class EveryMethodAllowed:
    """The methods documented for the first path template (literal ones first) matching a
    request's path, from the OpenAPI document of the request's app (read once)."""

    def __init__(self) -> None:
        self._templates: list[tuple[re.Pattern[str], set[str]]] | None = None

    def __call__(self, scope: Scope) -> set[str]:
        """The methods ``Allow`` names for a 405 to ``scope`` (empty: leave the header)."""
        if self._templates is None:
            app: FastAPI = scope["app"]
            paths = app.openapi().get("paths", {})
            self._templates = [  # literal paths first: /residents/lookup before /residents/{id}
                (
                    re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"),
                    {method.upper() for method in item if method in _METHODS},
                )
                for path, item in sorted(paths.items(), key=lambda entry: entry[0].count("{"))
            ]
        for pattern, documented in self._templates:
            if pattern.match(scope["path"]):
                return documented
        return set()
