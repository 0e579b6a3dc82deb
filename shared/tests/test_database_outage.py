"""A database outage (restart, failover) is answered 503 problem+json with ``Retry-After``,
not 500 with a logged traceback; a statement's own error stays a 500 (issue 15, faults).

``tests/chaos/test_postgres_restart.py`` shows it against a PostgreSQL restarted under load;
these tests pin which exceptions count as an outage."""

from __future__ import annotations

import asyncio
import logging

import asyncpg  # type: ignore[import-untyped]
import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import Column, Integer, MetaData, Table, text
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from shared.db import bulk_insert, create_engine, is_outage, session_factory
from shared.http import PROBLEM_MEDIA_TYPE, create_app
from shared.settings import ServiceSettings


class _Driver(Exception):
    """Stands in for a driver error carrying a SQLSTATE, as asyncpg's do."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _wrapped(error: Exception, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, error, connection_invalidated=invalidated)


def _closed_then_rollback_failed() -> InterfaceError:
    """A rollback that fails on a dead connection: the outage is its context."""
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            raise InterfaceError(
                "ROLLBACK", {}, Exception("another operation is in progress")
            ) from None
    except InterfaceError as exc:
        exc.__suppress_context__ = False
        return exc


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        _wrapped(Exception("connection was closed in the middle of operation"), invalidated=True),
        _wrapped(_Driver("the database system is shutting down", "57P03")),
        _wrapped(_Driver("terminating connection due to administrator command", "57P01")),
        _wrapped(_Driver("connection failure", "08006")),
        Exception("connection is closed"),
        _closed_then_rollback_failed(),
    ],
    ids=lambda error: type(error).__name__,
)
def test_outages(error: Exception) -> None:
    assert is_outage(error)


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("INSERT", {}, _Driver("duplicate key value", "23505")),
        _wrapped(_Driver("syntax error", "42601")),
        ValueError("a bug"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_not_outages(error: Exception) -> None:
    assert not is_outage(error)


def _app(error: Exception) -> TestClient:
    router = APIRouter()

    @router.get("/thing")
    async def thing() -> dict[str, str]:
        raise error

    settings = ServiceSettings(service_name="outage", environment="development")
    app = create_app(settings, title="outage", routers=[router])
    return TestClient(app, raise_server_exceptions=False)


def test_an_outage_is_a_503_problem_with_retry_after_and_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="shared.http"):
        response = _app(ConnectionRefusedError(111, "Connect call failed")).get("/thing")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert (body["status"], body["type"]) == (503, "urn:shequ:problem:service-unavailable")
    assert "Connect call failed" not in response.text
    outage_logs = [r for r in caplog.records if r.getMessage().startswith("database unavailable")]
    assert outage_logs
    assert all(r.exc_info is None for r in outage_logs)


def test_a_statement_error_is_still_a_500() -> None:
    response = _app(_wrapped(_Driver("syntax error", "42601"))).get("/thing")
    assert response.status_code == 500
    assert response.json()["type"] == "urn:shequ:problem:internal-error"


@pytest.mark.integration
async def test_a_copy_on_a_connection_the_server_dropped_is_an_outage(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``bulk_insert`` COPYs through asyncpg directly, past SQLAlchemy's translation of a
    dropped connection. A PostgreSQL restart under load (``tests/chaos``) once made asyncpg
    answer such a COPY with a protocol-state error naming no outage, and the request got a
    500: on a connection the server dropped, any COPY error is an outage."""
    engine = create_engine(fresh_postgres_url)
    admin = create_engine(fresh_postgres_url, pooled=False)
    table = Table("copied", MetaData(), Column("id", Integer, primary_key=True))

    async def protocol_state_error(*_args: object, **_kwargs: object) -> None:
        raise asyncpg.InternalClientError(
            "cannot switch to state 21; another operation (2) is in progress"
        )

    try:
        async with engine.begin() as connection:
            await connection.run_sync(table.metadata.create_all)
        sessions = session_factory(engine)
        raised: BaseException | None = None
        try:
            async with sessions() as session, session.begin():
                connection = await session.connection()
                driver = (await connection.get_raw_connection()).driver_connection
                assert driver is not None
                async with admin.connect() as other:
                    await other.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE"
                            " datname = current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                for _ in range(50):  # until asyncpg has read the server's goodbye
                    if driver.is_closed():
                        break
                    await asyncio.sleep(0.02)
                assert driver.is_closed()
                monkeypatch.setattr(type(driver), "copy_records_to_table", protocol_state_error)
                await bulk_insert(session, table, [{"id": 1}, {"id": 2}])
        except Exception as exc:  # whatever surfaces is what a request would see
            raised = exc
        assert raised is not None
        assert is_outage(raised), repr(raised)
    finally:
        await admin.dispose()
        await engine.dispose()


@pytest.mark.integration
async def test_a_copy_refused_for_the_connections_state_is_an_outage_and_a_duplicate_is_not(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A protocol-state refusal on a connection that still looks open is an outage too (the
    connection is discarded); a row the table refuses stays the statement's own error."""
    engine = create_engine(fresh_postgres_url)
    table = Table("copied", MetaData(), Column("id", Integer, primary_key=True))
    sessions = session_factory(engine)
    errors: list[BaseException] = []

    async def copy_once(rows: list[dict[str, object]]) -> None:
        try:
            async with sessions() as session, session.begin():
                await bulk_insert(session, table, rows)
        except Exception as exc:  # whatever surfaces is what a request would see
            errors.append(exc)

    try:
        async with engine.begin() as connection:
            await connection.run_sync(table.metadata.create_all)
        await copy_once([{"id": 1}])
        await copy_once([{"id": 1}])  # the primary key refuses it
        assert len(errors) == 1
        assert not is_outage(errors[0]), errors
        refused_on: list[object] = []

        async def protocol_state_error(driver: object, *_args: object, **_kwargs: object) -> None:
            refused_on.append(driver)
            raise asyncpg.InternalClientError(
                "cannot switch to state 21; another operation (2) is in progress"
            )

        async with engine.connect() as connection:  # the one connection the pool holds
            driver_class = type((await connection.get_raw_connection()).driver_connection)
        with monkeypatch.context() as patched:
            patched.setattr(driver_class, "copy_records_to_table", protocol_state_error)
            await copy_once([{"id": 2}])
        assert len(errors) == 2
        assert is_outage(errors[1]), errors
        async with engine.connect() as connection:  # the refused one was discarded
            assert (await connection.get_raw_connection()).driver_connection not in refused_on
        await copy_once([{"id": 3}])
        assert len(errors) == 2, errors
    finally:
        await engine.dispose()
