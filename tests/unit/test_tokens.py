"""Bearer tokens: what is accepted and every way one is refused (401), with no AWS involved."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from marketplace import auth
from marketplace.errors import Forbidden, Unauthorized
from tests.support.tokens import SigningKey


@pytest.fixture(autouse=True)
def fresh_keys(signing_key: SigningKey) -> None:
    auth.clear_key_cache()


def test_a_valid_token_gives_the_role_organisation_and_industries(signing_key: SigningKey) -> None:
    token = signing_key.token("regulator", "RG-ENV", industries=("environment", "water"))
    principal = auth.verify_token(token)
    assert principal.role == "regulator"
    assert principal.org_id == "RG-ENV"
    assert principal.industries == ("environment", "water")


def test_an_expired_token_is_refused(signing_key: SigningKey) -> None:
    with pytest.raises(Unauthorized, match="expired"):
        auth.verify_token(signing_key.token("admin", ttl=-120))


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(signing_key: SigningKey) -> None:
    impostor = SigningKey.generate(signing_key.kid)
    with pytest.raises(Unauthorized, match="signature"):
        auth.verify_token(impostor.token("admin"))


def test_a_token_from_an_unknown_key_is_refused() -> None:
    with pytest.raises(Unauthorized, match="unknown key"):
        auth.verify_token(SigningKey.generate("other-kid").token("admin"))


def test_alg_none_is_refused(signing_key: SigningKey) -> None:
    claims = jwt.decode(signing_key.token("admin"), options={"verify_signature": False})
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": signing_key.kid}).encode()).rstrip(
        b"="
    )
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    with pytest.raises(Unauthorized, match="RS256"):
        auth.verify_token(f"{header.decode()}.{body.decode()}.")


def test_hs256_signed_with_the_public_key_is_refused(signing_key: SigningKey) -> None:
    # The classic confusion attack: an HMAC keyed with the published public key.
    import hashlib
    import hmac

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "kid": signing_key.kid}).encode())
    body = b64(json.dumps({"sub": "x", "cognito:groups": ["admin"], "exp": int(time.time()) + 60}).encode())
    mac = hmac.new(json.dumps(signing_key.jwk()).encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{head}.{body}.{b64(mac)}"
    with pytest.raises(Unauthorized):
        auth.verify_token(forged)


def test_a_tampered_payload_is_refused(signing_key: SigningKey) -> None:
    header, _, signature = signing_key.token("owner", "OW-1").split(".")
    claims = {"sub": "x", "cognito:groups": ["admin"], "exp": int(time.time()) + 60}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized, match="signature"):
        auth.verify_token(f"{header}.{body}.{signature}")


@pytest.mark.parametrize("claim", ["iss", "aud"])
def test_wrong_issuer_or_audience_is_refused(signing_key: SigningKey, claim: str) -> None:
    token = signing_key.token("admin", **{"issuer" if claim == "iss" else "audience": "https://elsewhere"})
    with pytest.raises(Unauthorized, match="issuer" if claim == "iss" else "audience"):
        auth.verify_token(token)


def test_garbage_is_refused(signing_key: SigningKey) -> None:
    with pytest.raises(Unauthorized):
        auth.verify_token("not.a.token")


def test_a_token_without_exactly_one_role_is_forbidden(signing_key: SigningKey) -> None:
    with pytest.raises(Forbidden):
        auth.verify_token(signing_key.token("admin", **{"cognito:groups": ["admin", "owner"]}))
    with pytest.raises(Forbidden):
        auth.verify_token(signing_key.token("superuser"))


def test_an_agency_token_must_name_its_organisation(signing_key: SigningKey) -> None:
    with pytest.raises(Forbidden, match="organisation"):
        auth.verify_token(signing_key.token("agency", ""))


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer   ", "token"])
def test_a_malformed_authorization_header_is_refused(header: str) -> None:
    with pytest.raises(Unauthorized):
        auth.bearer_token(header)


def test_the_role_check_names_who_may_call(signing_key: SigningKey) -> None:
    owner = auth.verify_token(signing_key.token("owner", "OW-1"))
    with pytest.raises(Forbidden, match="admin"):
        auth.require_role(owner, ("admin",))
    with pytest.raises(Unauthorized):
        auth.require_role(None, ("admin",))
