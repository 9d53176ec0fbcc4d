"""The pure-Python RS256 check agrees with `cryptography` on good and bad signatures."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from marketplace.rs256 import public_key_from_jwk, verify_pkcs1v15_sha256
from tests.support.tokens import SigningKey


def test_signatures_made_by_cryptography_verify_and_any_flipped_bit_fails() -> None:
    key = SigningKey.generate()
    public = public_key_from_jwk(key.jwk())
    for size in (0, 1, 57, 1000):
        message = os.urandom(size)
        signature = key.private.sign(message, padding.PKCS1v15(), hashes.SHA256())
        assert verify_pkcs1v15_sha256(public, message, signature)
        broken = bytearray(signature)
        broken[size % len(broken)] ^= 0x01
        assert not verify_pkcs1v15_sha256(public, message, bytes(broken))
        assert not verify_pkcs1v15_sha256(public, message + b"x", signature)


def test_a_pss_signature_or_a_sha1_signature_does_not_pass() -> None:
    key = SigningKey.generate()
    public = public_key_from_jwk(key.jwk())
    pss = key.private.sign(
        b"m", padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
    )
    sha1 = key.private.sign(b"m", padding.PKCS1v15(), hashes.SHA1())
    assert not verify_pkcs1v15_sha256(public, b"m", pss)
    assert not verify_pkcs1v15_sha256(public, b"m", sha1)


def test_wrong_length_signatures_fail() -> None:
    key = SigningKey.generate()
    public = public_key_from_jwk(key.jwk())
    assert not verify_pkcs1v15_sha256(public, b"m", b"")
    assert not verify_pkcs1v15_sha256(public, b"m", b"\x00" * 255)
