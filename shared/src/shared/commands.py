"""Commands: the one way a route changes state.

A write route declares a :func:`command_runner` dependency and hands it one use case::

    WriteCommand = Annotated[CommandRunner, Depends(command_runner("registry:write"))]

    @router.post("/facilities", status_code=201, response_model=FacilityOut)
    async def open_facility(body: FacilityIn, command: WriteCommand) -> Response:
        return await command.run(
            service.open_facility, FacilityOut.of, status=201,
            community_id=body.community_id, kind=body.kind, ...,
        )

The runner checks the token and its scopes (the dependency), opens the transaction, claims the
``Idempotency-Key`` (or, when it is recorded already, replays the first response), calls
``use_case(uow, principal=…, **arguments)`` with a :class:`~shared.unit_of_work.UnitOfWork`,
turns the result into the response body with ``present``, writes the outbox rows of the events
the use case recorded, stores the response for replays and commits: the change, its events and
its idempotency record commit together or not at all. Routes define no closures and never begin
or commit.
"""

# No ``from __future__ import annotations`` here: FastAPI must see the dependency's
# annotations as objects, since they refer to a local (the scope check).

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Concatenate, TypeVar

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import idempotency
from shared.auth import Principal, require_scopes
from shared.contracts import CONTRACTS, ContractRegistry
from shared.idempotency import IdempotencyKey
from shared.unit_of_work import EventTranslator, UnitOfWork

Result = TypeVar("Result")
UseCase = Callable[Concatenate[UnitOfWork, ...], Awaitable[Result]]
FingerprintKey = Callable[[Request], bytes | None]
"""Gives the key that makes request fingerprints an HMAC (for bodies with personal data)."""


class _TwinClaimedFirst(Exception):
    """A concurrent request with the same key claimed it first (internal signal)."""


class CommandRunner:
    """Runs one use case for one request, owning its transaction and ``Idempotency-Key``."""

    def __init__(
        self,
        *,
        request: Request,
        sessions: async_sessionmaker[AsyncSession],
        translate: EventTranslator,
        principal: Principal,
        key: str | None,
        fingerprint_key: bytes | None = None,
        contracts: ContractRegistry = CONTRACTS,
    ) -> None:
        self.request = request
        self.principal = principal
        self._sessions = sessions
        self._translate = translate
        self._contracts = contracts
        self._key = key
        self._fingerprint_key = fingerprint_key

    async def run(
        self,
        use_case: Callable[..., Awaitable[Result]],
        present: Callable[[Result], Any] | None = None,
        /,
        *,
        status: int = 200,
        **arguments: Any,
    ) -> JSONResponse:
        """Call ``use_case(uow, principal=…, **arguments)`` once per ``Idempotency-Key`` and
        answer ``status`` with ``present(result)`` (the result itself without ``present``)."""

        async def execute(uow: UnitOfWork) -> Any:
            result = await use_case(uow, principal=self.principal, **arguments)
            return result if present is None else present(result)

        async with self._sessions() as session:
            if self._key is None:
                async with session.begin():
                    uow = UnitOfWork(session, translate=self._translate, contracts=self._contracts)
                    body = jsonable_encoder(await execute(uow))
                    await uow.publish_collected()
                return JSONResponse(body, status_code=status)
            return await self._run_once(session, execute, status, self._key)

    async def _run_once(
        self,
        session: AsyncSession,
        execute: Callable[[UnitOfWork], Awaitable[Any]],
        status: int,
        key: str,
    ) -> JSONResponse:
        request_fingerprint = await idempotency.fingerprint(self.request, key=self._fingerprint_key)
        try:
            async with session.begin():
                claimed = await idempotency.claim(
                    session, principal=self.principal, key=key, fingerprint=request_fingerprint
                )
                if claimed is None:  # recorded already: replay it, unless it had expired
                    stored = await idempotency.replay(
                        session, principal=self.principal, key=key, fingerprint=request_fingerprint
                    )
                    if stored is not None:
                        return stored
                    claimed = await idempotency.claim(  # its expired record is gone now
                        session, principal=self.principal, key=key, fingerprint=request_fingerprint
                    )
                    if claimed is None:
                        raise _TwinClaimedFirst
                uow = UnitOfWork(session, translate=self._translate, contracts=self._contracts)
                body, settle = claimed.settlement(status, await execute(uow))
                await uow.publish_collected(along=settle)
        except _TwinClaimedFirst:
            # The twin has committed by now (our insert waited for it): replay its answer.
            async with session.begin():
                stored = await idempotency.replay(
                    session, principal=self.principal, key=key, fingerprint=request_fingerprint
                )
            if stored is not None:
                return stored
            raise idempotency.in_progress() from None
        return JSONResponse(body, status_code=status)


def command_runner(
    *scopes: str, fingerprint_key: FingerprintKey | None = None
) -> Callable[..., Awaitable[CommandRunner]]:
    """A dependency giving a :class:`CommandRunner` for a caller whose token has ``scopes``.

    The service's sessions and event translator come from its runtime
    (``request.app.state.runtime``, see :mod:`shared.runtime`).
    """
    require = require_scopes(*scopes)

    async def runner(
        request: Request,
        principal: Annotated[Principal, Depends(require)],
        key: IdempotencyKey = None,
    ) -> CommandRunner:
        runtime = request.app.state.runtime
        return CommandRunner(
            request=request,
            sessions=runtime.sessions,
            translate=runtime.translate,
            principal=principal,
            key=key,
            fingerprint_key=fingerprint_key(request) if fingerprint_key else None,
            contracts=runtime.contracts,
        )

    runner.__name__ = f"command_runner({' '.join(scopes)})"
    return runner


__all__ = ["CommandRunner", "FingerprintKey", "UseCase", "command_runner"]
