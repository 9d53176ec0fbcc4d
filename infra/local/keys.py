"""The local token signing key: an RSA-2048 pair made on first run in the state dir, and its JWKS.

The API reads the JWKS through a file:// URL (`marketplace.auth` fetches it with urllib), so the
stack and `make token` share nothing but these two files.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.local.files import create_exclusively, write_atomically
from infra.local.naming import JWKS_FILE, PRIVATE_KEY_FILE


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64int(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class SigningKey:
    kid: str
    pem: bytes  # PKCS#8, unencrypted: a development key that never leaves the machine

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        key = serialization.load_pem_private_key(self.pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the local signing key is not an RSA key")
        return key


def public_jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    members = {"e": _b64int(numbers.e), "kty": "RSA", "n": _b64int(numbers.n)}
    # RFC 7638 thumbprint: the same key always gets the same kid.
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = _b64url(hashlib.sha256(canonical).digest())
    return {**members, "kid": kid, "alg": "RS256", "use": "sig"}


def ensure_signing_key(state_dir: Path) -> SigningKey:
    """Load the key pair from the state dir, making it on first run; (re)write the JWKS next to it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    pem_path = state_dir / PRIVATE_KEY_FILE
    if not pem_path.exists():
        generated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = generated.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Two stacks started at once in one checkout: the first key written is the one both use.
        create_exclusively(pem_path, pem, mode=0o600)
    key = SigningKey(kid="", pem=pem_path.read_bytes())
    jwk = public_jwk(key.private_key)
    write_atomically(state_dir / JWKS_FILE, json.dumps({"keys": [jwk]}, indent=2).encode())
    return SigningKey(kid=jwk["kid"], pem=key.pem)


def load_signing_key(state_dir: Path) -> SigningKey:
    """The key the running stack trusts; an error that says what to do when there is none yet."""
    pem_path = state_dir / PRIVATE_KEY_FILE
    if not pem_path.exists():
        raise FileNotFoundError(
            f"no local signing key in {state_dir}: start the local stack first (make run), "
            "or pass the --state-dir it uses"
        )
    pem = pem_path.read_bytes()
    return SigningKey(kid=public_jwk(SigningKey("", pem).private_key)["kid"], pem=pem)


def jwks_url(state_dir: Path) -> str:
    return (state_dir / JWKS_FILE).resolve().as_uri()
