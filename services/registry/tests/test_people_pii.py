"""Unit tests of national id protection: encryption, keyed hash, key rotation, refusal of the
development keys outside development (no I/O)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from registry.app import create_app
from registry.pii import (
    ASSOCIATED_DATA,
    PiiConfigError,
    PiiDecryptionError,
    PiiProtector,
    key_id,
)
from registry.settings import Settings

NUMBER = "11010519491231002X"


def new_key() -> bytes:
    return os.urandom(32)


def b64(key: bytes) -> SecretStr:
    return SecretStr(base64.b64encode(key).decode())


def protector(*keys: bytes, hash_key: bytes = b"h" * 32) -> PiiProtector:
    return PiiProtector(encryption_keys=list(keys), hash_key=hash_key)


OWNER = "resident-1"


def legacy_value(key: bytes) -> str:
    """A value as stored before numbers were bound to their resident."""
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, NUMBER.encode(), ASSOCIATED_DATA)
    return f"{key_id(key)}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def test_encryption_round_trips_with_a_fresh_nonce_and_never_shows_the_number() -> None:
    pii = protector(new_key())
    first, second = pii.encrypt(NUMBER, owner=OWNER), pii.encrypt(NUMBER, owner=OWNER)
    assert first != second  # random nonce
    assert pii.decrypt(first, owner=OWNER) == pii.decrypt(second, owner=OWNER) == NUMBER
    assert NUMBER not in first
    assert first.startswith(f"r1:{pii.current_key_id}:")
    raw = base64.urlsafe_b64decode(first.split(":", 2)[2])
    assert len(raw) == 12 + len(NUMBER) + 16  # nonce, ciphertext, tag


def test_a_value_is_bound_to_its_resident() -> None:
    pii = protector(new_key())
    stored = pii.encrypt(NUMBER, owner=OWNER)
    with pytest.raises(PiiDecryptionError):
        pii.decrypt(stored, owner="resident-2")  # copied into another resident's row


def test_values_from_before_the_binding_stay_readable_and_need_reencryption() -> None:
    key = new_key()
    pii = protector(key)
    before = legacy_value(key)
    assert pii.decrypt(before, owner=OWNER) == NUMBER
    assert pii.needs_reencryption(before)
    assert not pii.needs_reencryption(pii.encrypt(NUMBER, owner=OWNER))


def test_tampering_is_detected() -> None:
    pii = protector(new_key())
    stored = pii.encrypt(NUMBER, owner=OWNER)
    bound, prefix, body = stored.split(":", 2)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 1
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode()
    with pytest.raises(PiiDecryptionError):
        pii.decrypt(f"{bound}:{prefix}:{tampered}", owner=OWNER)
    with pytest.raises(PiiDecryptionError):
        pii.decrypt("r1:unknown1:" + body, owner=OWNER)
    with pytest.raises(PiiDecryptionError):
        pii.decrypt(f"{prefix}:{body}", owner=OWNER)  # unbound: the binding cannot be stripped


def test_keys_rotate_old_values_stay_readable() -> None:
    old_key, new = new_key(), new_key()
    before = protector(old_key).encrypt(NUMBER, owner=OWNER)
    rotated = protector(new, old_key)
    assert rotated.decrypt(before, owner=OWNER) == NUMBER
    assert rotated.needs_reencryption(before)
    after = rotated.encrypt(NUMBER, owner=OWNER)
    assert after.startswith(f"r1:{key_id(new)}:")
    assert not rotated.needs_reencryption(after)
    with pytest.raises(PiiDecryptionError):
        protector(new).decrypt(before, owner=OWNER)  # the old key was dropped


def test_lookup_hash_is_deterministic_and_keyed() -> None:
    key = new_key()
    first = protector(key, hash_key=b"a" * 32).lookup_hash(NUMBER)
    assert first == protector(new_key(), hash_key=b"a" * 32).lookup_hash(NUMBER)
    assert first != protector(key, hash_key=b"b" * 32).lookup_hash(NUMBER)
    assert len(first) == 64
    assert NUMBER not in first


def test_development_keys_work_in_development() -> None:
    pii = PiiProtector.from_settings(Settings(environment="development", _env_file=None))  # type: ignore[call-arg]
    assert pii.decrypt(pii.encrypt(NUMBER, owner=OWNER), owner=OWNER) == NUMBER


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_development_keys_are_refused_outside_development(environment: str) -> None:
    with pytest.raises(PiiConfigError, match="PII_ENCRYPTION_KEY"):
        PiiProtector.from_settings(Settings(environment=environment, _env_file=None))  # type: ignore[call-arg]
    with pytest.raises(PiiConfigError, match="PII_HASH_KEY"):
        PiiProtector.from_settings(
            Settings(environment=environment, pii_encryption_key=b64(new_key()), _env_file=None)  # type: ignore[call-arg]
        )


def test_development_keys_are_refused_without_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    with pytest.raises(PiiConfigError) as refused:
        PiiProtector.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    message = str(refused.value)
    assert "ENVIRONMENT is not set (so 'production')" in message
    assert "Set PII_ENCRYPTION_KEY" in message
    assert "ENVIRONMENT=development" in message
    monkeypatch.setenv("ENVIRONMENT", "development")
    pii = PiiProtector.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    assert pii.decrypt(pii.encrypt(NUMBER, owner=OWNER), owner=OWNER) == NUMBER


def test_real_keys_and_retired_keys_from_settings() -> None:
    current, retired = new_key(), new_key()
    settings = Settings(
        environment="production",
        pii_encryption_key=b64(current),
        pii_retired_encryption_keys=[b64(retired)],
        pii_hash_key=b64(new_key()),
        _env_file=None,  # type: ignore[call-arg]
    )
    pii = PiiProtector.from_settings(settings)
    assert pii.current_key_id == key_id(current)
    assert pii.decrypt(protector(retired).encrypt(NUMBER, owner=OWNER), owner=OWNER) == NUMBER


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pii_encryption_key", SecretStr("not base64!"), "pii_encryption_key is not base64"),
        ("pii_encryption_key", SecretStr(base64.b64encode(b"short").decode()), "32 bytes"),
        ("pii_hash_key", SecretStr(base64.b64encode(b"short").decode()), "at least 32 bytes"),
    ],
)
def test_malformed_keys_are_refused(field: str, value: SecretStr, message: str) -> None:
    settings = Settings(**{field: value}, environment="development", _env_file=None)  # type: ignore[arg-type]
    with pytest.raises(PiiConfigError, match=message):
        PiiProtector.from_settings(settings)


async def test_the_app_refuses_to_start_with_the_development_keys_in_production(
    tmp_path: Path,
) -> None:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings = Settings(
        environment="production",
        auth_public_key=public_pem.decode(),
        auth_algorithms=["RS256"],
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}",
        _env_file=None,  # type: ignore[call-arg]
    )

    async def start() -> None:  # refused when the app is built or, at the latest, started
        async with LifespanManager(create_app(settings)):
            pass

    with pytest.raises(PiiConfigError, match="refused because ENVIRONMENT is 'production'"):
        await start()
    assert not (tmp_path / "registry.db").exists()  # refused before touching the database
