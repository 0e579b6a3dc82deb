"""Errors that the HTTP layer turns into RFC 9457 problem+json responses.

Use cases and routers raise these; :mod:`shared.http` renders them with ``type``, ``title``,
``status``, ``detail`` and, for input errors, ``errors``: a list naming each offending field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROBLEM_TYPE_BASE = "urn:shequ:problem:"


@dataclass(frozen=True)
class FieldError:
    """One invalid input: ``field`` names it as the rule knows it (``birth_date``,
    ``into.id``); :func:`shared.http.locate` adds where the request carried it
    (``body.birth_date``). Errors about the request itself may give the location
    (``header.Idempotency-Key``)."""

    field: str
    message: str
    code: str = "invalid"


class Problem(Exception):
    """Base of every error with an HTTP meaning."""

    status: int = 500
    title: str = "Internal error"
    code: str = "internal-error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}

    @property
    def type_uri(self) -> str:
        """The problem ``type`` URI."""
        return PROBLEM_TYPE_BASE + self.code


class ServiceUnavailable(Problem):
    """A dependency (the database) is away for a moment: retry after ``Retry-After`` (503)."""

    status, title, code = 503, "Service unavailable", "service-unavailable"


class InvalidInput(Problem):
    """Input that is well-formed but breaks a rule (422), naming the fields."""

    status, title, code = 422, "Invalid input", "invalid-input"


class Unauthorized(Problem):
    """No valid bearer token (401)."""

    status, title, code = 401, "Unauthorized", "unauthorized"


class Forbidden(Problem):
    """A valid token without the scope the action needs (403)."""

    status, title, code = 403, "Forbidden", "forbidden"


class NotFound(Problem):
    """No such resource, or one outside the caller's area (404).

    The answer never tells the two apart, so it never reveals that something exists where the
    caller may not look: whatever ``detail`` a use case gives (``no resident r-1``) stays in
    the exception's message, for logs and tracebacks, while the response says only the title.
    """

    status, title, code = 404, "Not found", "not-found"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, errors=errors, headers=headers, extra=extra)
        self.detail = self.title


class Conflict(Problem):
    """The request conflicts with the current state (409)."""

    status, title, code = 409, "Conflict", "conflict"


class ContentTooLarge(Problem):
    """The request body is larger than the route accepts (413)."""

    status, title, code = 413, "Content too large", "content-too-large"
