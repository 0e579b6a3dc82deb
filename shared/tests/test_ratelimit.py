"""Per-token rate limits (shared.ratelimit) through a real app: a burst of writes or of failed
look-ups is refused 429 with ``Retry-After``, other tokens are not affected, and every
secured operation declares the 429."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from shared import errors
from shared.auth import Principal, install_auth, mint_token, require_scopes
from shared.http import create_app
from shared.ratelimit import RateLimits, TooManyRequests, parse_limit
from shared.settings import ServiceSettings

Reader = Annotated[Principal, Depends(require_scopes("registry:read"))]
Writer = Annotated[Principal, Depends(require_scopes("registry:write"))]


def make_settings(**overrides: Any) -> ServiceSettings:
    return ServiceSettings(
        service_name="limits-test", environment="development", _env_file=None, **overrides
    )


def limited_app(settings: ServiceSettings) -> TestClient:
    router = APIRouter()
    known = {"k-1"}

    @router.get("/things/{thing_id}")
    async def get_thing(thing_id: str, principal: Reader) -> dict[str, str]:
        if thing_id not in known:
            raise errors.NotFound()
        return {"id": thing_id}

    @router.post("/things", status_code=201)
    async def add_thing(principal: Writer) -> dict[str, str]:
        return {"id": "k-2"}

    app = create_app(settings, title="limits", routers=[router])
    install_auth(app, settings)
    return TestClient(app)


def token(settings: ServiceSettings, subject: str) -> dict[str, str]:
    scopes = ["registry:read", "registry:write"]
    return {"Authorization": "Bearer " + mint_token(settings, subject=subject, scopes=scopes)}


@pytest.fixture
def settings() -> ServiceSettings:
    return make_settings(rate_limit_writes="5/minute", rate_limit_not_found="3/minute")


@pytest.fixture
def client(settings: ServiceSettings) -> Iterator[TestClient]:
    with limited_app(settings) as test_client:
        yield test_client


def assert_too_many(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:shequ:problem:too-many-requests"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_a_burst_of_writes_is_refused_and_other_tokens_are_not(
    client: TestClient, settings: ServiceSettings
) -> None:
    alice, bob = token(settings, "alice"), token(settings, "bob")
    answers = [client.post("/things", headers=alice).status_code for _ in range(5)]
    assert answers == [201] * 5
    assert_too_many(client.post("/things", headers=alice))
    assert client.post("/things", headers=bob).status_code == 201
    assert client.get("/things/k-1", headers=alice).status_code == 200, "reads are not writes"


def test_a_fresh_token_of_the_same_subject_shares_its_limit(
    client: TestClient, settings: ServiceSettings
) -> None:
    for _ in range(5):
        assert client.post("/things", headers=token(settings, "carol")).status_code == 201
    assert_too_many(client.post("/things", headers=token(settings, "carol")))


def test_too_many_failed_look_ups_block_the_subject_only(
    client: TestClient, settings: ServiceSettings
) -> None:
    mallory, bob = token(settings, "mallory"), token(settings, "bob")
    for number in range(3):
        assert client.get(f"/things/guess-{number}", headers=mallory).status_code == 404
    assert client.get("/things/guess-3", headers=mallory).status_code == 404  # the 4th 404
    blocked = client.get("/things/k-1", headers=mallory)
    assert_too_many(blocked)
    assert "missing resources" in blocked.json()["detail"]
    assert_too_many(client.post("/things", headers=mallory))
    assert client.get("/things/k-1", headers=bob).status_code == 200
    assert client.get("/things/nope", headers=bob).status_code == 404


def test_unauthenticated_404s_count_for_no_one(
    client: TestClient, settings: ServiceSettings
) -> None:
    for _ in range(10):
        assert client.get("/no/such/route").status_code == 404
    assert client.get("/things/k-1", headers=token(settings, "dave")).status_code == 200


def test_an_empty_limit_is_no_limit() -> None:
    settings = make_settings(rate_limit_writes="", rate_limit_not_found="")
    with limited_app(settings) as client:
        headers = token(settings, "eve")
        assert {client.post("/things", headers=headers).status_code for _ in range(50)} == {201}
        assert {client.get("/things/x", headers=headers).status_code for _ in range(50)} == {404}


def test_a_blocked_subject_is_let_in_again_when_the_window_has_passed() -> None:
    limits = RateLimits(writes="", not_found="1/second")
    limits.record_not_found("frank")
    limits.record_not_found("frank")
    with pytest.raises(TooManyRequests) as refused:
        limits.check("frank", "GET")
    wait = int(refused.value.headers["Retry-After"])
    assert 1 <= wait <= 2
    time.sleep(wait + 0.1)
    limits.check("frank", "GET")


def test_unreadable_limits_are_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="rate_limit_writes"):
        make_settings(rate_limit_writes="plenty")
    assert parse_limit("10/second") is not None
    assert parse_limit(" ") is None


def test_every_secured_operation_declares_429_with_retry_after(
    client: TestClient,
) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    for path, method in (("/things/{thing_id}", "get"), ("/things", "post")):
        declared = paths[path][method]["responses"]["429"]
        assert "Retry-After" in declared["headers"]
        assert "application/problem+json" in declared["content"]
