"""Bearer tokens: what is accepted and every way one is refused (401), with no AWS involved."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import logging
import random
import time
import types
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from marketplace import auth
from marketplace.errors import Forbidden, ServiceUnavailable, Unauthorized
from marketplace.settings import reset_settings
from tests.support.tokens import AUDIENCE, ISSUER, SigningKey


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


# --- the signing keys: fetched sparingly, from where they should be, and only sound ones -----------


class _Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(auth, "time", types.SimpleNamespace(monotonic=fake.monotonic, time=time.time))
    return fake


@pytest.fixture
def fetches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL the key cache opens, in order (the real urlopen still does the work)."""
    opened: list[str] = []
    real = urllib.request.urlopen

    def counting(url: str, *args: Any, **kwargs: Any) -> Any:
        opened.append(url)
        return real(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", counting)
    return opened


def _use_jwks(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("JWKS_URL", url)
    reset_settings()
    auth.clear_key_cache()


@pytest.fixture(autouse=True)
def _forget_settings_after() -> Iterator[None]:
    yield
    reset_settings()
    auth.clear_key_cache()


def test_an_unknown_kid_refetches_the_keys_at_most_once_a_minute(
    signing_key: SigningKey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: _Clock,
    fetches: list[str],
) -> None:
    jwks = tmp_path / "jwks.json"
    _use_jwks(monkeypatch, signing_key.write_jwks(jwks))
    auth.verify_token(signing_key.token("admin"))
    assert len(fetches) == 1
    # Given a flood of tokens naming a kid the key set does not hold (a forger's, or a new key)
    rotated = SigningKey.generate("rotated")
    for _ in range(20):
        with pytest.raises(Unauthorized, match="unknown key"):
            auth.verify_token(rotated.token("admin"))
        clock.now += 2
    # Then the keys were not fetched again within the minute
    assert len(fetches) == 1
    # And once a minute has passed, an unknown kid refetches them: a rotated key is then accepted
    jwks.write_text(json.dumps({"keys": [signing_key.jwk(), rotated.jwk()]}))
    clock.now += 21
    assert auth.verify_token(rotated.token("owner", "OW-1")).role == "owner"
    assert len(fetches) == 2
    with pytest.raises(Unauthorized, match="unknown key"):
        auth.verify_token(SigningKey.generate("third").token("admin"))
    assert len(fetches) == 2


def test_a_failed_refresh_backs_off_with_503_and_retry_after_instead_of_retrying_each_request(
    signing_key: SigningKey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: _Clock,
    fetches: list[str],
) -> None:
    jwks = tmp_path / "jwks.json"
    _use_jwks(monkeypatch, jwks.resolve().as_uri())  # the key source is down: nothing there yet
    token = signing_key.token("admin")
    with pytest.raises(ServiceUnavailable) as first:
        auth.verify_token(token)
    assert first.value.retry_after >= 1
    # While backing off, requests are answered 503 with the time left, without a fetch
    for _ in range(10):
        with pytest.raises(ServiceUnavailable) as again:
            auth.verify_token(token)
        assert 1 <= again.value.retry_after <= first.value.retry_after
    assert len(fetches) == 1
    # After the back-off the keys are fetched again, and a good token passes once they are back
    signing_key.write_jwks(jwks)
    clock.now += first.value.retry_after
    assert auth.verify_token(token).role == "admin"
    assert len(fetches) == 2


def test_repeated_failures_back_off_longer_but_never_beyond_a_minute(
    signing_key: SigningKey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: _Clock,
    fetches: list[str],
) -> None:
    _use_jwks(monkeypatch, (tmp_path / "missing.json").resolve().as_uri())
    waits = []
    for _ in range(8):
        with pytest.raises(ServiceUnavailable) as refused:
            auth.verify_token(signing_key.token("admin"))
        waits.append(refused.value.retry_after)
        clock.now += refused.value.retry_after
    assert len(fetches) == 8
    assert waits == sorted(waits) and waits[0] < waits[-1] <= 60


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost@evil.example/jwks.json",  # passes a prefix check; the host is evil.example
        "http://127.0.0.1.evil.example/jwks.json",
        "https://user:secret@idp.example/jwks.json",
        "https:///jwks.json",
        "https://:443/jwks.json",
        "http://idp.example/jwks.json",
        "ftp://idp.example/jwks.json",
        "jwks.json",
    ],
)
def test_a_jwks_url_that_is_not_https_to_a_real_host_is_refused_before_any_fetch(
    url: str, monkeypatch: pytest.MonkeyPatch, fetches: list[str], signing_key: SigningKey
) -> None:
    monkeypatch.setenv("JWKS_ALLOW_INSECURE_LOCAL", "true")  # even where the local stack's URL is allowed
    _use_jwks(monkeypatch, url)
    with pytest.raises(RuntimeError, match="JWKS_URL"):
        auth.verify_token(signing_key.token("admin"))
    assert fetches == []


