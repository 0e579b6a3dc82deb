"""``shequ``: the platform's operator and developer command line.

Sub-commands live in modules of this package, one each: ``token`` (mint development tokens),
``dlq`` (inspect and requeue dead letters), ``schemas`` (generate event schemas and AsyncAPI),
``dev`` (run the whole platform locally), ``events`` (follow the event topics), ``city``
(generate a synthetic city into running services).
"""

from __future__ import annotations

import typer

from shared.cli import city, dev, dlq, events, schemas, token

app = typer.Typer(help="Shequ platform tools.", no_args_is_help=True, add_completion=False)
app.command(name="token", help=token.__doc__)(token.mint)
app.add_typer(dlq.app, name="dlq")
app.command(name="schemas", help=schemas.__doc__)(schemas.generate)
app.add_typer(dev.app, name="dev")
app.add_typer(events.app, name="events")
app.add_typer(city.app, name="city")
