"""The letters' signature format (ECDSA P-256 with SHA-256), checked with the `cryptography` package.

Only verification: confirmation letters are signed by KMS, and anyone (a function, the command-line
verifier, a citizen) checks them with the published public key. The arithmetic is `cryptography`'s;
what is ours is the format policy of docs/letters.md, which the library does not enforce: the
signature is strict DER (one encoding per value: `cryptography` reads some BER leniently) and in its
low form (s <= n/2), so a letter has exactly one valid signature value.

Inputs are the forms KMS produces: the public key as a DER SubjectPublicKeyInfo (GetPublicKey) and
the signature as a DER `ECDSA-Sig-Value` (Sign with ECDSA_SHA_256). `cryptography` is imported by the
functions that parse or verify, never when this module is imported: a function that does not touch
a letter does not load it at its cold start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# The order of P-256's base point (SEC 2 secp256r1): the bound of r and s, and of the low form.
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
PEM_LABEL = "PUBLIC KEY"


class InvalidKey(ValueError):
    """The bytes are not a P-256 public key this module accepts."""


@dataclass(frozen=True)
class PublicKey:
    """A P-256 public key: its DER SubjectPublicKeyInfo (uncompressed point, as KMS returns it) and
    the `cryptography` key it was loaded as. Made by `public_key_from_der` / `public_key_from_pem`."""

    der: bytes
    loaded: Any = field(compare=False, repr=False)

    def fingerprint(self) -> str:
        """Hex SHA-256 of the DER key: what `GET /letters/public-key` publishes as `fingerprint_sha256`."""
        return hashlib.sha256(self.der).hexdigest()

    def pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return self.loaded.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


def public_key_from_der(der: bytes) -> PublicKey:
    """A P-256 key from a DER SubjectPublicKeyInfo; anything else (RSA, another curve, a point off
    the curve, trailing bytes) is refused with InvalidKey."""
    from cryptography.hazmat.primitives import serialization

    return _accepted(lambda: serialization.load_der_public_key(der), "a DER SubjectPublicKeyInfo")


def public_key_from_pem(pem: str) -> PublicKey:
    """A key from the PEM `-----BEGIN PUBLIC KEY-----` form (openssl's, and GET /letters/public-key's)."""
    from cryptography.hazmat.primitives import serialization

    return _accepted(lambda: serialization.load_pem_public_key(pem.encode()), f"a PEM {PEM_LABEL} block")


def _accepted(load: Callable[[], Any], form: str) -> PublicKey:
    """The loaded key if it is P-256, kept with its canonical DER (uncompressed point)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        loaded = load()
    except (ValueError, TypeError, UnicodeError, UnsupportedAlgorithm) as exc:
        # cryptography refuses points that are not on the curve here, as well as malformed input.
        raise InvalidKey(f"not {form} of a valid public key: {exc}") from exc
    if not isinstance(loaded, ec.EllipticCurvePublicKey) or not isinstance(loaded.curve, ec.SECP256R1):
        raise InvalidKey("not an id-ecPublicKey on prime256v1 (P-256)")
    canonical = loaded.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return PublicKey(der=canonical, loaded=loaded)


def signature_from_der(der: bytes) -> tuple[int, int]:
    """(r, s) of a strict-DER ECDSA-Sig-Value; ValueError when it is not exactly the DER encoding of
    (r, s) (BER lengths, superfluous zeros, trailing bytes), or either is out of [1, n).
    Verification also requires the low form (s <= n/2, see `low_s`)."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

    r, s = decode_dss_signature(der)  # ValueError on what it cannot read
    if encode_dss_signature(r, s) != der:
        raise ValueError("the signature is not in DER, the one encoding of its values")
    if not (1 <= r < N and 1 <= s < N):
        raise ValueError("r or s is out of range")
    return r, s


def low_s(signature: bytes) -> bytes:
    """The signature with s replaced by n - s when s > n/2. Both verify: ECDSA signatures are
    malleable. Issuing stores the low form and verification accepts only it, so a letter has exactly
    one valid signature value (what KMS returns is normalised once, at issue)."""
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    r, s = signature_from_der(signature)
    return signature if s <= N // 2 else encode_dss_signature(r, N - s)


def verify(key: PublicKey, message: bytes, signature: bytes) -> bool:
    """True when `signature` (strict DER, low form) is key's ECDSA P-256 signature of SHA-256(`message`)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        _, s = signature_from_der(signature)
    except ValueError:
        return False
    if s > N // 2:
        return False  # the high twin of a valid signature: refused, see `low_s`
    try:
        key.loaded.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
