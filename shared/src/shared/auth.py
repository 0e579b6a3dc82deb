"""Bearer-token authentication and scope/area authorisation shared by every service.

Tokens are OAuth2 access tokens in JWT form (RFC 9068 style), verified for signature, ``iss``,
``aud`` and ``exp`` (required), a lifetime of at most ``auth_max_token_lifetime_s`` (``exp``
after ``iat`` and after now) and the ``typ`` header (``at+jwt``; with ``auth_require_at_jwt``
off, also ``JWT`` or none). Keys come, in order of precedence, from the identity provider's
JWKS endpoint (``auth_jwks_url``), a PEM public key (``auth_public_key``), or, in development
only, the HMAC secret (``auth_jwt_secret``).

Claims read from a verified token:

- ``sub``: who the caller is;
- ``scope``: space-separated scopes (or ``scp``: a list), each one of :data:`SCOPES`;
- ``area``: optional administrative area code (district, street or community) confining the
  token to that area's subtree; without it the token covers the whole platform.

In a FastAPI app::

    install_auth(app, settings)

    @router.get("/residents/{resident_id}")
    async def get_resident(
        principal: Annotated[Principal, Depends(require_scopes("registry:read"))], ...
    ):
        resident = ...
        ensure_area(principal, resident.area_path)  # 404 outside the caller's area

Token contents are never logged; only the reason a token was refused, aggregated
(:class:`RefusalLog`: one line per reason per ``auth_refusal_log_interval_s``, and the counter
``shequ_auth_refusals_total{reason}``). A JWKS endpoint is downloaded again for an unknown key id
at most once per ``auth_jwks_refetch_interval_s``. Authenticated requests pass the per-subject
rate limits of :mod:`shared.ratelimit` (``app.state.rate_limits``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio.to_thread
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import Counter

from shared import errors
from shared.ratelimit import RateLimits
from shared.settings import ServiceSettings

logger = logging.getLogger(__name__)

SCOPES: Mapping[str, str] = {
    "registry:read": "Read residents, households and the administrative area tree.",
    "registry:write": "Register, update and move residents and households.",
    "casework:read": "Read cases, their history and assignments.",
    "casework:write": "Open, assign, update and close cases.",
    "casework:admin": "Edit the casework matter catalogue and the working-day calendar.",
    "employment:read": "Read job seekers, vacancies and placements.",
    "employment:write": "Record job seekers, vacancies, referrals and placements.",
    "eldercare:read": "Read elderly residents' care plans and visits.",
    "eldercare:write": "Create care plans and record visits.",
    "metrics:read": "Read indicators, targets and dashboards.",
    "metrics:write": "Set indicator targets.",
    "pii:read": "See unmasked national id numbers (otherwise masked in responses).",
    "audit:read": "Read the audit log of who read or changed personal data (`GET /audit`).",
}
"""Every scope the platform knows, with what it allows."""

ALL_SCOPES: frozenset[str] = frozenset(SCOPES)
"""The names of every scope in :data:`SCOPES`."""

PII_READ = "pii:read"
AUDIT_READ = "audit:read"
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
"""``typ`` header values of an RFC 9068 access token (compared case-insensitively)."""
GENERIC_TOKEN_TYPES = frozenset({"jwt"})
"""``typ`` values also accepted unless ``auth_require_at_jwt`` is on."""

AUTH_REFUSALS = Counter(
    "shequ_auth_refusals_total",
    "Requests refused for their bearer token, by reason (missing, expired, signature, ...).",
    ["service", "reason"],
)

TOKEN_CACHE_TTL_S = 30.0
"""Seconds a verified token is trusted without verifying its signature again."""
TOKEN_CACHE_ENTRIES = 4096
"""Verified tokens remembered at most (per service process)."""

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
JWKS_DEFAULT_ALGORITHMS = ("RS256", "ES256")
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]

_RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_EC_ALGORITHM_BY_CURVE = {
    "secp256r1": "ES256",
    "secp384r1": "ES384",
    "secp521r1": "ES512",
    "secp256k1": "ES256K",
}

PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)
KeySource = Literal["jwks", "public_key", "hmac"]


class AuthConfigError(ValueError):
    """The authentication settings cannot be used (e.g. the HMAC secret outside development)."""


class AuthUnavailable(errors.Problem):
    """The identity provider's keys could not be fetched (503); the token may well be valid."""

    status, title, code = 503, "Authentication unavailable", "auth-unavailable"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: who, which scopes, and which area (None: the whole platform)."""

    subject: str
    scopes: frozenset[str]
    area: str | None = None

    def has_scope(self, scope: str) -> bool:
        """Whether the token grants ``scope``."""
        return scope in self.scopes

    def has_scopes(self, *scopes: str) -> bool:
        """Whether the token grants every one of ``scopes``."""
        return self.scopes.issuperset(scopes)

    def may_access(self, area_path: Sequence[str]) -> bool:
        """Whether a resource in ``area_path`` (area ids from the city down to the resource's
        own area) lies inside this principal's area."""
        if isinstance(area_path, str):
            raise TypeError("area_path must be a sequence of area ids, not a single string")
        return self.area is None or self.area in area_path


