"""Records what the test run makes public (events staged in any outbox, log lines) so a test
at the end of the run can check that no national id number leaked into any of it, nor any
name, id number or address the tests wrote: every value a request model of any service accepted
in a field marked :class:`shared.inputs.PersonalData` is learnt as it is validated.

A scan of nothing proves nothing: tests marked ``publishes`` stage events, and
:meth:`Witness.verdict` says whether the run gave the scan something to look at. A run in
which no such test passed (``make test-unit``, ``-k relay``) is skipped with that reason; a
run in which they passed yet the witness saw no event from one of them fails.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pythonjsonlogger.json import JsonFormatter

#: An 18-character PRC resident id number: 17 digits and a digit or X, not inside a longer
#: run of digits and not the fraction of a decimal number (metrics are full of those).
NATIONAL_ID = re.compile(r"(?<![0-9.])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


@dataclass
class Witness:
    """Everything published during the run, as text, and which test staged how many events."""

    events: list[str] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    current_test: str | None = None
    """Node id of the test running now (set by :mod:`shared.testing.plugin`)."""
    events_by_test: dict[str, int] = field(default_factory=dict)
    """Node id → events staged while it ran (set-up and tear-down included)."""
    passed_tests: set[str] = field(default_factory=set)
    """Node ids of the tests that passed so far."""
    personal_values: set[str] = field(default_factory=set)
    """Names, id numbers and addresses the tests wrote (see :meth:`learn`)."""

    def leaks(self, texts: list[str]) -> list[str]:
        """The texts containing something shaped like a national id number."""
        return [text for text in texts if NATIONAL_ID.search(text)]

    def learn(self, value: str) -> None:
        """Remember a personal value a request model accepted. Values too short to tell
        apart from ordinary words are left out (under 6 characters, or 2 when not ASCII, as
        a Chinese name); so are those without a letter (id numbers: :data:`NATIONAL_ID`)."""
        value = value.strip()
        if not any(character.isalpha() for character in value):
            return
        if len(value) >= 6 or (len(value) >= 2 and not value.isascii()):
            self.personal_values.add(value)

    def personal_leaks(self, texts: list[str]) -> list[str]:
        """The texts containing a personal value the tests wrote, as written or as JSON
        escapes it (``\\u738b``)."""
        if not self.personal_values:
            return []
        forms = {form for value in self.personal_values for form in _written_forms(value)}
        pattern = re.compile("|".join(map(re.escape, sorted(forms, key=len, reverse=True))))
        return [text for text in texts if pattern.search(text)]

    def staged(self, count: int) -> None:
        """Count ``count`` events staged just now towards the running test."""
        if self.current_test is not None:
            self.events_by_test[self.current_test] = (
                self.events_by_test.get(self.current_test, 0) + count
            )

    def verdict(self, publishing_tests: Iterable[str]) -> Verdict:
        """Whether the scan has something to look at, given the node ids of the run's tests
        marked ``publishes``."""
        passed = sorted(set(publishing_tests) & self.passed_tests)
        if not passed:
            return Verdict(
                skip="no test marked `publishes` passed in this run (a partial run such as "
                "`make test-unit` or `-k relay`), so no events were staged to scan; "
                "`make test` scans them"
            )
        silent = [test for test in passed if not self.events_by_test.get(test)]
        if silent:
            return Verdict(
                failure=f"{len(silent)} of the {len(passed)} passed tests marked `publishes` "
                "staged no event the witness saw, so the scan would miss what they publish: "
                + ", ".join(silent)
                + ". Events must be staged through shared.outbox.add, add_many or add_documents "
                "(which the witness records); a test that stages nothing must not be marked "
                "`publishes`"
            )
        if not self.log_lines:
            return Verdict(failure="tests marked `publishes` passed but no log line was recorded")
        return Verdict()


def _written_forms(value: str) -> set[str]:
    """``value`` as text and as JSON with ASCII escapes (how events and log lines hold it)."""
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}


@dataclass(frozen=True)
class Verdict:
    """Whether the scans of a run are meaningful: neither ``skip`` nor ``failure`` when they
    are."""

    skip: str | None = None
    failure: str | None = None


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
    """Start recording: a root log handler, wrappers around ``shared.outbox.add`` and
    ``add_documents`` (which ``add_many`` and units of work call), and an observer of
    personal values (:data:`PERSONAL_DATA_OBSERVERS`)."""
    logging.getLogger().addHandler(_Recorder(WITNESS))
    from shared import outbox
    from shared.inputs import PERSONAL_DATA_OBSERVERS

    PERSONAL_DATA_OBSERVERS.append(WITNESS.learn)

    original_add, original_add_documents = outbox.add, outbox.add_documents

    def recording_add(session: Any, event: Any, **kwargs: Any) -> None:
        WITNESS.events.append(event.to_json_bytes().decode())
        WITNESS.staged(1)
        original_add(session, event, **kwargs)

    async def recording_add_documents(session: Any, documents: Any, **kwargs: Any) -> None:
        # Every bulk path ends here: ``add_many`` and the unit of work's JSON documents.
        texts = [document.json for document in documents]
        WITNESS.events.extend(texts)
        WITNESS.staged(len(texts))
        await original_add_documents(session, documents, **kwargs)

    outbox.add = recording_add
    outbox.add_documents = recording_add_documents
