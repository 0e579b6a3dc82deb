"""Per-token rate limits (shared.ratelimit) through a real app: a burst of writes or of failed
look-ups is refused 429 with ``Retry-After``, other tokens are not affected, and every
secured operation declares the 429. Replicas sharing a real redis-server count one limit
between them (in memory each counts its own), and an unreachable storage lets requests
through with one warning."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import time
import uuid
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
from shared.testing.broker import free_port
from shared.testing.windows import seconds_until_room

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
        time.sleep(seconds_until_room())  # the counted burst stays inside one minute's window
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


async def test_a_blocked_subject_is_let_in_again_when_the_window_has_passed() -> None:
    limits = RateLimits(writes="", not_found="1/second")
    await asyncio.sleep(seconds_until_room(period_s=1.0, room_s=0.5))
    await limits.record_not_found("frank")
    await limits.record_not_found("frank")
    with pytest.raises(TooManyRequests) as refused:
        await limits.check("frank", "GET")
    wait = int(refused.value.headers["Retry-After"])
    assert 1 <= wait <= 2
    await asyncio.sleep(wait + 0.1)
    await limits.check("frank", "GET")


def test_unreadable_limits_are_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="rate_limit_writes"):
        make_settings(rate_limit_writes="plenty")
    assert parse_limit("10/second") is not None
    assert parse_limit(" ") is None
    for unusable in ("redis", "nosuch://host", ""):
        with pytest.raises(ValueError, match="rate_limit_storage_uri"):
            make_settings(rate_limit_storage_uri=unusable)
    assert make_settings(rate_limit_storage_uri="redis://127.0.0.1:1/0").rate_limit_storage_uri


# --- limits shared by replicas through Redis ------------------------------------------------


@pytest.fixture(scope="module")
def redis_uri() -> Iterator[str]:
    """A redis-server of the test's own on a free port (Debian's ``redis-server``, which
    ``make test`` installs: ``make redis``), nothing saved to disk."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed; `make redis` installs Debian's package")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert server.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not listen"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def replicas(settings: ServiceSettings, count: int = 2) -> list[TestClient]:
    """``count`` replicas of one service: apps of their own (own processes' state), the same
    settings."""
    return [limited_app(settings) for _ in range(count)]


@pytest.mark.integration
def test_replicas_sharing_a_redis_count_one_write_limit(redis_uri: str) -> None:
    settings = make_settings(
        rate_limit_writes="5/minute",
        rate_limit_not_found="",
        rate_limit_storage_uri=redis_uri,
    )
    first, second = replicas(settings)
    with first, second:
        time.sleep(seconds_until_room())
        alice = token(settings, f"alice-{uuid.uuid4().hex[:6]}")
        answers = [first.post("/things", headers=alice).status_code for _ in range(3)]
        answers += [second.post("/things", headers=alice).status_code for _ in range(2)]
        assert answers == [201] * 5
        assert_too_many(second.post("/things", headers=alice))
        assert_too_many(first.post("/things", headers=alice))
        other = token(settings, f"bob-{uuid.uuid4().hex[:6]}")
        assert second.post("/things", headers=other).status_code == 201


@pytest.mark.integration
def test_in_memory_each_replica_counts_on_its_own() -> None:
    settings = make_settings(rate_limit_writes="5/minute", rate_limit_not_found="")
    first, second = replicas(settings)
    with first, second:
        time.sleep(seconds_until_room())
        alice = token(settings, "alice")
        for replica in (first, second):
            assert [replica.post("/things", headers=alice).status_code for _ in range(5)] == [
                201
            ] * 5
        assert_too_many(first.post("/things", headers=alice))


@pytest.mark.integration
def test_replicas_sharing_a_redis_block_a_guesser_together(redis_uri: str) -> None:
    settings = make_settings(
        rate_limit_writes="", rate_limit_not_found="3/minute", rate_limit_storage_uri=redis_uri
    )
    first, second = replicas(settings)
    with first, second:
        time.sleep(seconds_until_room())
        mallory = token(settings, f"mallory-{uuid.uuid4().hex[:6]}")
        for number in range(3):
            assert first.get(f"/things/guess-{number}", headers=mallory).status_code == 404
        # the shared count is used up: the next 404, at the other replica, blocks there too
        assert second.get("/things/guess-3", headers=mallory).status_code == 404
        assert_too_many(second.get("/things/k-1", headers=mallory))
        assert first.get("/things/k-1", headers=mallory).status_code == 200, (
            "the first replica has not met the subject's next 404 yet"
        )
        assert first.get("/things/guess-4", headers=mallory).status_code == 404
        assert_too_many(first.get("/things/k-1", headers=mallory))


@pytest.mark.integration
def test_an_unreachable_storage_lets_requests_through_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(
        rate_limit_writes="1/minute",
        rate_limit_not_found="1/minute",
        rate_limit_storage_uri=f"redis://127.0.0.1:{free_port()}/0",
    )
    with limited_app(settings) as client, caplog.at_level(logging.WARNING, "shared.ratelimit"):
        headers = token(settings, "grace")
        assert [client.post("/things", headers=headers).status_code for _ in range(3)] == [201] * 3
        assert [client.get("/things/x", headers=headers).status_code for _ in range(3)] == [404] * 3
    warned = [r for r in caplog.records if "rate limit storage unreachable" in r.getMessage()]
    assert len(warned) == 1, "logged once a minute, not per request"


def test_every_secured_operation_declares_429_with_retry_after(
    client: TestClient,
) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    for path, method in (("/things/{thing_id}", "get"), ("/things", "post")):
        declared = paths[path][method]["responses"]["429"]
        assert "Retry-After" in declared["headers"]
        assert "application/problem+json" in declared["content"]
