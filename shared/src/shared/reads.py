"""The cheap path for API reads: an autocommit, read-only engine and a response built once.

A read through :data:`shared.runtime.SessionDep` pays for a write's safety: the pool pings the
connection on every checkout (on PostgreSQL that is ``BEGIN``, ``;``, ``ROLLBACK``), then the
session opens a transaction around the ``SELECT`` and rolls it back. A list or get route that
runs one or two ``SELECT`` statements needs none of it. Route handlers take
:data:`ReadSessionDep` instead, a :class:`ReadSession` on the read engine that goes with the
runtime's engine (:func:`read_database`, built on first use and closed with the primary):

- **autocommit**: no ``BEGIN``/``ROLLBACK``; each statement is its own snapshot, so a route
  whose statements must see one snapshot uses ``SessionDep``;
- **read-only**: PostgreSQL connections start with ``default_transaction_read_only``, SQLite
  ones with ``PRAGMA query_only``: a write through it fails instead of committing;
- **ping only after idle**: a connection idle in the pool for :data:`PING_AFTER_IDLE_S` is
  pinged at checkout (a dead one is replaced); connections are recycled after
  :data:`RECYCLE_S`; and a statement that still meets a dead connection (the server restarted
  while the connection was busy) is retried once on a fresh one, which is safe because in
  autocommit no transaction state is lost.

:func:`json_response` returns a pydantic model serialised once (``model_dump_json``); keep
``response_model=`` on the route for OpenAPI, FastAPI then does not validate and encode the
result a second time.

On an in-memory SQLite database the read engine is the primary one (a second engine would see
another, empty database).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

PING_AFTER_IDLE_S = 10.0
"""A read connection idle in the pool longer than this is pinged before use."""
RECYCLE_S = 1800
"""A read connection older than this is closed and replaced at its next checkout."""
READ_POOL_SIZE = 10
"""Read connections per process. There is no overflow: a read waits for a pooled connection
rather than open one and close it again (a connect costs more than a whole read)."""
_CHECKED_IN_AT = "shequ_checked_in_at"

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
        ping_after_idle(engine, ping_after_idle_s)
    return engine


def _sqlite_query_only(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()


def ping_after_idle(engine: AsyncEngine, idle_s: float) -> None:
    """Ping a pooled connection at checkout only when it sat idle longer than ``idle_s``; a
    dead one is discarded and the pool hands out a fresh connection."""
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at <= idle_s:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception:  # whatever the driver says, this connection is not to be trusted
            alive = False
        if not alive:
            raise exc.DisconnectionError("read connection died while idle in the pool")


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
    """The read engine that goes with a service's primary engine, and its sessions."""

    engine: AsyncEngine
    sessions: async_sessionmaker[ReadSession]


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


def json_response(
    model: BaseModel, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``model`` as an ``application/json`` response, serialised once by pydantic."""
    return Response(
        content=model.model_dump_json(),
        status_code=status_code,
        headers=dict(headers) if headers else None,
        media_type="application/json",
    )
