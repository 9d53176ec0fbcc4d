"""The RS256 signature of a token, as `marketplace.auth` checks it (PyJWT with `cryptography`):
good signatures pass, and any flipped bit, another padding or hash, or a wrong length is a 401."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from marketplace import auth
from marketplace.errors import Unauthorized
from tests.support.tokens import SigningKey


@pytest.fixture(autouse=True)
def fresh_keys(signing_key: SigningKey) -> None:
    auth.clear_key_cache()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _resigned(token: str, signature: bytes) -> str:
    head, body, _ = token.split(".")
    return f"{head}.{body}.{_b64(signature)}"


def _signing_input(token: str) -> bytes:
    head, body, _ = token.split(".")
    return f"{head}.{body}".encode()


def test_a_token_signed_by_the_published_key_verifies_and_any_flipped_bit_fails(
    signing_key: SigningKey,
) -> None:
    token = signing_key.token("owner", "OW-1")
    assert auth.verify_token(token).org_id == "OW-1"
    head, body, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    for position in (0, 1, 57, len(raw) - 1):
        broken = bytearray(raw)
        broken[position] ^= 0x01
        with pytest.raises(Unauthorized, match="signature"):
            auth.verify_token(_resigned(token, bytes(broken)))
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["custom:org_id"] = "OW-2"
    with pytest.raises(Unauthorized, match="signature"):
        auth.verify_token(f"{head}.{_b64(json.dumps(claims).encode())}.{signature}")


def test_a_pss_or_sha1_signature_under_an_rs256_header_does_not_pass(signing_key: SigningKey) -> None:
    token = signing_key.token("admin")
    message = _signing_input(token)
    pss = signing_key.private.sign(
        message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
    )
    sha1 = signing_key.private.sign(message, padding.PKCS1v15(), hashes.SHA1())
    for signature in (pss, sha1):
        with pytest.raises(Unauthorized, match="signature"):
            auth.verify_token(_resigned(token, signature))


def test_wrong_length_signatures_fail(signing_key: SigningKey) -> None:
    token = signing_key.token("admin")
    good = base64.urlsafe_b64decode(token.split(".")[2] + "==")
    for signature in (b"", b"\x00" * 255, b"\x00" + good, good[:-1]):
        with pytest.raises(Unauthorized):
            auth.verify_token(_resigned(token, signature))
