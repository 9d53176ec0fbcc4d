"""Bearer-token verification, in one place, identical locally and in AWS.

Tokens are RS256 JWTs: in AWS the Cognito user pool's ID tokens, locally tokens signed with a key
the local stack generates. PyJWT checks the header, expiry, issuer and audience; the RS256
signature itself is checked by `rs256.Rs256Verifier` registered into PyJWT, which keeps the 10 MB
`cryptography` wheel out of the Lambda layer (docs/adr/0004-token-verification.md).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from marketplace.errors import Forbidden, ServiceUnavailable, Unauthorized
from marketplace.settings import get_settings

ROLES = ("admin", "regulator", "owner", "agency")
# Cognito carries the group in `cognito:groups` and our attributes as `custom:*`; local tokens use
# the same names so that one code path reads both.
GROUPS_CLAIM = "cognito:groups"
ORG_CLAIM = "custom:org_id"
INDUSTRIES_CLAIM = "custom:industries"
JWKS_TTL_SECONDS = 3600


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
    """The signing keys, fetched once per execution environment and refreshed on an unknown kid."""

    def __init__(self) -> None:
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at = 0.0
        self._source = ""
        self._lock = threading.Lock()

    def key(self, kid: str) -> dict[str, Any]:
        source = get_settings().jwks_url
        if not source:
            # The deployment's fault, not the caller's: a 500 with a correlation id, logged.
            raise RuntimeError("token verification is not configured (JWKS_URL is empty)")
        with self._lock:
            stale = time.monotonic() - self._fetched_at > JWKS_TTL_SECONDS
            if source != self._source or stale or kid not in self._keys:
                try:
                    self._keys = _fetch_jwks(source)
                except ServiceUnavailable:
                    if not (source == self._source and kid in self._keys):
                        raise
                    # A refresh that fails keeps the keys we had: they were valid an hour ago.
                else:
                    self._fetched_at = time.monotonic()
                    self._source = source
            found = self._keys.get(kid)
        if found is None:
            raise Unauthorized("token signed with an unknown key")
        return found

    def clear(self) -> None:
        with self._lock:
            self._keys, self._fetched_at, self._source = {}, 0.0, ""


def _fetch_jwks(source: str) -> dict[str, dict[str, Any]]:
    if not source.startswith(("https://", "file://", "http://127.0.0.1", "http://localhost")):
        raise RuntimeError(f"token verification is misconfigured: JWKS_URL {source!r} is not https")
    try:
        with urllib.request.urlopen(source, timeout=3) as response:  # noqa: S310 - scheme checked above
            document = json.loads(response.read())
    except (OSError, ValueError) as exc:
        # Not the token's fault: the caller should retry, not sign in again.
        raise ServiceUnavailable("the token signing keys cannot be fetched just now", retry_after=5) from exc
    return {k["kid"]: k for k in document.get("keys", []) if k.get("kty") == "RSA" and "kid" in k}


_jwks = _JwksCache()


@lru_cache(maxsize=1)
def _decoder() -> Any:
    """A PyJWT decoder that knows RS256 only, through our verifier. Built on first use: public
    routes never load PyJWT."""
    import jwt
    from jwt.api_jws import PyJWS

    from marketplace.rs256 import Rs256Verifier

    jws = PyJWS(algorithms=["RS256"])
    if "RS256" in jws.get_algorithms():
        jws.unregister_algorithm("RS256")
    jws.register_algorithm("RS256", Rs256Verifier())
    decoder = jwt.PyJWT()
    # PyJWT wires its module-level decoder to a PyJWS the same way (jwt/api_jwt.py).
    decoder._jws = jws
    return decoder


def clear_key_cache() -> None:
    _jwks.clear()


def verify_token(token: str) -> Principal:
    """Check a bearer token and return its principal; any defect is a 401 saying which."""
    import jwt

    settings = get_settings()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized("malformed bearer token") from exc
    if header.get("alg") != "RS256":
        raise Unauthorized("token algorithm must be RS256")
    key = _jwks.key(str(header.get("kid", "")))
    try:
        claims = _decoder().decode(
            token,
            key=json.dumps(key),
            algorithms=["RS256"],
            audience=settings.token_audience or None,
            issuer=settings.token_issuer or None,
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
