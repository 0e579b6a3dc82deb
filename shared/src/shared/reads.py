"""The cheap path for API reads: an autocommit, read-only engine and a response built once.

A read through :data:`shared.runtime.SessionDep` pays for a write's safety: the pool pings the
connection on every checkout (on PostgreSQL that is ``BEGIN``, ``;``, ``ROLLBACK``), then the
session opens a transaction around the ``SELECT`` and rolls it back. A list or get route that
runs one or two ``SELECT`` statements needs none of it, nor ORM objects. Route handlers take
one of two dependencies on the read engine that goes with the runtime's engine
(:func:`read_database`, built on first use and closed with the primary):

- :data:`ReadConnectionDep`, a :class:`ReadConnection` running Core ``SELECT`` statements
  and returning plain rows; on PostgreSQL it runs them straight on the driver, compiled once
  per shape. The cheapest; for the hottest list and get routes.
- :data:`ReadSessionDep`, a :class:`ReadSession`: an ``AsyncSession``, for read functions
  written with the ORM.

:func:`read_access` gives a route its :class:`ReadConnection` together with the caller whose
token holds the scopes, as one dependency (a :class:`ReadContext`): each dependency of a
route is solved on every request, so the hottest reads declare one.

Both are:

- **autocommit**: no ``BEGIN``/``ROLLBACK``; each statement is its own snapshot, so a route
  whose statements must see one snapshot uses ``SessionDep``;
- **read-only**: PostgreSQL connections start with ``default_transaction_read_only``, SQLite
  ones with ``PRAGMA query_only``: a write through it fails instead of committing;
- **ping only after idle**: a connection idle in the pool for :data:`PING_AFTER_IDLE_S` is
  pinged at checkout (a dead one is replaced); connections are recycled after
  :data:`RECYCLE_S`; and a statement that still meets a dead connection (the server restarted
  while the connection was busy) is retried once on a fresh one, which is safe because in
  autocommit no transaction state is lost.

:func:`json_response` returns a pydantic model serialised once (``model_dump_json``), or plain
values built straight from rows (:func:`values_of`) serialised once; keep ``response_model=``
on the route for OpenAPI, FastAPI then does not validate and encode the result a second time
(a route building plain values keeps a test that they equal the model's).

On an in-memory SQLite database the read engine is the primary one (a second engine would see
another, empty database).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, TypeVar

import asyncpg  # type: ignore[import-untyped]
import orjson
from fastapi import Depends, Request, Response
from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Compiled, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import Select
from sqlalchemy.sql.cache_key import CacheKey
from sqlalchemy.util import await_only as await_
from sqlalchemy.util import greenlet_spawn

from shared.auth import Principal, ScopedBearer, require_scopes
from shared.db import PING_AFTER_IDLE_S as DB_PING_AFTER_IDLE_S
from shared.db import check_at_checkout, is_outage

log = logging.getLogger(__name__)

PING_AFTER_IDLE_S = DB_PING_AFTER_IDLE_S
"""A read connection idle in the pool longer than this is pinged before use (as a write
connection is: :func:`shared.db.check_at_checkout`)."""
RECYCLE_S = 1800
"""A read connection older than this is closed and replaced at its next checkout."""
PLAN_CACHE_SIZE = 500
"""Statement shapes whose compiled form a read engine keeps."""
READ_POOL_SIZE = 10
"""Read connections per process. There is no overflow: a read waits for a pooled connection
rather than open one and close it again (a connect costs more than a whole read)."""

T = TypeVar("T")


def create_read_engine(
    url: str | URL,
    *,
    primary: AsyncEngine,
    echo: bool = False,
    ping_after_idle_s: float = PING_AFTER_IDLE_S,
) -> AsyncEngine:
    """An autocommit, read-only engine on ``url`` (``primary`` itself for in-memory SQLite)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        return primary
    kwargs: dict[str, Any] = {"echo": echo, "isolation_level": "AUTOCOMMIT"}
    if backend == "postgresql":
        kwargs.update(
            pool_size=READ_POOL_SIZE,
            max_overflow=0,
            pool_recycle=RECYCLE_S,
        )
        if parsed.get_driver_name() == "asyncpg":
            kwargs["connect_args"] = {"server_settings": {"default_transaction_read_only": "on"}}
    elif backend == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
    engine = create_async_engine(url, **kwargs)
    if backend == "sqlite":
        _sqlite_query_only(engine)
    else:
        check_at_checkout(engine, ping_after_idle_s)
    return engine


