"""Protection of national id numbers at rest: encryption, a keyed look-up hash, masking.

- **Encryption**: AES-256-GCM with a random 96-bit nonce per value, stored as
  ``r1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>``. The associated data binds the
  ciphertext to its resident (their id): a value copied into another resident's row fails
  authentication instead of showing the wrong number. The key id names the key that encrypted
  the value, so the key can be rotated: new values use ``pii_encryption_key``, older ones are
  still read with the keys in ``pii_retired_encryption_keys``. Values written before the
  binding (``<key id>:<…>``, bound to the purpose only) are still read, and
  :func:`registry.reencryption.reencrypt_national_ids` (run at every start) rewrites them,
  and values of retired keys, bound and under the current key.
- **Look-up hash**: HMAC-SHA256 of the normalised number with a separate key
  (``pii_hash_key``), for exact look-up and the unique constraint that detects duplicates
  without decrypting anything. Changing this key means re-hashing every row.
- **Masking**: ``110105************`` (the address code only) for callers without ``pii:read``.

Unless ``ENVIRONMENT=development`` (an unset one counts as production) the built-in
development keys are refused, the way :mod:`shared.auth` refuses the development token secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Annotated

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Depends, FastAPI, Request
from pydantic import SecretStr

from registry.domain.national_id import mask as mask_national_id
from registry.settings import (
    DEVELOPMENT_PII_ENCRYPTION_KEY,
    DEVELOPMENT_PII_HASH_KEY,
    Settings,
)

NONCE_BYTES = 12
KEY_BYTES = 32
ASSOCIATED_DATA = b"shequ.registry.resident.national_id"
"""Binds a ciphertext to its purpose: it cannot be passed off as another encrypted field."""
BOUND = "r1"
"""Prefix of values bound to their resident (associated data: purpose, NUL, resident id)."""

__all__ = ["PiiConfigError", "PiiDep", "PiiProtector", "install_pii", "mask_national_id"]


class PiiConfigError(ValueError):
    """The PII keys cannot be used (development keys outside development, malformed keys)."""


class PiiDecryptionError(RuntimeError):
    """A stored value could not be decrypted (unknown key id, or tampered with)."""


class PiiProtector:
    """Encrypts, decrypts and hashes national id numbers with the configured keys."""

    def __init__(self, *, encryption_keys: list[bytes], hash_key: bytes) -> None:
        """``encryption_keys[0]`` encrypts; every key decrypts the values it encrypted."""
        if not encryption_keys:
            raise PiiConfigError("at least one PII encryption key is needed")
        for key in encryption_keys:
            if len(key) != KEY_BYTES:
                raise PiiConfigError(f"a PII encryption key must be {KEY_BYTES} bytes")
        if len(hash_key) < KEY_BYTES:
            raise PiiConfigError(f"the PII hash key must be at least {KEY_BYTES} bytes")
        self._ciphers: Mapping[str, AESGCM] = {key_id(key): AESGCM(key) for key in encryption_keys}
        self.current_key_id = key_id(encryption_keys[0])
        self._hash_key = hash_key
        self._keyed_hash = hmac.new(hash_key, digestmod=hashlib.sha256)

    @classmethod
    def from_settings(cls, settings: Settings) -> PiiProtector:
        """The protector for ``settings``; refuses the development keys outside development."""
        encryption_key = settings.pii_encryption_key.get_secret_value()
        hash_key = settings.pii_hash_key.get_secret_value()
        if not settings.is_development:
            if encryption_key == DEVELOPMENT_PII_ENCRYPTION_KEY.get_secret_value():
                raise PiiConfigError(
                    settings.environment_refusal(
                        "The built-in development PII encryption key (PII_ENCRYPTION_KEY)",
                        "Set PII_ENCRYPTION_KEY to the base64 of 32 random bytes "
                        "(`openssl rand -base64 32`).",
                    )
                )
            if hash_key == DEVELOPMENT_PII_HASH_KEY.get_secret_value():
                raise PiiConfigError(
                    settings.environment_refusal(
                        "The built-in development PII hash key (PII_HASH_KEY)",
                        "Set PII_HASH_KEY to the base64 of 32 random bytes, another than "
                        "PII_ENCRYPTION_KEY.",
                    )
                )
        retired = [
            _decode_key("pii_retired_encryption_keys", item)
            for item in settings.pii_retired_encryption_keys
        ]
        current = _decode_key("pii_encryption_key", settings.pii_encryption_key)
        return cls(
            encryption_keys=[current, *retired],
            hash_key=_decode_key("pii_hash_key", settings.pii_hash_key),
        )

    def encrypt(self, plaintext: str, *, owner: str) -> str:
        """``r1:<key id>:<base64url(nonce ‖ ciphertext)>`` of ``plaintext`` with the current
        key, bound to ``owner`` (the resident's id)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.current_key_id].encrypt(
            nonce, plaintext.encode(), bound_to(owner)
        )
        encoded = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{BOUND}:{self.current_key_id}:{encoded}"

    def decrypt(self, stored: str, *, owner: str) -> str:
        """The plaintext of a value made by :meth:`encrypt` for ``owner`` with any configured
        key (or of a value written before the binding); :class:`PiiDecryptionError` when it
        belongs to another resident or was tampered with."""
        associated = ASSOCIATED_DATA
        if stored.startswith(BOUND + ":"):
            stored, associated = stored[len(BOUND) + 1 :], bound_to(owner)
        identifier, _, encoded = stored.partition(":")
        cipher = self._ciphers.get(identifier)
        if cipher is None:
            raise PiiDecryptionError(f"no PII encryption key with id {identifier!r} is configured")
        try:
            raw = base64.urlsafe_b64decode(encoded.encode())
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise PiiDecryptionError("a stored PII value failed authentication") from None

    def lookup_hash(self, normalised: str) -> str:
        """Keyed hash (HMAC-SHA256, hex) of a normalised national id number: a copy of the
        HMAC keyed once (a new ``hmac.HMAC`` a number costs half as much again; an import
        hashes every row)."""
        keyed = self._keyed_hash.copy()
        keyed.update(normalised.encode())
        return keyed.hexdigest()

    @property
    def fingerprint_key(self) -> bytes:
        """Key for fingerprints of requests carrying id numbers (Idempotency-Key records),
        derived from the hash key so the two uses never share a key."""
        return hmac.new(self._hash_key, b"shequ idempotency fingerprint", hashlib.sha256).digest()

    def needs_reencryption(self, stored: str) -> bool:
        """Whether ``stored`` was encrypted with a key other than the current one, or before
        values were bound to their resident."""
        return not stored.startswith(f"{BOUND}:{self.current_key_id}:")


