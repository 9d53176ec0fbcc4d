"""Bearer-token verification, in one place, identical locally and in AWS.

Tokens are RS256 JWTs: in AWS the Cognito user pool's ID tokens, locally tokens signed with a key
the local stack generates. PyJWT checks the header, signature (through `cryptography`, PyJWT's
`crypto` extra), expiry, issuer, audience and required claims; this module adds what PyJWT leaves
to its caller: where the keys come from, which keys are sound, and Cognito's `token_use`
(docs/adr/0004-token-verification.md). PyJWT and `cryptography` are imported when a token is
verified, never when this module is: public routes do not load them.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import ipaddress
import json
import logging
import math
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from marketplace.errors import Forbidden, ServiceUnavailable, Unauthorized
from marketplace.observability import log
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.auth")

ROLES = ("admin", "regulator", "owner", "agency")
# Cognito carries the group in `cognito:groups` and our attributes as `custom:*`; local tokens use
# the same names so that one code path reads both.
GROUPS_CLAIM = "cognito:groups"
ORG_CLAIM = "custom:org_id"
INDUSTRIES_CLAIM = "custom:industries"
# Cognito marks its ID tokens `id` and its access tokens `access`; the platform reads ID tokens.
TOKEN_USE = "id"
JWKS_TTL_SECONDS = 3600
# An unknown kid refetches the keys at most this often per execution environment: a flood of tokens
# naming made-up kids must not become a flood of requests to the identity provider.
UNKNOWN_KID_REFETCH_SECONDS = 60
# After a failed fetch, no other is tried for 5 s, doubling with each failure up to a minute.
BACKOFF_FIRST_SECONDS = 5
BACKOFF_MAX_SECONDS = 60
MIN_MODULUS_BITS = 2048
MAX_MODULUS_BITS = 8192
_LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the user (`subject`), their role and the organisation they act for."""

    subject: str
    role: str
    org_id: str
    industries: tuple[str, ...] = field(default=())
    name: str = ""

    def is_admin(self) -> bool:
        return self.role == "admin"

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "role": self.role,
            "org_id": self.org_id,
            "industries": list(self.industries),
            "name": self.name,
        }


