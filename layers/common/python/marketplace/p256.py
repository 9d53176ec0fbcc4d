"""ECDSA P-256 with SHA-256 signature verification, in pure Python (FIPS 186-5 §6.4.2).

Only verification: confirmation letters are signed by KMS, and anyone (a function, the command-line
verifier, a citizen) checks them with the published public key. The Lambda layer ships no
`cryptography` (its native wheel would be most of the layer, for one check; see rs256.py for the same
choice for tokens), and the verifier stays readable and runnable with the standard library alone.

Inputs are the forms KMS produces: the public key as a DER SubjectPublicKeyInfo (GetPublicKey) and
the signature as a DER `ECDSA-Sig-Value` (Sign with ECDSA_SHA_256). Both are parsed strictly (DER,
not BER: one encoding per value), and only the low form of s is accepted (`low_s`): a signature
cannot be re-encoded, nor turned into its (r, n - s) twin, as a second valid form.
Tests pit this module against `cryptography` on random keys, messages and tampered inputs.

Verification handles public data only, so it needs no constant-time arithmetic.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

# The curve (SEC 2 secp256r1 = NIST P-256): y² = x³ - 3x + b over GF(p), base point G of order n.
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)
COORDINATE_BYTES = 32

# DER of the AlgorithmIdentifier SEQUENCE { id-ecPublicKey, prime256v1 } (RFC 5480 §2.1.1).
_EC_PUBLIC_KEY_P256 = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107")
_SEQUENCE, _INTEGER, _BIT_STRING = 0x30, 0x02, 0x03
PEM_LABEL = "PUBLIC KEY"


class InvalidKey(ValueError):
    """The bytes are not a P-256 public key this module accepts."""


@dataclass(frozen=True)
class PublicKey:
    x: int
    y: int

    def spki_der(self) -> bytes:
        """The key as a DER SubjectPublicKeyInfo, uncompressed point (what KMS returns)."""
        point = b"\x04" + self.x.to_bytes(COORDINATE_BYTES, "big") + self.y.to_bytes(COORDINATE_BYTES, "big")
        return _tlv(_SEQUENCE, _EC_PUBLIC_KEY_P256 + _tlv(_BIT_STRING, b"\x00" + point))

    def fingerprint(self) -> str:
        """Hex SHA-256 of the DER key: what `GET /letters/public-key` publishes as `fingerprint_sha256`."""
        return hashlib.sha256(self.spki_der()).hexdigest()

    def pem(self) -> str:
        return der_to_pem(self.spki_der())


# --- DER ---------------------------------------------------------------------------------------


def _tlv(tag: int, value: bytes) -> bytes:
    size = len(value)
    if size < 0x80:
        return bytes([tag, size]) + value
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + value


def _read(data: bytes, offset: int, tag: int) -> tuple[bytes, int]:
    """The value of the DER element of `tag` at `offset`, and the offset after it."""
    if offset + 2 > len(data) or data[offset] != tag:
        raise ValueError(f"expected DER tag 0x{tag:02x} at byte {offset}")
    first = data[offset + 1]
    start = offset + 2
    if first < 0x80:
        size = first
    else:
        count = first & 0x7F
        # DER: the long form only for lengths of 128 or more, in the fewest bytes (no indefinite form).
        if count == 0 or count > 4 or start + count > len(data) or data[start] == 0:
            raise ValueError("DER length is not in its minimal form")
        size = int.from_bytes(data[start : start + count], "big")
        start += count
        if size < 0x80:
            raise ValueError("DER length is not in its minimal form")
    end = start + size
    if end > len(data):
        raise ValueError("DER element runs past the end of the data")
    return data[start:end], end


def _only(data: bytes, tag: int) -> bytes:
    value, end = _read(data, 0, tag)
    if end != len(data):
        raise ValueError("trailing bytes after the DER element")
    return value


def _positive_integer(value: bytes) -> int:
    """A DER INTEGER's value that must be positive: minimal two's complement, no sign bit set."""
    if not value or value[0] & 0x80:
        raise ValueError("DER INTEGER is empty or negative")
    if len(value) > 1 and value[0] == 0 and not value[1] & 0x80:
        raise ValueError("DER INTEGER is not in its minimal form")
    return int.from_bytes(value, "big")


# --- keys --------------------------------------------------------------------------------------


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def _point(encoded: bytes) -> PublicKey:
    """An SEC 1 §2.3.4 point: uncompressed (04‖X‖Y) or compressed (02/03‖X)."""
    size = COORDINATE_BYTES
    if len(encoded) == 1 + 2 * size and encoded[0] == 0x04:
        x, y = int.from_bytes(encoded[1 : 1 + size], "big"), int.from_bytes(encoded[1 + size :], "big")
    elif len(encoded) == 1 + size and encoded[0] in (0x02, 0x03):
        x = int.from_bytes(encoded[1:], "big")
        if x >= P:
            raise InvalidKey("the point's x coordinate is not below p")
        # p ≡ 3 (mod 4): a square root of r is r^((p+1)/4); the prefix's low bit picks y's parity.
        y = pow((x * x * x + A * x + B) % P, (P + 1) // 4, P)
        if y & 1 != encoded[0] & 1:
            y = P - y
    else:
        raise InvalidKey("the public key is not an SEC 1 encoded P-256 point")
    if not _on_curve(x, y):
        raise InvalidKey("the public key's point is not on the P-256 curve")
    return PublicKey(x, y)


def public_key_from_der(der: bytes) -> PublicKey:
    """A P-256 key from a DER SubjectPublicKeyInfo; anything else (RSA, another curve) is refused."""
    try:
        body = _only(der, _SEQUENCE)
        if not body.startswith(_EC_PUBLIC_KEY_P256):
            raise InvalidKey("not an id-ecPublicKey on prime256v1 (P-256)")
        bits = _only(body[len(_EC_PUBLIC_KEY_P256) :], _BIT_STRING)
    except ValueError as exc:
        raise InvalidKey(f"not a DER SubjectPublicKeyInfo: {exc}") from exc
    if not bits or bits[0] != 0:
        raise InvalidKey("the key's BIT STRING has unused bits")
    return _point(bits[1:])


def der_to_pem(der: bytes) -> str:
    text = base64.b64encode(der).decode("ascii")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return "\n".join([f"-----BEGIN {PEM_LABEL}-----", *lines, f"-----END {PEM_LABEL}-----"]) + "\n"


def public_key_from_pem(pem: str) -> PublicKey:
    """A key from the PEM `-----BEGIN PUBLIC KEY-----` form (openssl's, and GET /letters/public-key's)."""
    begin, end = f"-----BEGIN {PEM_LABEL}-----", f"-----END {PEM_LABEL}-----"
    text = pem.strip()
    if not text.startswith(begin) or not text.endswith(end):
        raise InvalidKey(f"expected a PEM block labelled {PEM_LABEL!r}")
    body = "".join(text[len(begin) : -len(end)].split())
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidKey("the PEM body is not base64") from exc
    return public_key_from_der(der)


# --- signatures --------------------------------------------------------------------------------


def signature_from_der(der: bytes) -> tuple[int, int]:
    """(r, s) of a DER ECDSA-Sig-Value; ValueError when it is not one, or either is out of [1, n).
    Verification also requires the low form (s <= n/2, see `low_s`)."""
    body = _only(der, _SEQUENCE)
    r_bytes, offset = _read(body, 0, _INTEGER)
    s_bytes, offset = _read(body, offset, _INTEGER)
    if offset != len(body):
        raise ValueError("trailing bytes inside the signature")
    r, s = _positive_integer(r_bytes), _positive_integer(s_bytes)
    if not (1 <= r < N and 1 <= s < N):
        raise ValueError("r or s is out of range")
    return r, s


# Points in Jacobian coordinates (X, Y, Z) stand for (X/Z², Y/Z³); Z = 0 is the point at infinity.
# They spare a modular inversion per addition: one at the end instead of hundreds.
Jacobian = tuple[int, int, int]
INFINITY: Jacobian = (1, 1, 0)


def _double(point: Jacobian) -> Jacobian:
    """dbl-2001-b, for a = -3."""
    x, y, z = point
    if z == 0 or y == 0:
        return INFINITY
    delta = z * z % P
    gamma = y * y % P
    beta = x * gamma % P
    alpha = 3 * (x - delta) * (x + delta) % P
    x3 = (alpha * alpha - 8 * beta) % P
    z3 = ((y + z) ** 2 - gamma - delta) % P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % P
    return x3, y3, z3


def _add(p1: Jacobian, p2: Jacobian) -> Jacobian:
    """add-2007-bl; the doubling and inverse cases fall back or cancel explicitly."""
    if p1[2] == 0:
        return p2
    if p2[2] == 0:
        return p1
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    z1z1, z2z2 = z1 * z1 % P, z2 * z2 % P
    u1, u2 = x1 * z2z2 % P, x2 * z1z1 % P
    s1, s2 = y1 * z2 * z2z2 % P, y2 * z1 * z1z1 % P
    h = (u2 - u1) % P
    r = 2 * (s2 - s1) % P
    if h == 0:
        return _double(p1) if r == 0 else INFINITY
    i = 4 * h * h % P
    j = h * i % P
    v = u1 * i % P
    x3 = (r * r - j - 2 * v) % P
    y3 = (r * (v - x3) - 2 * s1 * j) % P
    z3 = ((z1 + z2) ** 2 - z1z1 - z2z2) * h % P
    return x3, y3, z3


def _twin_multiply(u1: int, q: PublicKey, u2: int) -> Jacobian:
    """u1·G + u2·Q in one pass over the bits (Shamir's trick)."""
    g: Jacobian = (G[0], G[1], 1)
    qj: Jacobian = (q.x, q.y, 1)
    table = {(1, 0): g, (0, 1): qj, (1, 1): _add(g, qj)}
    result = INFINITY
    for bit in range(max(u1.bit_length(), u2.bit_length()) - 1, -1, -1):
        result = _double(result)
        pair = ((u1 >> bit) & 1, (u2 >> bit) & 1)
        if pair != (0, 0):
            result = _add(result, table[pair])
    return result


def _integer(value: int) -> bytes:
    """A positive DER INTEGER, minimally encoded (a leading 0 only where the high bit is set)."""
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return _tlv(_INTEGER, b"\x00" + raw if raw[0] & 0x80 else raw)


def low_s(signature: bytes) -> bytes:
    """The signature with s replaced by n - s when s > n/2. Both verify: ECDSA signatures are
    malleable. Issuing stores the low form and verification accepts only it, so a letter has exactly
    one valid signature value (what KMS returns is normalised once, at issue)."""
    r, s = signature_from_der(signature)
    if s <= N // 2:
        return signature
    return _tlv(_SEQUENCE, _integer(r) + _integer(N - s))


def verify(key: PublicKey, message: bytes, signature: bytes) -> bool:
    """True when `signature` (DER, low form) is key's ECDSA P-256 signature of SHA-256(`message`)."""
    try:
        r, s = signature_from_der(signature)
    except ValueError:
        return False
    if s > N // 2:
        return False  # the high twin of a valid signature: refused, see `low_s`
    # SHA-256 is exactly as long as n, so the digest is used whole (no leftmost-bits truncation).
    e = int.from_bytes(hashlib.sha256(message).digest(), "big")
    w = pow(s, -1, N)
    x, _, z = _twin_multiply(e * w % N, key, r * w % N)
    if z == 0:
        return False
    affine_x = x * pow(z * z, -1, P) % P
    return affine_x % N == r