@pytest.mark.parametrize(
    "url", ["http://localhost:8000/jwks.json", "http://127.0.0.1:8000/jwks.json", "file:///tmp/jwks.json"]
)
def test_the_local_stacks_jwks_url_needs_the_explicit_local_setting(
    url: str, monkeypatch: pytest.MonkeyPatch, fetches: list[str], signing_key: SigningKey
) -> None:
    monkeypatch.setenv("JWKS_ALLOW_INSECURE_LOCAL", "false")
    _use_jwks(monkeypatch, url)
    with pytest.raises(RuntimeError, match="JWKS_ALLOW_INSECURE_LOCAL"):
        auth.verify_token(signing_key.token("admin"))
    assert fetches == []


@pytest.mark.parametrize(
    "url",
    [
        "https://idp.example.gov.cn/.well-known/jwks.json",
        "https://cognito-idp.cn-north-1.amazonaws.com.cn/pool/.well-known/jwks.json",
    ],
)
def test_an_https_jwks_url_is_fetched(
    url: str, monkeypatch: pytest.MonkeyPatch, signing_key: SigningKey
) -> None:
    opened: list[str] = []

    def serve(target: str, *args: Any, **kwargs: Any) -> Any:
        opened.append(target)
        return io.BytesIO(json.dumps({"keys": [signing_key.jwk()]}).encode())

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    monkeypatch.setenv("JWKS_ALLOW_INSECURE_LOCAL", "false")
    _use_jwks(monkeypatch, url)
    assert auth.verify_token(signing_key.token("admin")).role == "admin"
    assert opened == [url]


def test_an_empty_issuer_setting_fails_closed(
    signing_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_ISSUER", "")
    reset_settings()
    with pytest.raises(Unauthorized, match="issuer"):
        auth.verify_token(signing_key.token("admin"))


def test_an_empty_audience_setting_fails_closed(
    signing_key: SigningKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_AUDIENCE", "")
    reset_settings()
    with pytest.raises(Unauthorized, match="audience"):
        auth.verify_token(signing_key.token("admin"))


@pytest.mark.parametrize("use", ["access", "", "ID", 1])
def test_a_token_whose_token_use_is_not_id_is_refused(signing_key: SigningKey, use: Any) -> None:
    with pytest.raises(Unauthorized, match="token_use"):
        auth.verify_token(signing_key.token("admin", token_use=use))


def test_a_token_without_token_use_from_another_identity_provider_is_accepted(
    signing_key: SigningKey,
) -> None:
    claims = jwt.decode(signing_key.token("admin"), options={"verify_signature": False})
    del claims["token_use"]
    token = jwt.encode(claims, signing_key.pem(), algorithm="RS256", headers={"kid": signing_key.kid})
    assert auth.verify_token(token).role == "admin"


def _b64int(value: int) -> str:
    return (
        base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()
    )


def _forged_with_exponent_one(kid: str, n: int) -> str:
    """A token 'signed' for a key whose exponent is 1: s^1 mod n is s, so the signature is simply
    the PKCS#1 v1.5 encoding of the digest, which anyone can compute."""
    head = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "kid": kid}).encode()).rstrip(b"=")
    now = int(time.time())
    claims = {
        "sub": "forger",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        "cognito:groups": ["admin"],
        "token_use": "id",
    }
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    size = (n.bit_length() + 7) // 8
    digest_info = (
        bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(head + b"." + body).digest()
    )
    encoded = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    signature = base64.urlsafe_b64encode(encoded).rstrip(b"=")
    return b".".join([head, body, signature]).decode()