class _JwksCache:
    """The signing keys, fetched once per execution environment; refetched after an hour, or on an
    unknown kid at most once a minute; after a failed fetch, none is tried until a back-off ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None  # monotonic time of the last successful fetch
        self._source = ""
        self._failures = 0  # fetches failed in a row
        self._retry_at = 0.0  # no fetch before this monotonic time

    def key(self, kid: str) -> dict[str, Any]:
        source = get_settings().jwks_url
        if not source:
            # The deployment's fault, not the caller's: a 500 with a correlation id, logged.
            raise RuntimeError("token verification is not configured (JWKS_URL is empty)")
        with self._lock:
            if source != self._source:
                self.clear()
                self._source = source
            if self._wants_fetch(kid):
                self._refresh(source, kid)
            found = self._keys.get(kid)
        if found is None:
            raise Unauthorized("token signed with an unknown key")
        return found

    def _wants_fetch(self, kid: str) -> bool:
        now = time.monotonic()
        if self._fetched_at is None or now - self._fetched_at > JWKS_TTL_SECONDS:
            return True
        return kid not in self._keys and now - self._fetched_at >= UNKNOWN_KID_REFETCH_SECONDS

    def _refresh(self, source: str, kid: str) -> None:
        now = time.monotonic()
        held = kid in self._keys
        if now < self._retry_at:
            if held:
                return  # keys we had: valid an hour ago, better than none while the source is down
            raise ServiceUnavailable(
                "the token signing keys cannot be fetched just now",
                retry_after=math.ceil(self._retry_at - now),
            )
        try:
            self._keys = _fetch_jwks(source)
        except ServiceUnavailable as exc:
            wait = min(BACKOFF_FIRST_SECONDS * 2 ** min(self._failures, 8), BACKOFF_MAX_SECONDS)
            self._failures += 1
            self._retry_at = now + wait
            log(logger, logging.WARNING, "token signing keys could not be fetched", retry_in_seconds=wait)
            if not held:
                raise ServiceUnavailable(
                    "the token signing keys cannot be fetched just now", retry_after=wait
                ) from exc
        else:
            self._fetched_at, self._failures, self._retry_at = now, 0, 0.0

    def clear(self) -> None:
        self._keys, self._fetched_at, self._source = {}, None, ""
        self._failures = 0
        self._retry_at = 0.0


def _checked_jwks_url(source: str) -> str:
    """`source` when it may serve the signing keys: https to a named host with no user info; or,
    where the local stack sets JWKS_ALLOW_INSECURE_LOCAL, its own file:// or loopback http:// URL.
    Parsed, never matched by prefix (`http://localhost@evil.example/` is a request to evil.example)."""
    try:
        url = urllib.parse.urlsplit(source)
        host, _ = url.hostname, url.port  # port raises ValueError when it is not a number
    except ValueError as exc:
        raise RuntimeError(
            f"token verification is misconfigured: JWKS_URL {source!r} does not parse"
        ) from exc
    if url.username is not None or url.password is not None or "@" in url.netloc:
        raise RuntimeError(f"token verification is misconfigured: JWKS_URL {source!r} carries user info")
    if url.scheme == "https" and host:
        return source
    if url.scheme in ("http", "file"):
        local = url.scheme == "file" and host in (None, "", "localhost")
        local = local or (url.scheme == "http" and host is not None and _loopback(host))
        if not local:
            raise RuntimeError(f"token verification is misconfigured: JWKS_URL {source!r} is not https")
        if not get_settings().jwks_allow_insecure_local:
            raise RuntimeError(
                f"token verification is misconfigured: JWKS_URL {source!r} is not https; the local "
                "stack's own URL is allowed only with JWKS_ALLOW_INSECURE_LOCAL=true"
            )
        return source
    raise RuntimeError(f"token verification is misconfigured: JWKS_URL {source!r} is not https to a host")


def _loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _fetch_jwks(source: str) -> dict[str, dict[str, Any]]:
    url = _checked_jwks_url(source)
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - scheme and host checked
            document = json.loads(response.read())
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # Not the token's fault: the caller should retry, not sign in again. A broken HTTP answer
        # (IncompleteRead, BadStatusLine) is no OSError, yet backs off as a failed fetch.
        raise ServiceUnavailable("the token signing keys cannot be fetched just now", retry_after=5) from exc
    listed = document.get("keys", []) if isinstance(document, dict) else []
    keys = {}
    for jwk in listed if isinstance(listed, list) else []:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not isinstance(jwk.get("kid"), str):
            continue
        defect = _rsa_key_defect(jwk)
        if defect:
            log(logger, logging.WARNING, "JWKS key refused", kid=jwk["kid"], reason=defect)
            continue
        keys[jwk["kid"]] = jwk
    return keys


def _jwk_int(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")
    except (binascii.Error, ValueError):
        return None


def _rsa_key_defect(jwk: dict[str, Any]) -> str:
    """Why an RSA JWK cannot sign our tokens, or "" when it can: a small or even exponent (with e = 1
    anyone can forge a signature), a modulus too short to resist factoring, or one so long that
    each check would cost a request's budget; or a key its set publishes for something else than
    verifying RS256 signatures (RFC 7517 `use`, `alg`, `key_ops`, each checked where present)."""
    if "use" in jwk and jwk["use"] != "sig":
        return f"published for use {jwk['use']!r}, not 'sig'"
    if "alg" in jwk and jwk["alg"] != "RS256":
        return f"published for algorithm {jwk['alg']!r}, not 'RS256'"
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        return f"its key_ops {ops!r} do not include 'verify'"
    n, e = _jwk_int(jwk.get("n")), _jwk_int(jwk.get("e"))
    if n is None or e is None:
        return "n or e is missing or not base64url"
    if e < 3 or e % 2 == 0:
        return f"public exponent {e} is below 3 or even"
    if n.bit_length() < MIN_MODULUS_BITS:
        return f"modulus of {n.bit_length()} bits is shorter than {MIN_MODULUS_BITS}"
    if n.bit_length() > MAX_MODULUS_BITS:
        return f"modulus of {n.bit_length()} bits is longer than {MAX_MODULUS_BITS}"
    return ""


_jwks = _JwksCache()


def clear_key_cache() -> None:
    with _jwks._lock:
        _jwks.clear()


def verify_token(token: str) -> Principal:
    """Check a bearer token and return its principal; any defect is a 401 saying which."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from jwt.algorithms import RSAAlgorithm

    settings = get_settings()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized("malformed bearer token") from exc
    if header.get("alg") != "RS256":
        raise Unauthorized("token algorithm must be RS256")
    if not settings.token_issuer:
        # Fail closed, as PyJWT does for an empty audience: with no issuer set, any issuer would pass.
        log(logger, logging.ERROR, "TOKEN_ISSUER is empty: every token is refused")
        raise Unauthorized("token issuer is not accepted")
    jwk = _jwks.key(str(header.get("kid", "")))
    try:
        # The public members only: a key set that leaked a private exponent still verifies, nothing more.
        key = RSAAlgorithm.from_jwk({"kty": "RSA", "n": jwk["n"], "e": jwk["e"]})
        if not isinstance(key, RSAPublicKey):
            raise Unauthorized("token signed with an unknown key")
        claims = jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            audience=settings.token_audience or None,
            issuer=settings.token_issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            leeway=30,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token has expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthorized("token audience is not accepted") from exc
    except jwt.InvalidIssuerError as exc:
        raise Unauthorized("token issuer is not accepted") from exc
    except jwt.InvalidSignatureError as exc:
        raise Unauthorized("token signature is not valid") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"token rejected: {exc}") from exc
    if "token_use" in claims and claims["token_use"] != TOKEN_USE:
        raise Unauthorized(f"token_use must be {TOKEN_USE!r} (an ID token), got {claims['token_use']!r}")
    return _principal(claims)


