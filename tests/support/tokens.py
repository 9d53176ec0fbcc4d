"""Signing keys and tokens for tests: a real RS256 key pair, its JWKS, and tokens shaped like the
Cognito ID tokens the platform accepts."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://issuer.test/marketplace"
AUDIENCE = "marketplace-test-client"


def _b64(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKey:
        return cls(
            kid or uuid.uuid4().hex[:16], rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    def jwk(self) -> dict[str, str]:
        numbers = self.private.public_key().public_numbers()
        return {
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
            "n": _b64(numbers.n),
            "e": _b64(numbers.e),
        }

    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def write_jwks(self, path: Path) -> str:
        path.write_text(json.dumps({"keys": [self.jwk()]}))
        return path.resolve().as_uri()

    def token(
        self,
        role: str,
        org_id: str = "",
        *,
        industries: tuple[str, ...] = (),
        subject: str | None = None,
        ttl: int = 600,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        **overrides: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": subject or f"user-{role}-{org_id or 'platform'}",
            "iss": issuer,
            "aud": audience,
            "iat": now,
            "exp": now + ttl,
            "cognito:groups": [role],
            "custom:org_id": org_id,
            "token_use": "id",
        }
        if industries:
            claims["custom:industries"] = ",".join(industries)
        claims.update(overrides)
        return jwt.encode(claims, self.pem(), algorithm="RS256", headers={"kid": self.kid})
