"""Write the JSON Schema of every event, the AsyncAPI document and the events catalogue under docs/."""  # noqa: E501

from __future__ import annotations

from pathlib import Path

import typer

from shared.contracts import CONTRACTS
from shared.contracts.docs import check_all, undocumented, write_all


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
    if check:
        if drifted:
            typer.echo("Generated event docs differ from the committed files:", err=True)
            for line in drifted:
                typer.echo(f"  {line}", err=True)
            typer.echo("Run `make schemas` and commit the result.", err=True)
            raise typer.Exit(code=1)
        typer.echo(f"Event docs are up to date ({len(CONTRACTS)} event types).")
        return
    write_all(root, CONTRACTS)
    for line in drifted:
        typer.echo(f"changed {line}")
    typer.echo(f"Event docs written under {root / 'docs'} ({len(CONTRACTS)} event types).")
