"""Write the JSON Schema of every event, the AsyncAPI document, the events catalogue and the
configuration reference under docs/."""

from __future__ import annotations

from pathlib import Path

import typer

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
    configuration = configuration_markdown()
    config_path = root / CONFIGURATION_DOC
    if not config_path.exists() or config_path.read_text(encoding="utf-8") != configuration:
        drifted.append(f"{CONFIGURATION_DOC} (out of date)")
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
    config_path.write_text(configuration, encoding="utf-8")
    for line in drifted:
        typer.echo(f"changed {line}")
    typer.echo(f"Event docs written under {root / 'docs'} ({len(CONTRACTS)} event types).")