# --- verification ---------------------------------------------------------------------------


class TokenVerifier:
    """Verifies bearer JWTs against the configured key source and turns them into principals.

    Raises :class:`AuthConfigError` at construction when the settings cannot be used safely.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.issuer = settings.auth_issuer
        self.audience = settings.auth_audience
        self.leeway_s = settings.auth_leeway_s
        self.max_lifetime_s = settings.auth_max_token_lifetime_s
        self.require_at_jwt = settings.auth_require_at_jwt
        self.verified = VerifiedTokens()
        self.refusals = RefusalLog(
            settings.service_name, interval_s=settings.auth_refusal_log_interval_s
        )
        self._jwks_client: jwt.PyJWKClient | None = None
        self._key: PublicKey | str | None = None
        configured = list(dict.fromkeys(settings.auth_algorithms))
        asymmetric = [alg for alg in configured if alg not in HMAC_ALGORITHMS and alg != "none"]

        self.key_source: KeySource
        self.algorithms: list[str]
        if settings.auth_jwks_url:
            self.key_source = "jwks"
            self.algorithms = asymmetric or list(JWKS_DEFAULT_ALGORITHMS)
            self._jwks_client = jwt.PyJWKClient(
                settings.auth_jwks_url,
                cache_keys=True,
                lifespan=300,
                timeout=5,
                cooldown_duration=settings.auth_jwks_refetch_interval_s,
            )
        elif settings.auth_public_key:
            self.key_source = "public_key"
            public_key = _load_public_key(settings.auth_public_key)
            self.algorithms = _algorithms_for_key(public_key, configured)
            self._key = public_key
        else:
            self.key_source = "hmac"
            if not settings.is_development:
                raise AuthConfigError(
                    settings.environment_refusal(
                        "The HMAC development token secret (AUTH_JWT_SECRET)",
                        "Configure real signing keys: AUTH_JWKS_URL or AUTH_PUBLIC_KEY, with "
                        "AUTH_ALGORITHMS='[\"RS256\"]'.",
                    )
                )
            self.algorithms = [alg for alg in configured if alg in HMAC_ALGORITHMS]
            if not self.algorithms:
                raise AuthConfigError(
                    f"auth_algorithms {configured} need a public key: set auth_public_key or "
                    "auth_jwks_url, or include HS256 to use the development secret."
                )
            self._key = settings.auth_jwt_secret.get_secret_value()

    @property
    def fetches_keys(self) -> bool:
        """Whether verifying may fetch keys over the network (JWKS), i.e. may block."""
        return self._jwks_client is not None

    def verify(self, token: str) -> Principal:
        """The principal of a valid ``token`` (from :attr:`verified` when it was verified
        moments ago).

        Raises :class:`shared.errors.Unauthorized` (``invalid_token``) for any invalid token and
        :class:`AuthUnavailable` when the JWKS endpoint cannot be reached. Every refusal is
        counted and logged by :attr:`refusals`.
        """
        cached = self.verified.get(token)
        if cached is not None:
            return cached
        try:
            key: PublicKey | str | jwt.PyJWK
            if self._jwks_client is not None:
                key = self._jwks_client.get_signing_key_from_jwt(token)
            else:
                assert self._key is not None
                key = self._key
            decoded = jwt.decode_complete(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWKClientConnectionError as exc:
            logger.warning("auth: JWKS endpoint unreachable (%s)", type(exc).__name__)
            raise AuthUnavailable("The identity provider's signing keys are unavailable.") from None
        except jwt.PyJWTError as exc:
            raise self.refuse(*_refusal_reason(exc)) from None
        claims: dict[str, Any] = decoded["payload"]
        self._check_type(decoded["header"])
        self._check_lifetime(claims)
        try:
            principal = principal_from_claims(claims)
        except errors.Unauthorized as exc:
            self.refusals.refused("claims")
            raise exc from None
        self.verified.put(token, principal, expires_at=float(claims["exp"]))
        return principal

    def refuse(self, reason: str, detail: str) -> errors.Unauthorized:
        """Count and log a refusal for ``reason`` (a short code) and give its 401."""
        self.refusals.refused(reason)
        return invalid_token(detail)

    def _check_type(self, header: Mapping[str, Any]) -> None:
        """RFC 9068: an access token's ``typ`` is ``at+jwt``; another type is another kind of
        token (an ID token, a logout token) and is refused."""
        kind = header.get("typ")
        if isinstance(kind, str) and kind.lower() in ACCESS_TOKEN_TYPES:
            return
        generic = kind is None or (isinstance(kind, str) and kind.lower() in GENERIC_TOKEN_TYPES)
        if generic and not self.require_at_jwt:
            return
        raise self.refuse("type", "The token is not an access token (typ must be at+jwt).")

    def _check_lifetime(self, claims: Mapping[str, Any]) -> None:
        """Refuse a token that lives longer than ``max_lifetime_s``: from ``iat`` to ``exp``,
        or from now to ``exp`` (a token without ``iat``, or one issued for the future)."""
        expires = float(claims["exp"])
        issued = claims.get("iat")
        too_long = expires - time.time() > self.max_lifetime_s + self.leeway_s
        if isinstance(issued, int | float) and not isinstance(issued, bool):
            too_long = too_long or expires - float(issued) > self.max_lifetime_s
        if too_long:
            raise self.refuse(
                "lifetime",
                f"The token lives longer than {self.max_lifetime_s} s, the most accepted.",
            )


class RefusalLog:
    """Counts refused tokens by reason (``shequ_auth_refusals_total``) and logs them without
    flooding: the first refusal of a reason at once, then at most one line per reason per
    ``interval_s``, saying how many were refused since the previous line. Thread-safe (JWKS
    verification runs in worker threads). The counter is exact; the log lines are a summary.
    """

    def __init__(
        self,
        service: str,
        *,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}
        self._next_line: dict[str, float] = {}
        self._counters: dict[str, Any] = {}

    def refused(self, reason: str) -> None:
        """Record one refusal for ``reason``."""
        counter = self._counters.get(reason)
        if counter is None:
            counter = self._counters[reason] = AUTH_REFUSALS.labels(self.service, reason)
        counter.inc()
        now = self._clock()
        with self._lock:
            count = self._pending.get(reason, 0) + 1
            if now < self._next_line.get(reason, 0.0):
                self._pending[reason] = count
                return
            self._pending[reason] = 0
            self._next_line[reason] = now + self.interval_s
        logger.info(
            "auth: %d token(s) refused (%s) since the last such line",
            count,
            reason,
            extra={"reason": reason, "count": count},
        )


class VerifiedTokens:
    """Principals of recently verified tokens, keyed by the token's exact text.

    An entry is served for at most ``ttl_s`` seconds and never at or after the token's own
    ``exp``, so the cache never accepts a token that verification would refuse as expired,
    and a token whose signing key was withdrawn stops working within ``ttl_s``. Only tokens
    that verified are stored; at ``max_entries`` the oldest entry makes room.
    """

    def __init__(
        self,
        *,
        ttl_s: float = TOKEN_CACHE_TTL_S,
        max_entries: int = TOKEN_CACHE_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, token: str) -> Principal | None:
        """The principal ``token`` verified to, if it did so recently and has not expired."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        principal, until = entry
        if self._clock() < until:
            return principal
        self._entries.pop(token, None)
        return None

    def put(self, token: str, principal: Principal, *, expires_at: float) -> None:
        """Remember that ``token`` verified to ``principal``; it expires at ``expires_at``."""
        if self.ttl_s <= 0 or self.max_entries <= 0:
            return
        until = min(expires_at, self._clock() + self.ttl_s)
        if token not in self._entries and len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)), None)
        self._entries[token] = (principal, until)


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal described by already verified ``claims``; Unauthorized when malformed."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise invalid_token("The token has no valid subject.")
    area = claims.get("area")
    if area is not None and (not isinstance(area, str) or not area):
        raise invalid_token("The token's area claim is not an area code.")
    return Principal(subject=subject, scopes=_scopes_from_claims(claims), area=area)