def test_jwks_keys_with_a_weak_exponent_or_a_huge_modulus_are_not_loaded(
    signing_key: SigningKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    good = signing_key.jwk()
    n = int.from_bytes(base64.urlsafe_b64decode(good["n"] + "=="), "big")
    rng = random.Random(8193)
    huge = rng.getrandbits(8193) | (1 << 8192) | 1
    weak = {
        "e-is-1": {**good, "kid": "e-is-1", "e": _b64int(1)},
        "e-is-even": {**good, "kid": "e-is-even", "e": _b64int(65536)},
        "e-is-2": {**good, "kid": "e-is-2", "e": _b64int(2)},
        "modulus-8193-bits": {**good, "kid": "modulus-8193-bits", "n": _b64int(huge)},
    }
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [good, *weak.values()]}))
    _use_jwks(monkeypatch, jwks.resolve().as_uri())
    caplog.set_level(logging.WARNING)
    # A token forged for the exponent-1 key is refused: that key was never loaded
    with pytest.raises(Unauthorized, match="unknown key"):
        auth.verify_token(_forged_with_exponent_one("e-is-1", n))
    for kid in weak:
        with pytest.raises(Unauthorized, match="unknown key"):
            auth.verify_token(SigningKey(kid, signing_key.private).token("admin"))
    refused = {
        r.fields["kid"]: r.fields["reason"] for r in caplog.records if r.getMessage() == "JWKS key refused"
    }
    assert set(refused) == set(weak), refused
    assert "exponent 1 " in refused["e-is-1"] and "8193 bits" in refused["modulus-8193-bits"]
    # And the sound key beside them still serves
    assert auth.verify_token(signing_key.token("admin")).role == "admin"


@pytest.mark.parametrize(
    "failure",
    [
        http.client.IncompleteRead(b'{"keys": ['),  # the connection dropped mid-body
        http.client.BadStatusLine("HTTP/1.1 banana"),  # something that is not an HTTP server answered
        http.client.LineTooLong("header line"),
    ],
    ids=["incomplete-read", "bad-status-line", "line-too-long"],
)
def test_a_key_source_that_answers_broken_http_is_backed_off_like_one_that_is_down(
    failure: Exception, monkeypatch: pytest.MonkeyPatch, signing_key: SigningKey, clock: _Clock
) -> None:
    opened: list[str] = []

    def broken(target: str, *args: Any, **kwargs: Any) -> Any:
        opened.append(target)
        raise failure

    monkeypatch.setattr(urllib.request, "urlopen", broken)
    _use_jwks(monkeypatch, "https://idp.example.gov.cn/.well-known/jwks.json")
    # The caller is told to retry (503), not handed a 500 ...
    for _ in range(10):
        with pytest.raises(ServiceUnavailable):
            auth.verify_token(signing_key.token("admin"))
    # ... and the identity provider is not asked again on every request meanwhile
    assert len(opened) == 1


@pytest.mark.parametrize(
    "members",
    [{"use": "enc"}, {"alg": "RS512"}, {"alg": "RSA-OAEP", "use": "enc"}, {"key_ops": ["encrypt"]}],
    ids=["use-enc", "alg-rs512", "encryption-key", "key-ops-encrypt"],
)
def test_a_jwks_key_published_for_another_use_or_algorithm_does_not_verify_tokens(
    members: dict[str, Any], signing_key: SigningKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A key set may list keys that are not for signing RS256 ID tokens (RFC 7517 `use`, `alg`,
    # `key_ops`): a token naming one is refused, as PyJWT's own key client would not pick it.
    other = SigningKey("other-use", signing_key.private)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [signing_key.jwk(), {**other.jwk(), **members}]}))
    _use_jwks(monkeypatch, jwks.resolve().as_uri())
    with pytest.raises(Unauthorized, match="unknown key"):
        auth.verify_token(other.token("admin"))
    assert auth.verify_token(signing_key.token("admin")).role == "admin"


def test_a_jwks_key_without_use_or_alg_still_verifies_tokens(
    signing_key: SigningKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = {k: v for k, v in signing_key.jwk().items() if k not in ("use", "alg")}
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**bare, "key_ops": ["verify"]}]}))
    _use_jwks(monkeypatch, jwks.resolve().as_uri())
    assert auth.verify_token(signing_key.token("admin")).role == "admin"
