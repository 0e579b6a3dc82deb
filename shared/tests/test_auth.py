"""Unit tests for shared.auth and the ``shequ token`` command (no network)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Annotated, Any

import jwt
import pytest
import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from shared import errors
from shared.auth import (
    ALL_SCOPES,
    SCOPES,
    AuthConfigError,
    AuthUnavailable,
    CurrentPrincipal,
    Principal,
    TokenVerifier,
    ensure_area,
    install_auth,
    mint_token,
    require_scopes,
)
from shared.cli import token as token_cli
from shared.settings import ServiceSettings

CITY, DISTRICT, STREET, COMMUNITY = "city-1", "district-7", "street-3", "community-42"
COMMUNITY_PATH = [CITY, DISTRICT, STREET, COMMUNITY]
OTHER_COMMUNITY_PATH = [CITY, DISTRICT, "street-9", "community-99"]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's environment (AUTH_*, ENVIRONMENT) out of these tests."""
    for name in (
        "ENVIRONMENT",
        "AUTH_ISSUER",
        "AUTH_AUDIENCE",
        "AUTH_ALGORITHMS",
        "AUTH_JWT_SECRET",
        "AUTH_PUBLIC_KEY",
        "AUTH_JWKS_URL",
        "AUTH_LEEWAY_S",
    ):
        monkeypatch.delenv(name, raising=False)


def make_settings(**overrides: Any) -> ServiceSettings:
    """Settings of a development service unless ``overrides`` name another environment."""
    overrides.setdefault("environment", "development")
    return ServiceSettings(service_name="test", _env_file=None, **overrides)


def encode(
    claims: dict[str, Any], key: Any = None, algorithm: str = "HS256", **headers: Any
) -> str:
    secret = key if key is not None else make_settings().auth_jwt_secret.get_secret_value()
    return jwt.encode(claims, secret, algorithm=algorithm, headers=headers or None)


def standard_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "shequ-dev",
        "aud": "shequ",
        "sub": "worker-1",
        "iat": now,
        "exp": now + 600,
        "scope": "registry:read casework:write",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def rsa_key_pair() -> tuple[rsa.RSAPrivateKey, str]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_key, public_pem


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[rsa.RSAPrivateKey, str]:
    return rsa_key_pair()


# --- catalogue and Principal -------------------------------------------------------------------


def test_catalogue_has_read_and_write_per_service_plus_pii_audit_and_casework_admin() -> None:
    expected = {
        f"{service}:{access}"
        for service in ("registry", "casework", "employment", "eldercare", "metrics")
        for access in ("read", "write")
    } | {"pii:read", "audit:read", "casework:admin"}
    assert set(SCOPES) == expected
    assert expected == ALL_SCOPES
    assert all(description.strip() for description in SCOPES.values())


def test_principal_scope_checks() -> None:
    principal = Principal("u", frozenset({"registry:read", "pii:read"}))
    assert principal.has_scope("registry:read")
    assert not principal.has_scope("registry:write")
    assert principal.has_scopes("registry:read", "pii:read")
    assert not principal.has_scopes("registry:read", "casework:read")


def test_principal_area_access() -> None:
    platform_wide = Principal("u", frozenset())
    assert platform_wide.may_access(COMMUNITY_PATH)
    assert platform_wide.may_access([])

    district_worker = Principal("u", frozenset(), area=DISTRICT)
    assert district_worker.may_access(COMMUNITY_PATH)
    assert district_worker.may_access((CITY, DISTRICT))
    assert not district_worker.may_access([CITY])
    assert not district_worker.may_access(["city-2", "district-8"])

    community_worker = Principal("u", frozenset(), area=COMMUNITY)
    assert community_worker.may_access(COMMUNITY_PATH)
    assert not community_worker.may_access(OTHER_COMMUNITY_PATH)
    assert not community_worker.may_access([CITY, DISTRICT, STREET])
    assert not community_worker.may_access([])


def test_may_access_rejects_a_bare_string_path() -> None:
    with pytest.raises(TypeError):
        Principal("u", frozenset(), area="42").may_access("community-42")


# --- verification -----------------------------------------------------------------------------


def test_minted_token_verifies_to_principal() -> None:
    settings = make_settings()
    token = mint_token(
        settings, subject="worker-1", scopes=["registry:read", "pii:read"], area=COMMUNITY
    )
    principal = TokenVerifier(settings).verify(token)
    assert principal == Principal(
        subject="worker-1", scopes=frozenset({"registry:read", "pii:read"}), area=COMMUNITY
    )


