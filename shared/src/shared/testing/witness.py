"""Records what the test run makes public (events staged in any outbox, log lines) so a test
at the end of the run can check that no national id number leaked into any of it."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from pythonjsonlogger.json import JsonFormatter

#: An 18-character PRC resident id number: 17 digits and a digit or X, not inside a longer
#: run of digits and not the fraction of a decimal number (metrics are full of those).
NATIONAL_ID = re.compile(r"(?<![0-9.])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


@dataclass
class Witness:
    """Everything published during the run, as text."""

    events: list[str] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)

    def leaks(self, texts: list[str]) -> list[str]:
        """The texts containing something shaped like a national id number."""
        return [text for text in texts if NATIONAL_ID.search(text)]


class _Recorder(logging.Handler):
    def __init__(self, witness: Witness) -> None:
        super().__init__(level=logging.DEBUG)
        self.witness = witness
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.witness.log_lines.append(self.format(record))
        except Exception:
            self.witness.log_lines.append(str(record.msg))


WITNESS = Witness()


def install() -> None:
    """Start recording: a root log handler, and wrappers around ``shared.outbox.add`` and
    ``add_many``."""
    logging.getLogger().addHandler(_Recorder(WITNESS))
    from shared import outbox

    original_add, original_add_many = outbox.add, outbox.add_many

    def recording_add(session: Any, event: Any, **kwargs: Any) -> None:
        WITNESS.events.append(event.to_json_bytes().decode())
        original_add(session, event, **kwargs)

    async def recording_add_many(session: Any, events: Any, **kwargs: Any) -> None:
        WITNESS.events.extend(event.to_json_bytes().decode() for event in events)
        await original_add_many(session, events, **kwargs)

    outbox.add = recording_add
    outbox.add_many = recording_add_many