def _strings(claims: dict[str, Any], name: str, separator: str | None = None) -> list[str]:
    """A claim that lists strings: a JSON array of them, or one string (split on `separator`).
    Identity providers differ (Cognito sends custom attributes as strings); anything else is refused."""
    raw = claims.get(name)
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        parts = raw.split(separator) if separator else [raw]
    elif isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        parts = raw
    else:
        raise Unauthorized(f"token claim {name} must be a string or a list of strings")
    return [p.strip() for p in parts if p.strip()]


def _principal(claims: dict[str, Any]) -> Principal:
    roles = [g for g in _strings(claims, GROUPS_CLAIM) if g in ROLES]
    if len(roles) != 1:
        raise Forbidden("the token must carry exactly one role (admin, regulator, owner or agency)")
    role = roles[0]
    org_id = claims.get(ORG_CLAIM, "")
    if not isinstance(org_id, str):
        raise Unauthorized(f"token claim {ORG_CLAIM} must be a string")
    if role in ("owner", "agency", "regulator") and not org_id:
        raise Forbidden(f"a {role} token must carry an organisation id ({ORG_CLAIM})")
    industries = tuple(_strings(claims, INDUSTRIES_CLAIM, separator=","))
    return Principal(
        subject=str(claims["sub"]),
        role=role,
        org_id=org_id,
        industries=industries,
        name=str(claims.get("name", "")),
    )


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header; None when there is no header."""
    if authorization is None or authorization.strip() == "":
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def require_role(principal: Principal | None, roles: tuple[str, ...]) -> Principal:
    if principal is None:
        raise Unauthorized("this operation needs a bearer token")
    if principal.role not in roles:
        raise Forbidden(f"this operation is for {', '.join(roles)}; the caller is {principal.role}")
    return principal