def test_token_without_area_covers_the_platform() -> None:
    settings = make_settings()
    principal = TokenVerifier(settings).verify(
        mint_token(settings, subject="admin", scopes="pii:read metrics:read")
    )
    assert principal.area is None
    assert principal.scopes == {"pii:read", "metrics:read"}


def test_scp_list_claim_is_accepted() -> None:
    claims = standard_claims(scope=None, scp=["eldercare:read", "eldercare:write"])
    principal = TokenVerifier(make_settings()).verify(encode(claims))
    assert principal.scopes == {"eldercare:read", "eldercare:write"}


def test_token_without_scopes_has_none() -> None:
    principal = TokenVerifier(make_settings()).verify(encode(standard_claims(scope=None)))
    assert principal.scopes == frozenset()


def test_audience_list_containing_ours_is_accepted() -> None:
    token = encode(standard_claims(aud=["other", "shequ"]))
    assert TokenVerifier(make_settings()).verify(token).subject == "worker-1"


def test_expiry_within_leeway_is_accepted() -> None:
    token = encode(standard_claims(exp=int(time.time()) - 5))
    assert TokenVerifier(make_settings(auth_leeway_s=30)).verify(token).subject == "worker-1"


BAD_TOKENS = {
    "wrong signature": lambda: encode(standard_claims(), key="another-secret-" + "x" * 32),
    "wrong issuer": lambda: encode(standard_claims(iss="someone-else")),
    "wrong audience": lambda: encode(standard_claims(aud="another-platform")),
    "expired": lambda: encode(standard_claims(exp=int(time.time()) - 120)),
    "missing exp": lambda: encode(standard_claims(exp=None)),
    "missing sub": lambda: encode(standard_claims(sub=None)),
    "missing iss": lambda: encode(standard_claims(iss=None)),
    "missing aud": lambda: encode(standard_claims(aud=None)),
    "not yet valid": lambda: encode(standard_claims(nbf=int(time.time()) + 600)),
    "malformed": lambda: "not-a-jwt",
    "three garbage segments": lambda: "abc.def.ghi",
    "unsigned alg none": lambda: jwt.encode(standard_claims(), "", algorithm="none"),
    "non-string area": lambda: encode(standard_claims(area=42)),
    "malformed scope": lambda: encode(standard_claims(scope={"registry": "read"})),
}


