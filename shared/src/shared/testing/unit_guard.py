"""Keeps the ``unit`` marker honest: a unit test may not start PostgreSQL or a broker.

The plugin (:mod:`shared.testing.plugin`) marks every test that is neither ``integration`` nor
``e2e`` as ``unit`` and tells this module which unit test runs; :func:`refuse` (called by
:func:`shared.testing.postgres.create_database` and
:meth:`shared.testing.broker.TansuBroker.start`) then fails that test, so ``make test-unit``
never needs a database server, a broker or a browser.
"""

from __future__ import annotations

UNIT_TEST_FIXTURES_REFUSED = frozenset(
    {"kafka_bootstrap", "own_broker", "broker_behind_proxy", "postgres_url", "fresh_postgres_url"}
)
"""Fixtures that need a broker or PostgreSQL: a unit test requesting one fails."""

running_unit_test: str | None = None
"""Node id of the unit test running now, if one is."""


def refusal(test: str, resource: str) -> str:
    """Why ``test`` may not use ``resource``, and what to do about it."""
    return (
        f"{test} is a unit test (not marked integration or e2e) but needs {resource}: "
        "mark it `pytest.mark.integration` (or `e2e`), or keep it free of I/O"
    )


def refuse(resource: str) -> None:
    """Fail the running unit test, if any, because it is about to use ``resource``."""
    if running_unit_test is not None:
        import pytest

        pytest.fail(refusal(running_unit_test, resource), pytrace=False)
