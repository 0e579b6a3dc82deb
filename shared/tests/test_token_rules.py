"""The token rules of issue 15: maximum lifetime, RFC 9068 ``typ``, throttled JWKS downloads,
refusals counted and logged without flooding, and the client's ``X-Correlation-ID`` checked
before it reaches events or logs."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from shared import errors
from shared.auth import CurrentPrincipal, RefusalLog, TokenVerifier, install_auth, mint_token
from shared.context import correlation_id_var
from shared.http import create_app
from shared.settings import ServiceSettings

SERVICE = "token-rules"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENVIRONMENT", "AUTH_MAX_TOKEN_LIFETIME_S", "AUTH_REQUIRE_AT_JWT"):
        monkeypatch.delenv(name, raising=False)


def make_settings(**overrides: Any) -> ServiceSettings:
    overrides.setdefault("environment", "development")
    return ServiceSettings(service_name=SERVICE, _env_file=None, **overrides)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    found: dict[str, Any] = {
        "iss": "shequ-dev",
        "aud": "shequ",
        "sub": "clerk-1",
        "iat": now,
        "exp": now + 600,
        "scope": "registry:read",
    }
    found.update(overrides)
    return {name: value for name, value in found.items() if value is not None}


def signed(
    body: dict[str, Any], *, typ: str | None = "at+jwt", key: Any = None, **headers: Any
) -> str:
    secret = key if key is not None else make_settings().auth_jwt_secret.get_secret_value()
    algorithm = "HS256" if key is None else "RS256"
    return jwt.encode(body, secret, algorithm=algorithm, headers={"typ": typ, **headers})


def refusals(reason: str) -> float:
    labels = {"service": SERVICE, "reason": reason}
    return REGISTRY.get_sample_value("shequ_auth_refusals_total", labels) or 0.0


# --- lifetime --------------------------------------------------------------------------------


def test_a_token_within_the_maximum_lifetime_is_accepted() -> None:
    verifier = TokenVerifier(make_settings(auth_max_token_lifetime_s=3600))
    now = int(time.time())
    assert verifier.verify(signed(claims(iat=now, exp=now + 3600))).subject == "clerk-1"


def test_a_token_issued_for_longer_than_the_maximum_is_refused() -> None:
    verifier = TokenVerifier(make_settings(auth_max_token_lifetime_s=3600))
    now = int(time.time())
    before = refusals("lifetime")
    with pytest.raises(errors.Unauthorized, match="lives longer than 3600 s"):
        verifier.verify(signed(claims(iat=now - 60, exp=now + 3600)))
    assert refusals("lifetime") == before + 1


def test_a_token_without_iat_is_measured_from_now() -> None:
    verifier = TokenVerifier(make_settings(auth_max_token_lifetime_s=3600, auth_leeway_s=30))
    now = int(time.time())
    assert verifier.verify(signed(claims(iat=None, exp=now + 3000))).subject == "clerk-1"
    with pytest.raises(errors.Unauthorized, match="lives longer"):
        verifier.verify(signed(claims(iat=None, exp=now + 7200)))


def test_an_iat_in_the_future_cannot_shorten_a_long_token() -> None:
    verifier = TokenVerifier(make_settings(auth_max_token_lifetime_s=3600))
    now = int(time.time())
    with pytest.raises(errors.Unauthorized, match="not valid yet"):
        verifier.verify(signed(claims(iat=now + 86_400, exp=now + 86_400 + 600)))


def test_the_development_tokens_fit_the_default_lifetime() -> None:
    settings = make_settings()
    token = mint_token(settings, subject="dev", scopes=["registry:read"], ttl_s=12 * 3600)
    assert TokenVerifier(settings).verify(token).subject == "dev"
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"


# --- typ -------------------------------------------------------------------------------------


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT", "JWT", None])
def test_access_token_types_are_accepted(typ: str | None) -> None:
    assert TokenVerifier(make_settings()).verify(signed(claims(), typ=typ)).subject == "clerk-1"


@pytest.mark.parametrize("typ", ["logout+jwt", "dpop+jwt", "secevent+jwt", "id_token"])
def test_other_token_types_are_refused(typ: str) -> None:
    before = refusals("type")
    with pytest.raises(errors.Unauthorized, match="not an access token"):
        TokenVerifier(make_settings()).verify(signed(claims(), typ=typ))
    assert refusals("type") == before + 1


@pytest.mark.parametrize("typ", ["JWT", None])
def test_an_issuer_setting_at_jwt_makes_it_required(typ: str | None) -> None:
    verifier = TokenVerifier(make_settings(auth_require_at_jwt=True))
    assert verifier.verify(signed(claims(), typ="at+jwt")).subject == "clerk-1"
    with pytest.raises(errors.Unauthorized, match="typ must be at\\+jwt"):
        verifier.verify(signed(claims(), typ=typ))


# --- JWKS downloads ----------------------------------------------------------------------------


class JwksServer:
    """A real JWKS endpoint on 127.0.0.1 counting its downloads."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.downloads = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.downloads += 1
                body = json.dumps(outer.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_server(rsa_key: rsa.RSAPrivateKey) -> Iterator[JwksServer]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwk.update(kid="key-1", alg="RS256", use="sig")
    with JwksServer({"keys": [jwk]}) as server:
        yield server


def test_unknown_key_ids_download_the_jwks_at_most_once_per_interval(
    jwks_server: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier = TokenVerifier(
        make_settings(auth_jwks_url=jwks_server.url, auth_jwks_refetch_interval_s=3600)
    )
    good = signed(claims(), key=rsa_key, kid="key-1")
    assert verifier.verify(good).subject == "clerk-1"
    assert jwks_server.downloads == 1
    before = refusals("unknown-key")
    for number in range(20):
        with pytest.raises(errors.Unauthorized, match="key the issuer does not publish"):
            verifier.verify(signed(claims(jti=str(number)), key=rsa_key, kid=f"forged-{number}"))
    assert jwks_server.downloads == 1, "within the interval no unknown kid downloads the keys"
    assert refusals("unknown-key") == before + 20


def test_a_new_key_is_found_once_the_interval_has_passed(
    jwks_server: JwksServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    verifier = TokenVerifier(
        make_settings(auth_jwks_url=jwks_server.url, auth_jwks_refetch_interval_s=0.5)
    )
    assert verifier.verify(signed(claims(), key=rsa_key, kid="key-1")).subject == "clerk-1"
    rotated = dict(jwks_server.jwks["keys"][0], kid="key-2")
    jwks_server.jwks = {"keys": [*jwks_server.jwks["keys"], rotated]}
    time.sleep(0.6)
    assert verifier.verify(signed(claims(), key=rsa_key, kid="key-2")).subject == "clerk-1"
    assert jwks_server.downloads == 2


# --- refusals: counted exactly, logged sparingly ---------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_refusals_are_logged_once_per_reason_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    log = RefusalLog(SERVICE, interval_s=60, clock=clock)
    before = refusals("expired"), refusals("signature")
    with caplog.at_level(logging.INFO, logger="shared.auth"):
        for _ in range(1000):
            log.refused("expired")
        log.refused("signature")
        clock.now = 61
        log.refused("expired")
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert lines == [
        "auth: 1 token(s) refused (expired) since the last such line",
        "auth: 1 token(s) refused (signature) since the last such line",
        "auth: 1000 token(s) refused (expired) since the last such line",
    ]
    assert (refusals("expired"), refusals("signature")) == (before[0] + 1001, before[1] + 1)


def test_a_flood_of_bad_tokens_logs_a_line_not_a_line_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings()
    app = create_app(settings, title="flood")
    install_auth(app, settings)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> str:
        return principal.subject

    before = refusals("malformed"), refusals("missing")
    with caplog.at_level(logging.INFO, logger="shared.auth"), TestClient(app) as client:
        for _ in range(200):
            assert client.get("/me", headers={"Authorization": "Bearer x.y.z"}).status_code == 401
            assert client.get("/me").status_code == 401
    lines = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 2, [r.getMessage() for r in lines]
    assert (refusals("malformed"), refusals("missing")) == (before[0] + 200, before[1] + 200)
    assert "x.y.z" not in caplog.text


# --- X-Correlation-ID -------------------------------------------------------------------------


@pytest.fixture
def echo_client() -> Iterator[TestClient]:
    app = create_app(make_settings(), title="echo")

    @app.get("/echo")
    async def echo() -> dict[str, str | None]:
        return {"bound": correlation_id_var.get()}

    with TestClient(app) as client:
        yield client


def test_a_well_formed_correlation_id_is_kept(echo_client: TestClient) -> None:
    response = echo_client.get("/echo", headers={"X-Correlation-ID": "order-42:step.7"})
    assert response.json() == {"bound": "order-42:step.7"}
    assert response.headers["X-Correlation-ID"] == "order-42:step.7"


@pytest.mark.parametrize(
    "supplied",
    [
        "x" * 129,
        "has space",
        "line\r\nbreak",
        "quote\"or'",
        "id-110101199003077578 {json}",
        "-leading-dash",
        "中文",
        "",
    ],
    ids=["too-long", "space", "crlf", "quotes", "braces", "leading-dash", "non-ascii", "empty"],
)
def test_a_malformed_correlation_id_is_replaced_by_a_fresh_one(
    echo_client: TestClient, supplied: str
) -> None:
    response = echo_client.get(
        "/echo",
        headers=[("X-Correlation-ID", supplied.encode("utf-8"))],
    )
    bound = response.json()["bound"]
    assert bound != supplied
    assert bound == response.headers["X-Correlation-ID"] == response.headers["X-Request-ID"]
    assert len(bound) == 36, "a fresh uuid4: the request's own id"
