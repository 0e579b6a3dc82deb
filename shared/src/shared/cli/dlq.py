"""Inspect and requeue dead letters: ``shequ dlq list|show|requeue --group <consumer group>``.

Dead letters live in the topic ``<group>.dlq``. Requeueing sends the original record (value,
key, original headers) back to its original topic, where every consumer group sees it again;
groups that had applied it skip it through their inbox. A marker record in the dead-letter
topic (header ``dlq_action: requeued``) remembers that it was requeued, so ``list`` tells
pending letters from requeued ones and a letter is not requeued twice by accident.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import typer

from shared.consumer import DLQ_EVENT_ID, dlq_topic
from shared.kafka import new_producer, read_topic
from shared.settings import ServiceSettings

app = typer.Typer(help="Inspect and requeue dead letters.", no_args_is_help=True)

ACTION_HEADER = "dlq_action"
REQUEUED_FROM_HEADER = "dlq_requeued_from"

GroupOption = typer.Option(..., "--group", "-g", help="Consumer group (the service name).")
BootstrapOption = typer.Option(
    None, "--bootstrap-servers", "-b", help="Kafka bootstrap servers (default: from settings)."
)


@dataclass
class DeadLetter:
    """One dead-lettered record and whether it was requeued since."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    requeued_at: str | None = None
    info: dict[str, str] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        """The event id, or ``<partition>:<offset>`` for a record that had none."""
        return self.info.get(DLQ_EVENT_ID) or f"{self.partition}:{self.offset}"

    @property
    def status(self) -> str:
        """``pending`` or ``requeued``."""
        return "requeued" if self.requeued_at else "pending"


def _settings(bootstrap: str | None) -> ServiceSettings:
    settings = ServiceSettings(service_name="shequ-cli")
    if bootstrap:
        settings = settings.model_copy(update={"kafka_bootstrap_servers": bootstrap})
    return settings


async def read_dead_letters(settings: ServiceSettings, group: str) -> list[DeadLetter]:
    """Every dead letter of ``group`` in topic order, with requeue markers applied."""
    letters: dict[str, DeadLetter] = {}
    markers: dict[str, str] = {}
    for record in await read_topic(settings, dlq_topic(group)):
        info = {k: bytes(v).decode(errors="replace") for k, v in record.headers}
        if info.get(ACTION_HEADER) == "requeued":
            markers[info.get(DLQ_EVENT_ID, "")] = info.get("dlq_requeued_at", "")
            continue
        letter = DeadLetter(
            record.partition,
            record.offset,
            record.key,
            record.value,
            list(record.headers),
            info=info,
        )
        letters[letter.event_id] = letter
    for event_id, when in markers.items():
        if event_id in letters:
            letters[event_id].requeued_at = when or "yes"
    return sorted(letters.values(), key=lambda letter: (letter.partition, letter.offset))


async def requeue_letters(settings: ServiceSettings, group: str, letters: list[DeadLetter]) -> None:
    """Send each letter back to its original topic and record a requeue marker."""
    producer = new_producer(settings, client_id="shequ-dlq-requeue")
    await producer.start()
    try:
        for letter in letters:
            original_headers = [(k, v) for k, v in letter.headers if not k.startswith("dlq_")]
            await producer.send_and_wait(
                letter.info["dlq_original_topic"],
                value=letter.value,
                key=letter.key,
                headers=[*original_headers, (REQUEUED_FROM_HEADER, dlq_topic(group).encode())],
            )
            now = datetime.now(UTC).isoformat()
            await producer.send_and_wait(
                dlq_topic(group),
                value=None,
                key=letter.key,
                headers=[
                    (ACTION_HEADER, b"requeued"),
                    (DLQ_EVENT_ID, letter.event_id.encode()),
                    ("dlq_requeued_at", now.encode()),
                ],
            )
    finally:
        await producer.stop()


@app.command("list")
def list_letters(
    group: str = GroupOption,
    bootstrap_servers: str | None = BootstrapOption,
    pending_only: bool = typer.Option(False, "--pending", help="Only letters not requeued."),
) -> None:
    """List dead letters: event id, status, reason, origin, exception."""
    letters = asyncio.run(read_dead_letters(_settings(bootstrap_servers), group))
    shown = [letter for letter in letters if not pending_only or letter.status == "pending"]
    if not shown:
        typer.echo(f"no dead letters in {dlq_topic(group)}")
        return
    for letter in shown:
        info = letter.info
        typer.echo(
            f"{letter.event_id}  {letter.status:8}  {info.get('dlq_reason', '?'):10}  "
            f"{info.get('dlq_original_topic')}:{info.get('dlq_original_partition')}"
            f"@{info.get('dlq_original_offset')}  {info.get('dlq_exception_class')}: "
            f"{info.get('dlq_exception_message', '')[:80]}"
        )


@app.command("show")
def show(
    event_id: str = typer.Argument(..., help="Event id (or partition:offset) of the letter."),
    group: str = GroupOption,
    bootstrap_servers: str | None = BootstrapOption,
) -> None:
    """Show one dead letter: its headers (its story) and its value."""
    letters = asyncio.run(read_dead_letters(_settings(bootstrap_servers), group))
    letter = next((x for x in letters if x.event_id == event_id), None)
    if letter is None:
        typer.echo(f"no dead letter {event_id} in {dlq_topic(group)}", err=True)
        raise typer.Exit(1)
    document = {
        "event_id": letter.event_id,
        "status": letter.status,
        "requeued_at": letter.requeued_at,
        "dlq_partition": letter.partition,
        "dlq_offset": letter.offset,
        "headers": letter.info,
        "value": (letter.value or b"").decode(errors="replace"),
    }
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@app.command("requeue")
def requeue(
    event_ids: list[str] = typer.Argument(None, help="Event ids to requeue."),
    group: str = GroupOption,
    bootstrap_servers: str | None = BootstrapOption,
    all_pending: bool = typer.Option(False, "--all", help="Requeue every pending letter."),
    force: bool = typer.Option(False, "--force", help="Requeue even if already requeued."),
) -> None:
    """Send dead letters back to their original topics."""
    settings = _settings(bootstrap_servers)
    letters = asyncio.run(read_dead_letters(settings, group))
    by_id = {letter.event_id: letter for letter in letters}
    if all_pending:
        chosen = [letter for letter in letters if letter.status == "pending"]
    else:
        if not event_ids:
            typer.echo("name event ids or pass --all", err=True)
            raise typer.Exit(2)
        missing = [event_id for event_id in event_ids if event_id not in by_id]
        if missing:
            typer.echo(f"not in {dlq_topic(group)}: {', '.join(missing)}", err=True)
            raise typer.Exit(1)
        chosen = [by_id[event_id] for event_id in event_ids]
        again = [x.event_id for x in chosen if x.status == "requeued" and not force]
        if again:
            typer.echo(f"already requeued (use --force): {', '.join(again)}", err=True)
            raise typer.Exit(1)
    unroutable = [x.event_id for x in chosen if "dlq_original_topic" not in x.info]
    if unroutable:
        typer.echo(f"no original topic recorded for: {', '.join(unroutable)}", err=True)
        raise typer.Exit(1)
    asyncio.run(requeue_letters(settings, group, chosen))
    for letter in chosen:
        typer.echo(f"requeued {letter.event_id} to {letter.info['dlq_original_topic']}")
