"""The verified-token cache (shared.auth.VerifiedTokens) and the one-step scope dependency."""

from __future__ import annotations

import time
from typing import Annotated, Any

import jwt
import pytest
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from shared import errors
from shared.auth import (
    Principal,
    TokenVerifier,
    VerifiedTokens,
    install_auth,
    mint_token,
    require_scopes,
)
from shared.settings import ServiceSettings

READER = Principal("worker-1", frozenset({"registry:read"}))


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENVIRONMENT", "AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_JWT_SECRET", "AUTH_LEEWAY_S"):
        monkeypatch.delenv(name, raising=False)


def make_settings(**overrides: Any) -> ServiceSettings:
    overrides.setdefault("environment", "development")
    return ServiceSettings(service_name="test", _env_file=None, **overrides)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_an_entry_ends_at_the_tokens_expiry_or_after_the_ttl() -> None:
    clock = Clock(1000.0)
    cache = VerifiedTokens(ttl_s=30, clock=clock)
    cache.put("short", READER, expires_at=1010.0)
    cache.put("long", READER, expires_at=9999.0)
    clock.now = 1009.9
    assert cache.get("short") is READER
    clock.now = 1010.0  # the token's exp: expired, whatever the TTL says
    assert cache.get("short") is None
    clock.now = 1029.9
    assert cache.get("long") is READER
    clock.now = 1030.0  # the TTL: verify the signature again
    assert cache.get("long") is None


def test_only_the_exact_token_is_served() -> None:
    cache = VerifiedTokens(clock=Clock(0.0))
    cache.put("header.claims.signature", READER, expires_at=60.0)
    for other in ("header.claims.signaturE", "header.claims.signature ", "header.claims.", ""):
        assert cache.get(other) is None
    assert cache.get("header.claims.signature") is READER


def test_the_oldest_entry_makes_room() -> None:
    cache = VerifiedTokens(max_entries=2, clock=Clock(0.0))
    for token in ("a", "b", "c"):
        cache.put(token, READER, expires_at=60.0)
    assert [cache.get(token) for token in ("a", "b", "c")] == [None, READER, READER]


def test_a_ttl_of_zero_turns_the_cache_off() -> None:
    cache = VerifiedTokens(ttl_s=0, clock=Clock(0.0))
    cache.put("a", READER, expires_at=60.0)
    assert cache.get("a") is None


def test_a_repeated_token_is_verified_once(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings()
    verifier = TokenVerifier(settings)
    token = mint_token(settings, subject="worker-1", scopes=["registry:read"])
    decodes: list[str] = []
    real_decode = jwt.decode_complete

    def counted_decode(*args: Any, **kwargs: Any) -> Any:
        decodes.append(args[0])
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode_complete", counted_decode)
    first = verifier.verify(token)
    assert verifier.verify(token) == first
    assert decodes == [token]
    assert first.scopes == frozenset({"registry:read"})


def test_a_tampered_or_invalid_token_is_never_served_from_the_cache() -> None:
    settings = make_settings()
    verifier = TokenVerifier(settings)
    token = mint_token(settings, subject="worker-1", scopes=["registry:read"])
    verifier.verify(token)
    header, claims, signature = token.split(".")
    forged_claims = mint_token(settings, subject="intruder", scopes=["pii:read"]).split(".")[1]
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for forged in (f"{header}.{forged_claims}.{signature}", f"{header}.{claims}.{flipped}"):
        for _ in range(2):  # a refused token is not remembered either
            with pytest.raises(errors.Unauthorized):
                verifier.verify(forged)


def test_an_expired_token_is_refused_although_it_was_verified_before() -> None:
    settings = make_settings(auth_leeway_s=0)
    verifier = TokenVerifier(settings)
    token = mint_token(settings, subject="worker-1", scopes=["registry:read"], ttl_s=1)
    verifier.verify(token)
    deadline = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, deadline - time.time()) + 0.05)
    with pytest.raises(errors.Unauthorized, match="expired"):
        verifier.verify(token)


@pytest.fixture
def client() -> TestClient:
    settings = make_settings()
    app = FastAPI()
    install_auth(app, settings)

    @app.exception_handler(errors.Problem)
    async def problem(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.Problem)
        return JSONResponse({"status": exc.status}, status_code=exc.status, headers=exc.headers)

    @app.get("/read")
    async def read(
        principal: Annotated[Principal, Depends(require_scopes("registry:read"))],
    ) -> str:
        return principal.subject

    @app.get("/write")
    async def write(
        principal: Annotated[Principal, Depends(require_scopes("registry:write"))],
    ) -> str:
        return principal.subject

    return TestClient(app)


def test_scopes_are_checked_on_every_request_even_for_a_cached_token(client: TestClient) -> None:
    token = mint_token(make_settings(), subject="worker-1", scopes=["registry:read"])
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/read", headers=headers).json() == "worker-1"
    assert client.get("/read", headers=headers).json() == "worker-1"
    refused = client.get("/write", headers=headers)
    assert refused.status_code == 403
    assert 'scope="registry:write"' in refused.headers["www-authenticate"]
    assert client.get("/read").status_code == 401


def test_openapi_declares_the_same_bearer_scheme_for_scoped_routes(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "OAuth2 access token (JWT).",
        }
    }
    for path in ("/read", "/write"):
        assert schema["paths"][path]["get"]["security"] == [{"HTTPBearer": []}]