def _scopes_from_claims(claims: Mapping[str, Any]) -> frozenset[str]:
    raw = claims["scope"] if "scope" in claims else claims.get("scp")
    if raw is None:
        return frozenset()
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return frozenset(raw)
    raise invalid_token("The token's scope claim is malformed.")


def _refusal_reason(exc: jwt.PyJWTError) -> tuple[str, str]:
    """A short reason code (a metric label) and a fixed, token-free description of why a
    token was refused."""
    match exc:
        case jwt.ExpiredSignatureError():
            return "expired", "The token has expired."
        case jwt.ImmatureSignatureError():
            return "not-yet-valid", "The token is not valid yet."
        case jwt.InvalidSignatureError():
            return "signature", "The token's signature is invalid."
        case jwt.InvalidIssuerError():
            return "issuer", "The token was issued by an unexpected issuer."
        case jwt.InvalidAudienceError():
            return "audience", "The token is not meant for this audience."
        case jwt.MissingRequiredClaimError():
            return "claims", f"The token lacks the required {exc.claim!r} claim."
        case jwt.InvalidAlgorithmError():
            return "algorithm", "The token is signed with an algorithm that is not accepted."
        case jwt.PyJWKClientError():
            return "unknown-key", "The token is signed with a key the issuer does not publish."
        case jwt.DecodeError():
            return "malformed", "The token is malformed."
        case _:
            return "invalid", "The token is invalid."


