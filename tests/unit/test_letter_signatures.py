"""The letters' ECDSA P-256 check (`cryptography` plus our format policy: strict DER, low s) accepts
exactly the signatures KMS makes in their low form, refuses tampered and malformed ones, and parses
exactly the keys KMS publishes."""

from __future__ import annotations

import os
import random

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from marketplace import letter_signatures as signatures

SHA256 = ec.ECDSA(hashes.SHA256())
# The P-256 field prime, to build points that are not on the curve.
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
# DER of the AlgorithmIdentifier SEQUENCE { id-ecPublicKey, prime256v1 } (RFC 5480 §2.1.1).
EC_PUBLIC_KEY_P256 = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107")


def _tlv(tag: int, value: bytes) -> bytes:
    assert len(value) < 0x80
    return bytes([tag, len(value)]) + value


def _spki(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _theirs(key: ec.EllipticCurvePrivateKey, message: bytes, signature: bytes) -> bool:
    try:
        key.public_key().verify(signature, message, SHA256)
    except InvalidSignature:
        return False
    return True


def _agree(
    key: ec.EllipticCurvePrivateKey, public: signatures.PublicKey, message: bytes, signature: bytes
) -> bool:
    ours = signatures.verify(public, message, signature)
    expected = _theirs(key, message, signature) and _low(signature)  # we accept only the low twin
    assert ours == expected, (message.hex(), signature.hex())
    return ours


def _low(signature: bytes) -> bool:
    try:
        return decode_dss_signature(signature)[1] <= signatures.N // 2
    except ValueError:
        return True  # not a signature: both refuse it anyway


def test_random_keys_and_messages_verify_and_every_tampering_fails() -> None:
    rng = random.Random(20260305)
    for round_ in range(40):
        key = ec.generate_private_key(ec.SECP256R1())
        public = signatures.public_key_from_der(_spki(key))
        message = os.urandom(rng.choice((0, 1, 31, 32, 33, 200, 4096)))
        signature = signatures.low_s(key.sign(message, SHA256))
        assert _agree(key, public, message, signature)

        flipped = bytearray(signature)
        flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        assert not _agree(key, public, message, bytes(flipped))

        if message:
            changed = bytearray(message)
            changed[rng.randrange(len(changed))] ^= 1 << rng.randrange(8)
            assert not _agree(key, public, bytes(changed), signature)
        assert not _agree(key, public, message + b"\x00", signature)

        other = ec.generate_private_key(ec.SECP256R1())
        assert not signatures.verify(signatures.public_key_from_der(_spki(other)), message, signature), round_


def test_random_signature_values_fail_like_they_do_in_cryptography() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = signatures.public_key_from_der(_spki(key))
    rng = random.Random(7)
    for _ in range(30):
        forged = encode_dss_signature(rng.randrange(1, signatures.N), rng.randrange(1, signatures.N))
        assert not _agree(key, public, b"m", forged)


@pytest.mark.parametrize(
    "r, s",
    [(0, 1), (1, 0), (signatures.N, 1), (1, signatures.N), (signatures.N + 1, 5)],
    ids=["r=0", "s=0", "r=n", "s=n", "r>n"],
)
def test_r_and_s_outside_1_to_n_fail(r: int, s: int) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    assert not signatures.verify(signatures.public_key_from_der(_spki(key)), b"m", encode_dss_signature(r, s))


def _integer(value: bytes) -> bytes:
    return bytes([0x02, len(value)]) + value


def test_only_der_signatures_pass_not_ber_re_encodings() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = signatures.public_key_from_der(_spki(key))
    signature = key.sign(b"m", SHA256)
    r, s = decode_dss_signature(signature)
    r_bytes, s_bytes = r.to_bytes(33, "big").lstrip(b"\x00"), s.to_bytes(33, "big").lstrip(b"\x00")
    r_der = r_bytes if r_bytes[0] < 0x80 else b"\x00" + r_bytes
    s_der = s_bytes if s_bytes[0] < 0x80 else b"\x00" + s_bytes
    padded = _integer(b"\x00" + r_der) + _integer(s_der)  # a superfluous leading zero
    body = _integer(r_der) + _integer(s_der)
    long_length = bytes([0x30, 0x81, len(body)]) + body  # a long-form length under 128
    variants = [
        bytes([0x30, len(padded)]) + padded,
        long_length,
        signature + b"\x00",  # trailing garbage
        signature[:-1],  # truncated
        bytes([0x31]) + signature[1:],  # a SET, not a SEQUENCE
        b"",
    ]
    for variant in variants:
        assert not _agree(key, public, b"m", variant), variant.hex()


def test_a_kms_style_public_key_round_trips_through_der_and_pem() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    der = _spki(key)
    public = signatures.public_key_from_der(der)
    assert public.der == der
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public.pem() == pem.decode()
    assert signatures.public_key_from_pem(pem.decode()) == public


def test_a_compressed_point_is_the_same_key() -> None:
    for _ in range(10):
        key = ec.generate_private_key(ec.SECP256R1())
        compressed = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )
        spki = _tlv(0x30, EC_PUBLIC_KEY_P256 + _tlv(0x03, b"\x00" + compressed))
        assert signatures.public_key_from_der(spki) == signatures.public_key_from_der(_spki(key))


def test_keys_that_are_not_p256_points_are_refused() -> None:
    der = _spki(ec.generate_private_key(ec.SECP256R1()))
    off_curve = der[:-32] + ((int.from_bytes(der[-32:], "big") + 1) % P).to_bytes(32, "big")
    refused = {
        "RSA": _spki(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "P-384": _spki(ec.generate_private_key(ec.SECP384R1())),
        "secp256k1": _spki(ec.generate_private_key(ec.SECP256K1())),
        "off the curve": off_curve,
        "trailing bytes": der + b"\x00",
        "truncated": der[:-1],
        "x = p": der[:-64] + P.to_bytes(32, "big") + der[-32:],
        "compressed x = p": _tlv(0x30, EC_PUBLIC_KEY_P256 + _tlv(0x03, b"\x00\x02" + P.to_bytes(32, "big"))),
        "empty": b"",
    }
    for name, value in refused.items():
        with pytest.raises(signatures.InvalidKey):
            signatures.public_key_from_der(value)
        assert name


def test_pem_that_is_not_a_public_key_block_is_refused() -> None:
    for text in (
        "",
        "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----",
    ):
        with pytest.raises(signatures.InvalidKey):
            signatures.public_key_from_pem(text)


def test_a_signature_has_one_valid_form_the_low_one() -> None:
    # ECDSA's (r, n - s) verifies wherever (r, s) does: only the low form is accepted, so a letter
    # has exactly one valid signature value; low_s keeps what cryptography accepts.
    key = ec.generate_private_key(ec.SECP256R1())
    public = signatures.public_key_from_der(_spki(key))
    for n in range(20):
        message = f"letter {n}".encode()
        low = signatures.low_s(key.sign(message, SHA256))
        r, s = decode_dss_signature(low)
        high = encode_dss_signature(r, signatures.N - s)
        assert s <= signatures.N // 2 and _theirs(key, message, low) and _theirs(key, message, high)
        assert signatures.verify(public, message, low)
        assert not signatures.verify(public, message, high)
        assert signatures.low_s(high) == low and signatures.low_s(low) == low