def bound_to(owner: str) -> bytes:
    """The associated data of a value belonging to the resident ``owner``."""
    return ASSOCIATED_DATA + b"\0" + owner.encode()


def key_id(key: bytes) -> str:
    """A short public name for a key (not reversible to the key)."""
    return hashlib.sha256(b"shequ-pii-key-id\0" + key).hexdigest()[:8]


def _decode_key(setting: str, value: SecretStr) -> bytes:
    try:
        return base64.b64decode(value.get_secret_value().encode(), validate=True)
    except (binascii.Error, ValueError):
        raise PiiConfigError(f"{setting} is not base64") from None


def install_pii(app: FastAPI, settings: Settings) -> PiiProtector:
    """Build the protector for ``settings`` (raising :class:`PiiConfigError` when it cannot
    be used) and keep it in ``app.state.pii``."""
    protector = PiiProtector.from_settings(settings)
    app.state.pii = protector
    return protector


def pii_protector(request: Request) -> PiiProtector:
    """The app's PII protector (installed by :func:`install_pii`)."""
    protector = getattr(request.app.state, "pii", None)
    if not isinstance(protector, PiiProtector):
        raise RuntimeError("No PII protector: call registry.pii.install_pii(app, settings).")
    return protector


async def _pii_dependency(request: Request) -> PiiProtector:
    # Async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread.
    return pii_protector(request)


PiiDep = Annotated[PiiProtector, Depends(_pii_dependency)]
"""The app's :class:`PiiProtector`, for route parameters."""