def _load_public_key(pem: str) -> PublicKey:
    text = pem.replace("\\n", "\n") if "\\n" in pem and "\n" not in pem else pem
    try:
        key = load_pem_public_key(text.strip().encode())
    except ValueError as exc:
        raise AuthConfigError("auth_public_key is not a PEM public key.") from exc
    if isinstance(
        key,
        rsa.RSAPublicKey
        | ec.EllipticCurvePublicKey
        | ed25519.Ed25519PublicKey
        | ed448.Ed448PublicKey,
    ):
        return key
    raise AuthConfigError(
        f"auth_public_key is a {type(key).__name__}; use an RSA, EC or Ed25519 public key."
    )


def _algorithms_for_key(key: PublicKey, configured: Sequence[str]) -> list[str]:
    """The configured algorithms this key can verify; the key's usual one when only HMAC
    algorithms (the development default) are configured."""
    if isinstance(key, rsa.RSAPublicKey):
        compatible: Sequence[str] = _RSA_ALGORITHMS
    elif isinstance(key, ec.EllipticCurvePublicKey):
        curve_algorithm = _EC_ALGORITHM_BY_CURVE.get(key.curve.name)
        if curve_algorithm is None:
            raise AuthConfigError(f"auth_public_key uses the unsupported curve {key.curve.name}.")
        compatible = (curve_algorithm,)
    else:
        compatible = ("EdDSA",)
    usable = [alg for alg in configured if alg in compatible]
    if usable:
        return usable
    if all(alg in HMAC_ALGORITHMS for alg in configured):
        return [compatible[0]]
    raise AuthConfigError(
        f"auth_algorithms {list(configured)} cannot be verified with the configured "
        f"auth_public_key; it supports {list(compatible)}."
    )


# --- errors -----------------------------------------------------------------------------------


