"""Write the JSON Schema of every event, the AsyncAPI document, the events catalogue, the
services' OpenAPI documents and the configuration reference under docs/."""

from __future__ import annotations

from pathlib import Path

import typer

from shared.api_docs import openapi_documents
from shared.contracts import CONTRACTS
from shared.contracts.docs import check_all, undocumented, write_all
from shared.settings_docs import CONFIGURATION_DOC, configuration_markdown


def generate(
    check: bool = typer.Option(False, "--check", help="fail if the committed files differ"),
    root: Path = typer.Option(
        Path("."), "--root", help="repository root holding docs/", file_okay=False
    ),
) -> None:
    """Generate the event docs, or with --check list the files that drifted and exit 1."""
    for problem in undocumented(CONTRACTS):
        typer.echo(f"warning: {problem}", err=True)
    drifted = check_all(root, CONTRACTS)
    generated = {CONFIGURATION_DOC: configuration_markdown(), **openapi_documents()}
    for relative, text in generated.items():
        path = root / relative
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            drifted.append(f"{relative} (out of date)")
    if check:
        if drifted:
            typer.echo("Generated docs differ from the committed files:", err=True)
            for line in drifted:
                typer.echo(f"  {line}", err=True)
            typer.echo("Run `make schemas` and commit the result.", err=True)
            raise typer.Exit(code=1)
        typer.echo(f"Event docs are up to date ({len(CONTRACTS)} event types).")
        return
    write_all(root, CONTRACTS)
    for relative, text in generated.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    for line in drifted:
        typer.echo(f"changed {line}")
    typer.echo(f"Docs written under {root / 'docs'} ({len(CONTRACTS)} event types).")