def _sqlite_query_only(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()


class ReadSession(AsyncSession):
    """An :class:`AsyncSession` for reads on the autocommit read engine.

    A statement that fails because its connection turned out dead is retried once, on a
    fresh connection (nothing is lost: there is no transaction to lose). Do not write with
    it: the database refuses writes on these connections.
    """

    async def _once_more_if_disconnected(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise
            log.warning("read connection was dead; retrying on a fresh one")
            await self.rollback()
            return await call()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        """:meth:`AsyncSession.execute`, retried once on a dead connection."""
        return await self._once_more_if_disconnected(
            lambda: super(ReadSession, self).execute(*args, **kwargs)
        )

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        """:meth:`AsyncSession.scalar`, retried once on a dead connection."""
        return await self._once_more_if_disconnected(
            lambda: super(ReadSession, self).scalar(*args, **kwargs)
        )

    async def scalars(self, *args: Any, **kwargs: Any) -> Any:
        """:meth:`AsyncSession.scalars`, retried once on a dead connection."""
        return await self._once_more_if_disconnected(
            lambda: super(ReadSession, self).scalars(*args, **kwargs)
        )

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        """:meth:`AsyncSession.get`, retried once on a dead connection."""
        return await self._once_more_if_disconnected(
            lambda: super(ReadSession, self).get(*args, **kwargs)
        )


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[ReadSession]:
    """Read sessions on ``engine`` (no autoflush: they never write)."""
    return async_sessionmaker(engine, class_=ReadSession, expire_on_commit=False, autoflush=False)


@dataclass
class ReadDatabase:
    """The read engine that goes with a service's primary engine, its sessions, and the
    plans of the statements :class:`ReadConnection` ran on it."""

    engine: AsyncEngine
    sessions: async_sessionmaker[ReadSession]
    plans: _Plans = field(default_factory=lambda: _Plans(PLAN_CACHE_SIZE))
    _connection: ReadConnection | None = field(default=None, init=False, repr=False)

    def connection(self) -> ReadConnection:
        """The :class:`ReadConnection` on the read engine (one for every request: it holds
        no state of its own, each statement checks a connection out)."""
        if self._connection is None:
            self._connection = ReadConnection(self.engine, self.plans)
        return self._connection


_READ_DATABASES: weakref.WeakKeyDictionary[Engine, ReadDatabase] = weakref.WeakKeyDictionary()


def read_database(primary: AsyncEngine) -> ReadDatabase:
    """The read side of ``primary``'s database: built on first use, on the same URL, and
    closed whenever ``primary`` is disposed (so a service's shut-down closes both)."""
    reads = _READ_DATABASES.get(primary.sync_engine)
    if reads is None:
        engine = create_read_engine(primary.url, primary=primary, echo=bool(primary.echo))
        reads = ReadDatabase(engine, read_session_factory(engine))
        _READ_DATABASES[primary.sync_engine] = reads
        if engine is not primary:

            @event.listens_for(primary.sync_engine, "engine_disposed")
            def _close_reads(_primary: Engine) -> None:
                # Runs inside the primary's AsyncEngine.dispose(), where the async driver
                # may be awaited: closing the read pool's connections works the same way.
                engine.sync_engine.dispose()

    return reads


async def _read_session(request: Request) -> AsyncIterator[ReadSession]:
    primary: AsyncEngine = request.app.state.runtime.engine
    async with read_database(primary).sessions() as session:
        yield session


ReadSessionDep = Annotated[ReadSession, Depends(_read_session)]
"""A :class:`ReadSession` for the request, for list and get routes: ``session: ReadSessionDep``."""


class ReadRow(Protocol):
    """A row of a read: its values by column name as attributes (``row.name``), like a
    SQLAlchemy row or an ORM object. Rows of a :class:`ReadConnection` also answer
    ``row["name"]``."""

    def __getattr__(self, name: str, /) -> Any:
        """The value of column ``name``."""


class _Record(asyncpg.Record):  # type: ignore[misc]
    """An asyncpg record whose columns are also attributes. Columns are looked up first (a
    ``__getattr__`` would run only after a failed lookup has raised, several times slower)."""

    def __getattribute__(self, name: str) -> Any:
        try:
            return _record_item(self, name)
        except KeyError:
            return object.__getattribute__(self, name)


_record_item = asyncpg.Record.__getitem__


class _MappedRow(dict[str, Any]):
    """A SQLAlchemy row's values by name, as items and as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to run one shape of statement: straight on the driver (``compiled`` set) or through
    SQLAlchemy (``compiled`` None)."""

    compiled: Compiled | None = None
    sql: str = ""
    names: tuple[str, ...] = ()
    bind_processors: tuple[Callable[[Any], Any] | None, ...] = ()


class _Plans:
    """Plans by statement cache key, the most recent :data:`PLAN_CACHE_SIZE` kept; and, for
    each statement object still alive, its cache key and plan.

    SQLAlchemy works a statement's cache key out by walking the whole statement on every
    run (90 µs for a resident list); a statement
    object never changes, so a statement built once (a module's ``functools.cache``) is
    walked once. Statements built per request are remembered only while they live.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._plans: dict[Any, _Plan] = {}
        self._by_statement: weakref.WeakKeyDictionary[Select[Any], tuple[CacheKey, _Plan]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, key: Any) -> _Plan | None:
        return self._plans.get(key)

    def put(self, key: Any, plan: _Plan) -> None:
        if len(self._plans) >= self.size:
            self._plans.pop(next(iter(self._plans)))
        self._plans[key] = plan

    def of_statement(self, statement: Select[Any]) -> tuple[CacheKey, _Plan] | None:
        """The cache key and plan remembered for this statement object, if any."""
        return self._by_statement.get(statement)

    def remember(self, statement: Select[Any], key: CacheKey, plan: _Plan) -> None:
        """Remember ``statement``'s key and plan for as long as it lives."""
        self._by_statement[statement] = (key, plan)


class ReadConnection:
    """Runs Core ``SELECT`` statements on the read engine and returns plain rows.

    On PostgreSQL (asyncpg) a statement whose parameters and columns need no conversion by
    SQLAlchemy runs straight on the driver: it is compiled once per shape (SQLAlchemy's own
    cache key), and each run only binds the new values, so a read costs little more than the
    driver's round trip. Any other statement, and every statement on another database, runs
    through SQLAlchemy Core. Either way a row answers ``row.column`` and ``row["column"]``.

    Each statement checks a pooled connection out for its own duration (in autocommit they
    are independent anyway), and one that meets a dead connection is retried once on a fresh
    one.
    """

    def __init__(self, engine: AsyncEngine, plans: _Plans) -> None:
        self._engine = engine
        self._plans = plans
        self._direct = engine.dialect.driver == "asyncpg"

    async def all(
        self, statement: Select[Any], parameters: Mapping[str, Any] | None = None
    ) -> Sequence[ReadRow]:
        """Every row ``statement`` selects; ``parameters`` are values of its ``bindparam()``
        placeholders by name (a statement built once, run with new values, costs least)."""
        if self._direct:
            known = self._plans.of_statement(statement)
            if known is None:
                key = statement._generate_cache_key()  # what SQLAlchemy's compiled cache uses
                if key is None:
                    return await self._through_sqlalchemy(statement, parameters)
                plan = self._plans.get(key.key)
                if plan is None:
                    plan = self._plan(statement, key)
                    self._plans.put(key.key, plan)
                self._plans.remember(statement, key, plan)
                known = key, plan
            key, plan = known
            if plan.compiled is not None:
                return await self._on_driver(plan, key, parameters)
        return await self._through_sqlalchemy(statement, parameters)

    async def first(
        self, statement: Select[Any], parameters: Mapping[str, Any] | None = None
    ) -> ReadRow | None:
        """The first row ``statement`` selects, or None."""
        rows = await self.all(statement, parameters)
        return rows[0] if rows else None

    def _plan(self, statement: Select[Any], key: CacheKey) -> _Plan:
        dialect = self._engine.dialect
        compiled = statement.compile(dialect=dialect, cache_key=key)
        names = tuple(getattr(compiled, "positiontup", None) or ())
        if "__[POSTCOMPILE_" in compiled.string or len(names) != len(compiled.params):
            return _Plan()  # expanding IN lists and the like: SQLAlchemy renders them per run
        try:
            results_converted = any(
                column.type.dialect_impl(dialect).result_processor(dialect, None) is not None
                for column in statement.selected_columns
            )
        except Exception:  # a type that needs the driver's column type to decide
            results_converted = True
        if results_converted:
            return _Plan()
        binds = getattr(compiled, "binds", {})
        processors = tuple(
            binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
        )
        return _Plan(compiled, compiled.string, names, processors)

    async def _on_driver(
        self, plan: _Plan, key: CacheKey, parameters: Mapping[str, Any] | None
    ) -> Sequence[ReadRow]:
        assert plan.compiled is not None
        values = plan.compiled.construct_params(
            parameters, extracted_parameters=key.bindparams, escape_names=False
        )
        assert values is not None
        arguments = [
            values[name] if process is None else process(values[name])
            for name, process in zip(plan.names, plan.bind_processors, strict=True)
        ]
        # Checkout, fetch and checkin in one greenlet: the pool's work may do I/O (a ping, a
        # reset), so it runs in one, and one greenlet per statement costs less than two.
        return await greenlet_spawn(self._fetch, plan.sql, arguments)

    def _fetch(self, sql: str, arguments: list[Any]) -> Sequence[ReadRow]:
        """Run ``sql`` on a pooled connection (inside a greenlet), once more on a fresh one if
        the first turned out dead."""
        for attempt in (1, 2):
            connection = self._engine.sync_engine.raw_connection()
            try:
                rows: Sequence[ReadRow] = await_(
                    connection.driver_connection.fetch(  # type: ignore[union-attr]
                        sql, *arguments, record_class=_Record
                    )
                )
            except Exception as error:
                if isinstance(error, asyncpg.PostgresError) and not is_outage(error):
                    connection.close()  # the statement's own error: the connection is sound
                    raise
                # Gone, going (a server shutting down), or left mid-protocol by either (an
                # InternalClientError): never handed back to the pool, tried once more.
                retry = attempt == 1 and (_disconnected(connection, error) or is_outage(error))
                connection.invalidate(error)
                if not retry:
                    raise
                log.warning("read connection was dead; retrying on a fresh one")
                continue
            connection.close()
            return rows
        raise AssertionError("unreachable")

    async def _through_sqlalchemy(
        self, statement: Select[Any], parameters: Mapping[str, Any] | None
    ) -> Sequence[ReadRow]:
        for attempt in (1, 2):
            try:
                async with self._engine.connect() as connection:
                    result = await connection.execute(statement, dict(parameters or {}))
                    return [_MappedRow(row) for row in result.mappings()]
            except exc.DBAPIError as error:
                if attempt == 2 or not error.connection_invalidated:
                    raise
                log.warning("read connection was dead; retrying on a fresh one")
        raise AssertionError("unreachable")


def _disconnected(connection: PoolProxiedConnection, error: Exception) -> bool:
    """Whether ``error`` says the driver connection is gone (not that the statement failed)."""
    driver = connection.driver_connection
    is_closed = getattr(driver, "is_closed", None)
    return isinstance(error, ConnectionError | OSError) or (
        callable(is_closed) and bool(is_closed())
    )


async def select_rows(
    source: AsyncSession | ReadConnection,
    statement: Select[Any],
    parameters: Mapping[str, Any] | None = None,
) -> Sequence[ReadRow]:
    """The rows ``statement`` selects, through a :class:`ReadConnection` (a read route) or in
    a session's transaction (a use case reading what it is about to change): one query
    function serves both."""
    if isinstance(source, ReadConnection):
        return await source.all(statement, parameters)
    rows: Sequence[ReadRow] = (await source.execute(statement, dict(parameters or {}))).all()
    return rows


async def _read_connection(request: Request) -> ReadConnection:
    primary: AsyncEngine = request.app.state.runtime.engine
    return read_database(primary).connection()


ReadConnectionDep = Annotated[ReadConnection, Depends(_read_connection)]
"""A :class:`ReadConnection` for the request, for the hottest list and get routes."""


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What a read route needs, from one dependency (:func:`read_access`): the caller, a
    :class:`ReadConnection`, and the request (for the app's state: an audit trail, keys)."""

    principal: Principal
    db: ReadConnection
    request: Request


class ReadAccess(ScopedBearer):
    """The dependency :func:`read_access` gives: the bearer security scheme checking the
    scopes (as :func:`shared.auth.require_scopes`, declared alike in OpenAPI), and the read
    connection, in one step; FastAPI solves each dependency of a route on every request."""

    async def __call__(self, request: Request) -> ReadContext:  # type: ignore[override]
        """The caller (401 without a valid token, 403 without the scopes) and the read
        connection of ``request``."""
        principal = await super().__call__(request)
        primary: AsyncEngine = request.app.state.runtime.engine
        return ReadContext(principal, read_database(primary).connection(), request)


def read_access(*scopes: str) -> ReadAccess:
    """A dependency giving a :class:`ReadContext` when the token grants every one of
    ``scopes`` (else 403): ``read: Annotated[ReadContext, Depends(read_access("x:read"))]``.
    Unknown scopes fail at declaration."""
    require_scopes(*scopes)  # refuses unknown scopes
    return ReadAccess(scopes)


def json_response(
    content: BaseModel | Mapping[str, Any] | Sequence[Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """``content`` as an ``application/json`` response, serialised once: a model by pydantic
    (``model_dump_json``); plain dicts, lists, strings, numbers, booleans, None and dates, for
    a route that builds its answer straight from rows (:func:`values_of`), by :func:`plain_json`."""
    body = content.model_dump_json() if isinstance(content, BaseModel) else plain_json(content)
    return Response(
        content=body,
        status_code=status_code,
        headers=dict(headers) if headers else None,
        media_type="application/json",
    )


def plain_json(content: Any) -> bytes:
    """``content`` as JSON the way a pydantic model writes it (dates ``YYYY-MM-DD``, UTC
    times ending ``Z``, enums by value): by orjson, three times faster than pydantic on a
    page of rows, or by ``pydantic_core.to_json`` for what orjson does not take (decimals,
    sets, keys that are not strings, integers beyond 64 bits)."""
    try:
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)
    except TypeError:
        return to_json(content)


def values_of(row: ReadRow, names: Sequence[str]) -> Sequence[Any]:
    """The values of ``row`` in the order of ``names``, which must be the columns its
    statement selected, in that order: for unpacking many rows at little cost. A driver
    record is already that sequence; other rows are read by name."""
    if isinstance(row, _Record):
        return row
    return [row[name] for name in names]  # type: ignore[index]