def invalid_token(detail: str = "The bearer token is invalid.") -> errors.Unauthorized:
    """A 401 for a present but unusable token (RFC 6750 ``invalid_token``)."""
    return errors.Unauthorized(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def missing_token() -> errors.Unauthorized:
    """A 401 for a request without bearer credentials (RFC 6750: no error code)."""
    return errors.Unauthorized(
        "A bearer token is required.", headers={"WWW-Authenticate": "Bearer"}
    )


# --- FastAPI integration ----------------------------------------------------------------------

_bearer_scheme = HTTPBearer(auto_error=False, description="OAuth2 access token (JWT).")
"""Declares the bearer security scheme in OpenAPI; the header itself is parsed below."""


def install_auth(app: FastAPI, settings: ServiceSettings) -> TokenVerifier:
    """Build the token verifier for ``settings`` and keep it in ``app.state.token_verifier``,
    and the per-subject rate limits in ``app.state.rate_limits``."""
    verifier = TokenVerifier(settings)
    app.state.token_verifier = verifier
    app.state.rate_limits = RateLimits(
        writes=settings.rate_limit_writes,
        not_found=settings.rate_limit_not_found,
        storage_uri=settings.rate_limit_storage_uri,
    )
    logger.info(
        "auth: verifying bearer tokens with %s keys, algorithms %s, issuer %r, audience %r",
        verifier.key_source,
        verifier.algorithms,
        verifier.issuer,
        verifier.audience,
    )
    return verifier


def bearer_token(request: Request) -> str | None:
    """The bearer token of ``request``, or None without an ``Authorization: Bearer`` header."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip()


async def authenticate(request: Request) -> Principal:
    """The caller of ``request``, or 401 without a valid bearer token (the work of
    :func:`current_principal` and :func:`require_scopes`); 429 when the caller is over a rate
    limit (:mod:`shared.ratelimit`), which counts this request if it is a write."""
    state = request.app.state
    verifier = getattr(state, "token_verifier", None)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError("No token verifier: call shared.auth.install_auth(app, settings).")
    token = bearer_token(request)
    if token is None:
        verifier.refusals.refused("missing")
        raise missing_token()
    if not token:
        raise verifier.refuse("malformed", "The bearer token is empty.")
    principal = verifier.verified.get(token)  # no thread hop for a token verified just now
    if principal is None:
        if verifier.fetches_keys:
            principal = await anyio.to_thread.run_sync(verifier.verify, token)
        else:
            principal = verifier.verify(token)
    request.state.principal = principal
    limits: RateLimits | None = getattr(state, "rate_limits", None)
    if limits is not None:
        await limits.check(principal.subject, request.method)
    return principal


async def current_principal(
    request: Request,
    _openapi: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)] = None,
) -> Principal:
    """FastAPI dependency: the caller of ``request``, or 401 without a valid bearer token."""
    return await authenticate(request)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
"""The authenticated caller, for route parameters: ``principal: CurrentPrincipal``."""


class ScopedBearer(HTTPBearer):
    """The dependency :func:`require_scopes` gives: the bearer security scheme itself (so
    OpenAPI declares it exactly as for :data:`CurrentPrincipal`), authenticating the caller
    and checking the scopes in one step. FastAPI solves each dependency of a route on every
    request, so one dependency here instead of a chain of three is measurably cheaper."""

    def __init__(self, scopes: Sequence[str]) -> None:
        super().__init__(
            auto_error=False,
            scheme_name=_bearer_scheme.scheme_name,
            description=_bearer_scheme.model.description,
        )
        self.scopes = tuple(scopes)
        self.required = " ".join(scopes)
        self._challenge = f'Bearer error="insufficient_scope", scope="{self.required}"'

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        """The caller of ``request``: 401 without a valid token, 403 without the scopes."""
        principal = await authenticate(request)
        if not principal.has_scopes(*self.scopes):
            raise errors.Forbidden(
                f"This action needs the scopes: {self.required}.",
                headers={"WWW-Authenticate": self._challenge},
            )
        return principal

    def __repr__(self) -> str:
        return f"require_scopes({self.required})"


def require_scopes(*scopes: str) -> ScopedBearer:
    """A dependency giving the caller when its token grants every one of ``scopes``, else 403.

    Use as ``Annotated[Principal, Depends(require_scopes("registry:write"))]`` or in a route's
    ``dependencies=[Depends(require_scopes(...))]``. Unknown scopes fail at declaration.
    """
    unknown = [scope for scope in scopes if scope not in ALL_SCOPES]
    if unknown:
        raise ValueError(f"Unknown scopes {unknown}; the catalogue is shared.auth.SCOPES.")
    return ScopedBearer(scopes)


def ensure_area(principal: Principal, area_path: Sequence[str]) -> None:
    """Raise :class:`shared.errors.NotFound` when the resource in ``area_path`` lies outside the
    principal's area (404 rather than 403 so its existence is not revealed)."""
    if not principal.may_access(area_path):
        raise errors.NotFound()


# --- minting (development and tests) ----------------------------------------------------------


def mint_token(
    settings: ServiceSettings,
    *,
    subject: str,
    scopes: Iterable[str],
    area: str | None = None,
    ttl_s: int = 3600,
) -> str:
    """A token signed HS256 with the development secret, for dev tooling and tests.

    ``scopes`` may also be one space-separated string. They are not checked against the
    catalogue. Refused outside development, where services do not accept the secret anyway.
    """
    if not settings.is_development:
        raise AuthConfigError(
            settings.environment_refusal(
                "Minting a development token", "Services outside development do not accept one."
            )
        )
    scope_names = scopes.split() if isinstance(scopes, str) else scopes
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.auth_issuer,
        "aud": settings.auth_audience,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
        "jti": str(uuid.uuid4()),
        "scope": " ".join(sorted(set(scope_names))),
    }
    if area is not None:
        claims["area"] = area
    return jwt.encode(
        claims,
        settings.auth_jwt_secret.get_secret_value(),
        algorithm="HS256",
        headers={"typ": "at+jwt"},
    )