@pytest.mark.parametrize("make_token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_invalid_tokens_are_unauthorized(make_token: Any) -> None:
    with pytest.raises(errors.Unauthorized) as raised:
        TokenVerifier(make_settings()).verify(make_token())
    assert raised.value.status == 401
    assert raised.value.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def test_refusals_do_not_log_the_token(caplog: pytest.LogCaptureFixture) -> None:
    token = encode(standard_claims(exp=int(time.time()) - 120))
    caplog.set_level(logging.DEBUG, logger="shared.auth")
    with pytest.raises(errors.Unauthorized) as raised:
        TokenVerifier(make_settings()).verify(token)
    assert "expired" in raised.value.detail
    assert caplog.records, "the refusal reason should be logged"
    for part in token.split("."):
        assert part not in caplog.text
        assert part not in raised.value.detail


# --- key sources and algorithm policy ---------------------------------------------------------


def test_rs256_public_key_is_verified_and_hs256_then_refused(
    rsa_keys: tuple[rsa.RSAPrivateKey, str],
) -> None:
    private_key, public_pem = rsa_keys
    settings = make_settings(auth_public_key=public_pem)
    verifier = TokenVerifier(settings)
    assert verifier.key_source == "public_key"
    assert verifier.algorithms == ["RS256"]

    rs256 = encode(standard_claims(), key=private_key, algorithm="RS256")
    assert verifier.verify(rs256).subject == "worker-1"

    with pytest.raises(errors.Unauthorized):
        verifier.verify(mint_token(settings, subject="dev", scopes=ALL_SCOPES))
    # Algorithm confusion: HMAC-signing with the public key as secret must not pass.
    forged = jwt.api_jws.PyJWS()
    forged._algorithms["HS256"].prepare_key = lambda key: key  # type: ignore[method-assign]
    confused = forged.encode(
        json.dumps(standard_claims()).encode(), public_pem.encode(), algorithm="HS256"
    )
    with pytest.raises(errors.Unauthorized):
        verifier.verify(confused)


def test_public_key_with_escaped_newlines_is_accepted(
    rsa_keys: tuple[rsa.RSAPrivateKey, str],
) -> None:
    private_key, public_pem = rsa_keys
    verifier = TokenVerifier(make_settings(auth_public_key=public_pem.replace("\n", "\\n")))
    token = encode(standard_claims(), key=private_key, algorithm="RS256")
    assert verifier.verify(token).subject == "worker-1"


def test_es256_public_key() -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    verifier = TokenVerifier(make_settings(auth_public_key=public_pem, environment="production"))
    assert verifier.algorithms == ["ES256"]
    token = encode(standard_claims(), key=private_key, algorithm="ES256")
    assert verifier.verify(token).subject == "worker-1"


def test_public_key_with_mismatched_algorithms_is_refused(
    rsa_keys: tuple[rsa.RSAPrivateKey, str],
) -> None:
    with pytest.raises(AuthConfigError, match="ES256"):
        TokenVerifier(make_settings(auth_public_key=rsa_keys[1], auth_algorithms=["ES256"]))


def test_garbage_public_key_is_refused() -> None:
    with pytest.raises(AuthConfigError, match="PEM"):
        TokenVerifier(make_settings(auth_public_key="not a key"))


@pytest.mark.parametrize("environment", ["production", "staging", "test"])
def test_hmac_secret_refused_outside_development(environment: str) -> None:
    with pytest.raises(AuthConfigError, match="AUTH_JWT_SECRET") as refused:
        TokenVerifier(make_settings(environment=environment))
    assert f"ENVIRONMENT is {environment!r}" in str(refused.value)
    with pytest.raises(AuthConfigError):
        install_auth(FastAPI(), make_settings(environment=environment))


def test_hmac_secret_refused_without_environment() -> None:
    """No ENVIRONMENT means production: the message tells the operator what to set."""
    settings = ServiceSettings(service_name="test", _env_file=None)  # type: ignore[call-arg]
    assert settings.environment == "production"
    with pytest.raises(AuthConfigError) as refused:
        TokenVerifier(settings)
    message = str(refused.value)
    assert "ENVIRONMENT is not set" in message
    assert "AUTH_JWKS_URL or AUTH_PUBLIC_KEY" in message
    assert "ENVIRONMENT=development" in message
    with pytest.raises(AuthConfigError, match="ENVIRONMENT=development"):
        mint_token(settings, subject="x", scopes=[])


def test_hmac_secret_accepted_with_environment_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    settings = ServiceSettings(service_name="test", _env_file=None)  # type: ignore[call-arg]
    verifier = TokenVerifier(settings)
    assert verifier.key_source == "hmac"
    token = mint_token(settings, subject="dev", scopes=["registry:read"])
    assert verifier.verify(token).scopes == {"registry:read"}


def test_public_key_allowed_outside_development(
    rsa_keys: tuple[rsa.RSAPrivateKey, str],
) -> None:
    verifier = TokenVerifier(make_settings(auth_public_key=rsa_keys[1], environment="production"))
    assert verifier.key_source == "public_key"


def test_asymmetric_algorithms_without_a_key_are_refused() -> None:
    with pytest.raises(AuthConfigError, match="auth_public_key"):
        TokenVerifier(make_settings(auth_algorithms=["RS256"]))


def test_mint_token_refused_outside_development() -> None:
    with pytest.raises(AuthConfigError):
        mint_token(make_settings(environment="production"), subject="x", scopes=[])


@pytest.fixture
def jwks_fetches() -> list[int]:
    """One entry per JWKS download made by ``jwks_verifier``."""
    return []


@pytest.fixture
def jwks_verifier(
    rsa_keys: tuple[rsa.RSAPrivateKey, str],
    jwks_fetches: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> TokenVerifier:
    """A verifier configured with a JWKS URL whose fetch is served from memory."""
    private_key, _ = rsa_keys
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update(kid="key-1", alg="RS256", use="sig")

    def fetch_data(self: jwt.PyJWKClient) -> Any:
        jwks_fetches.append(1)
        return {"keys": [jwk]}

    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", fetch_data)
    return TokenVerifier(
        make_settings(
            auth_jwks_url="https://idp.invalid/.well-known/jwks.json",
            auth_public_key="ignored: the JWKS URL takes precedence",
            environment="production",
        )
    )


def test_jwks_key_source(
    jwks_verifier: TokenVerifier,
    jwks_fetches: list[int],
    rsa_keys: tuple[rsa.RSAPrivateKey, str],
) -> None:
    assert jwks_verifier.key_source == "jwks"
    assert jwks_verifier.fetches_keys
    token = encode(standard_claims(), key=rsa_keys[0], algorithm="RS256", kid="key-1")
    assert jwks_verifier.verify(token).subject == "worker-1"
    assert jwks_verifier.verify(token).subject == "worker-1"
    assert len(jwks_fetches) == 1, "keys are cached between verifications"


def test_jwks_unknown_kid_is_unauthorized(
    jwks_verifier: TokenVerifier, rsa_keys: tuple[rsa.RSAPrivateKey, str]
) -> None:
    token = encode(standard_claims(), key=rsa_keys[0], algorithm="RS256", kid="key-2")
    with pytest.raises(errors.Unauthorized):
        jwks_verifier.verify(token)


def test_jwks_refuses_hs256(jwks_verifier: TokenVerifier) -> None:
    with pytest.raises(errors.Unauthorized):
        jwks_verifier.verify(encode(standard_claims(), kid="key-1"))


def test_jwks_verification_through_http_runs_off_the_event_loop(
    jwks_verifier: TokenVerifier, rsa_keys: tuple[rsa.RSAPrivateKey, str]
) -> None:
    app = FastAPI()
    app.state.token_verifier = jwks_verifier

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> str:
        return principal.subject

    token = encode(standard_claims(), key=rsa_keys[0], algorithm="RS256", kid="key-1")
    with TestClient(app) as test_client:
        response = test_client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json() == "worker-1"


def test_jwks_unreachable_is_503(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(self: jwt.PyJWKClient) -> Any:
        raise jwt.PyJWKClientConnectionError("connection refused")

    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", unreachable)
    verifier = TokenVerifier(make_settings(auth_jwks_url="https://idp.invalid/jwks"))
    token = encode(standard_claims(), key=rsa_key_pair()[0], algorithm="RS256", kid="k")
    with pytest.raises(AuthUnavailable) as raised:
        verifier.verify(token)
    assert raised.value.status == 503


# --- FastAPI integration ----------------------------------------------------------------------


def problem_app(settings: ServiceSettings) -> FastAPI:
    """A tiny app with auth installed and a minimal Problem handler (status + headers)."""
    app = FastAPI()
    install_auth(app, settings)

    @app.exception_handler(errors.Problem)
    async def render_problem(request: Request, exc: errors.Problem) -> JSONResponse:
        return JSONResponse(
            {"status": exc.status, "detail": exc.detail},
            status_code=exc.status,
            headers=exc.headers,
        )

    residents = {"r-1": COMMUNITY_PATH, "r-2": OTHER_COMMUNITY_PATH}

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"sub": principal.subject, "area": principal.area}

    @app.get("/residents/{resident_id}")
    async def get_resident(
        resident_id: str,
        principal: Annotated[Principal, Depends(require_scopes("registry:read"))],
    ) -> dict[str, str]:
        if resident_id not in residents:
            raise errors.NotFound()
        ensure_area(principal, residents[resident_id])
        return {"id": resident_id}

    @app.post(
        "/residents",
        dependencies=[Depends(require_scopes("registry:write", "pii:read"))],
    )
    async def register_resident() -> dict[str, str]:
        return {"id": "r-3"}

    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(problem_app(make_settings())) as test_client:
        yield test_client


def bearer(*scopes: str, area: str | None = None) -> dict[str, str]:
    token = mint_token(make_settings(), subject="worker-1", scopes=scopes, area=area)
    return {"Authorization": f"Bearer {token}"}


def test_http_valid_token(client: TestClient) -> None:
    response = client.get("/me", headers=bearer(area=COMMUNITY))
    assert response.status_code == 200
    assert response.json() == {"sub": "worker-1", "area": COMMUNITY}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["no header", "other scheme"],
)
def test_http_missing_token(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer garbage",
        "Bearer ",
        f"Bearer {encode(standard_claims(exp=int(time.time()) - 120))}",
        f"bearer {encode(standard_claims(iss='elsewhere'))}",
    ],
    ids=["malformed", "empty", "expired", "wrong issuer"],
)
def test_http_invalid_token(client: TestClient, authorization: str) -> None:
    response = client.get("/me", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_http_scheme_is_case_insensitive(client: TestClient) -> None:
    token = mint_token(make_settings(), subject="worker-1", scopes=[])
    assert client.get("/me", headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_http_scope_granted(client: TestClient) -> None:
    assert client.get("/residents/r-1", headers=bearer("registry:read")).status_code == 200


def test_http_scope_missing_is_403(client: TestClient) -> None:
    response = client.get("/residents/r-1", headers=bearer("casework:read"))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="registry:read"'
    )


def test_http_every_required_scope_is_needed(client: TestClient) -> None:
    partial = client.post("/residents", headers=bearer("registry:write"))
    assert partial.status_code == 403
    assert 'scope="registry:write pii:read"' in partial.headers["www-authenticate"]
    assert client.post("/residents", headers=bearer("registry:write", "pii:read")).is_success


def test_http_scope_check_needs_a_token_first(client: TestClient) -> None:
    assert client.get("/residents/r-1").status_code == 401


def test_http_area_inside(client: TestClient) -> None:
    for area in (CITY, DISTRICT, STREET, COMMUNITY, None):
        response = client.get("/residents/r-1", headers=bearer("registry:read", area=area))
        assert response.status_code == 200, area


def test_http_area_outside_is_404_like_a_missing_resource(client: TestClient) -> None:
    headers = bearer("registry:read", area=COMMUNITY)
    outside = client.get("/residents/r-2", headers=headers)
    missing = client.get("/residents/r-404", headers=headers)
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()


def test_ensure_area_raises_not_found() -> None:
    ensure_area(Principal("u", frozenset(), area=STREET), COMMUNITY_PATH)
    with pytest.raises(errors.NotFound):
        ensure_area(Principal("u", frozenset(), area=STREET), OTHER_COMMUNITY_PATH)


def test_current_principal_without_install_auth_is_a_programming_error() -> None:
    app = FastAPI()

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> str:
        return principal.subject

    with (
        TestClient(app, raise_server_exceptions=True) as test_client,
        pytest.raises(RuntimeError, match="install_auth"),
    ):
        test_client.get("/me", headers=bearer())


def test_require_scopes_rejects_unknown_scopes() -> None:
    with pytest.raises(ValueError, match="registry:reed"):
        require_scopes("registry:reed")


def test_openapi_declares_bearer_security(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


# --- shequ token ------------------------------------------------------------------------------


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command(name="token", help=token_cli.__doc__)(token_cli.mint)
    # A second command keeps typer from collapsing the app into the single command.
    app.command(name="noop")(lambda: None)
    return app


def decode_dev(token: str) -> dict[str, Any]:
    settings = make_settings()
    return jwt.decode(
        token,
        settings.auth_jwt_secret.get_secret_value(),
        algorithms=["HS256"],
        audience=settings.auth_audience,
        issuer=settings.auth_issuer,
    )


def test_cli_all_scopes(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["token"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    claims = decode_dev(token)
    assert set(claims["scope"].split()) == ALL_SCOPES
    assert claims["sub"] == "dev"
    assert "area" not in claims
    assert TokenVerifier(make_settings()).verify(token).scopes == ALL_SCOPES


def test_cli_listed_scopes_area_subject_ttl(cli: typer.Typer) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "token",
            "--scopes",
            "registry:read, casework:write pii:read",
            "--area",
            COMMUNITY,
            "--subject",
            "worker-7",
            "--ttl",
            "60",
        ],
    )
    assert result.exit_code == 0, result.output
    claims = decode_dev(result.stdout.strip())
    assert set(claims["scope"].split()) == {"registry:read", "casework:write", "pii:read"}
    assert claims["area"] == COMMUNITY
    assert claims["sub"] == "worker-7"
    assert claims["exp"] - claims["iat"] == 60


def test_cli_unknown_scope_exits_2(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["token", "--scopes", "registry:read,registry:delete"])
    assert result.exit_code == 2
    assert "registry:delete" in result.output
    assert "unknown scope" in result.output


def test_cli_refuses_outside_development(cli: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    result = CliRunner().invoke(cli, ["token"])
    assert result.exit_code == 1
    assert "production" in result.output


def test_cli_help_mentions_the_purpose(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["token", "--help"])
    assert result.exit_code == 0
    assert "development token" in result.output
    assert "--scopes" in result.output
