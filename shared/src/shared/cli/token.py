"""Mint a development token (HS256, development secret).

A development tool: without ``ENVIRONMENT`` it mints for development; with another
``ENVIRONMENT`` set it refuses, as services there refuse the token anyway.
"""

from __future__ import annotations

import re

import typer

from shared.auth import ALL_SCOPES, SCOPES, AuthConfigError, mint_token
from shared.settings import DEVELOPMENT_ENVIRONMENT, ServiceSettings


def parse_scopes(value: str) -> list[str]:
    """The scopes named in ``value`` (comma- or space-separated, or ``all``), in catalogue order.

    Raises :class:`typer.BadParameter` naming any scope not in the catalogue.
    """
    if value.strip().lower() == "all":
        return list(SCOPES)
    requested = [name for name in re.split(r"[,\s]+", value.strip()) if name]
    unknown = [name for name in requested if name not in ALL_SCOPES]
    if unknown:
        raise typer.BadParameter(
            f"unknown scope(s) {', '.join(unknown)}; known scopes: {', '.join(SCOPES)}",
            param_hint="'--scopes'",
        )
    return list(dict.fromkeys(requested))


def mint(
    scopes: str = typer.Option(
        "all",
        "--scopes",
        help="Scopes to grant, comma- or space-separated (e.g. 'registry:read,pii:read'), "
        "or 'all' for every scope in the catalogue.",
    ),
    area: str | None = typer.Option(
        None,
        "--area",
        help="Administrative area code confining the token to that area's subtree "
        "(default: the whole platform).",
    ),
    subject: str = typer.Option("dev", "--subject", help="The token's subject (`sub`)."),
    ttl: int = typer.Option(3600, "--ttl", min=1, help="Lifetime in seconds."),
) -> None:
    """Print a development bearer token to stdout."""
    granted = parse_scopes(scopes)
    if area is not None and not area.strip():
        raise typer.BadParameter("the area code must not be empty", param_hint="'--area'")
    settings = ServiceSettings(service_name="cli")
    if "environment" not in settings.model_fields_set:
        settings = ServiceSettings(service_name="cli", environment=DEVELOPMENT_ENVIRONMENT)
    try:
        token = mint_token(settings, subject=subject, scopes=granted, area=area, ttl_s=ttl)
    except AuthConfigError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(token)
