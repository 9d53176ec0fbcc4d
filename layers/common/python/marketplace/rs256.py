"""RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature verification for PyJWT, in pure Python.

Only verification: the platform never signs user tokens (Cognito or the local stack does). The
check is the textbook one (RFC 8017 §8.2.2): s^e mod n must equal the EMSA-PKCS1-v1_5 encoding
of the message's SHA-256 digest, compared in full. Tests pit it against `cryptography`-signed
tokens, tampered ones and other keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from jwt.algorithms import Algorithm
from jwt.exceptions import InvalidKeyError

# DER prefix of DigestInfo for SHA-256 (RFC 8017 §9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_MIN_MODULUS_BITS = 2048


@dataclass(frozen=True)
class RsaPublicKey:
    n: int
    e: int

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8


def _b64int(value: str) -> int:
    padded = value + "=" * (-len(value) % 4)
    return int.from_bytes(base64.urlsafe_b64decode(padded), "big")


def public_key_from_jwk(jwk: dict[str, Any]) -> RsaPublicKey:
    if jwk.get("kty") != "RSA" or "n" not in jwk or "e" not in jwk:
        raise InvalidKeyError("not an RSA public JWK")
    key = RsaPublicKey(n=_b64int(jwk["n"]), e=_b64int(jwk["e"]))
    if key.n.bit_length() < _MIN_MODULUS_BITS:
        raise InvalidKeyError("RSA keys shorter than 2048 bits are refused")
    return key


def verify_pkcs1v15_sha256(key: RsaPublicKey, message: bytes, signature: bytes) -> bool:
    k = key.size
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= key.n:
        return False
    encoded = pow(s, key.e, key.n).to_bytes(k, "big")
    t = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    if k < len(t) + 11:
        return False
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return hmac.compare_digest(encoded, expected)


class Rs256Verifier(Algorithm):
    """A PyJWT algorithm that verifies RS256 and refuses to sign."""

    def prepare_key(self, key: Any) -> RsaPublicKey:
        if isinstance(key, RsaPublicKey):
            return key
        if isinstance(key, dict):
            return public_key_from_jwk(key)
        if isinstance(key, (str, bytes)):
            try:
                return public_key_from_jwk(json.loads(key))
            except ValueError as exc:
                raise InvalidKeyError("expected an RSA public key as a JWK") from exc
        raise InvalidKeyError("expected an RSA public key as a JWK")

    def sign(self, msg: bytes, key: Any) -> bytes:
        raise NotImplementedError("the platform only verifies RS256 tokens")

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        return verify_pkcs1v15_sha256(self.prepare_key(key), msg, sig)

    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> Any:
        raise NotImplementedError

    @staticmethod
    def from_jwk(jwk: str | dict[str, Any]) -> RsaPublicKey:
        return public_key_from_jwk(json.loads(jwk) if isinstance(jwk, str) else jwk)
