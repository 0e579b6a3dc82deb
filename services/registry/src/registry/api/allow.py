"""``Allow`` on a 405 lists every method the path answers to.

Starlette answers 405 with the methods of the first route matching the path only; the
registry serves some paths with one route per method (``GET`` and ``POST /residents/lookup``,
``GET`` and ``PATCH /residents/{id}``), so the header would leave methods out. This ASGI
middleware rewrites it from the app's OpenAPI document: every method documented for a path
template the request's path matches.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


class AllowEveryMethod:
    """Rewrites the ``Allow`` header of 405 answers from all the app's matching routes."""

    def __init__(self, app: ASGIApp, *, routes_of: FastAPI) -> None:
        self.app = app
        self.routes_of = routes_of
        self._templates: list[tuple[re.Pattern[str], set[str]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allowed = self._methods(scope)
                if allowed:
                    headers = [
                        (name, value)
                        for name, value in message.get("headers", [])
                        if name.lower() != b"allow"
                    ]
                    headers.append((b"allow", ", ".join(sorted(allowed)).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_allow)

    def _methods(self, scope: Scope) -> set[str]:
        if self._templates is None:
            paths = self.routes_of.openapi().get("paths", {})
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
