"""Confirmation letters on moto: issued with the KMS ECC_NIST_P256 key into the documents bucket, then
read, shown and checked through the public routes and the command-line verifier."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from marketplace.domain.letters import envelope_bytes
from marketplace.errors import ServiceUnavailable
from marketplace.repositories import letters as store
from marketplace.services import letters
from marketplace.settings import get_settings
from marketplace.verify_letter import main as verify_main
from tests.conftest import Api
from tests.support.letters import letter

LETTER = "/letters/L-P-2026-0001"


def _s3() -> Any:
    return boto3.client("s3", region_name=get_settings().region)


def _object(key: str) -> dict[str, Any]:
    return dict(_s3().get_object(Bucket=get_settings().documents_bucket, Key=key))


def test_an_issued_letter_is_signed_by_the_kms_key_and_stored_as_json_and_html(api: Api) -> None:
    issued = letters.issue(letter())
    stored = _object("letters/L-P-2026-0001.json")
    assert stored["ContentType"].startswith("application/json")
    assert stored["Body"].read() == envelope_bytes(issued)
    page = _object("letters/L-P-2026-0001.html")
    assert page["ContentType"].startswith("text/html") and "电子中选确认书" in page["Body"].read().decode()

    # Independently of our verifier: cryptography checks the KMS signature with the KMS public key.
    kms = boto3.client("kms", region_name=get_settings().region)
    der = kms.get_public_key(KeyId=get_settings().signing_key_id)["PublicKey"]
    public = serialization.load_der_public_key(der)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    signature = base64.b64decode(issued.signature.value)
    public.verify(signature, issued.letter.canonical_bytes(), ec.ECDSA(hashes.SHA256()))
    assert issued.signature.key_id == get_settings().signing_key_id  # the key's ARN


def test_issuing_again_returns_the_letter_already_issued_unchanged(api: Api) -> None:
    first = letters.issue(letter())
    again = letters.issue(letter(issued_at="2026-03-06T00:00:00Z"))  # a retry, later
    assert again == first
    assert _object("letters/L-P-2026-0001.json")["Body"].read() == envelope_bytes(first)


def test_a_racing_issuer_cannot_overwrite_the_first_signature(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = letters.issue(letter())
    real_load = store.load_envelope
    calls = iter([None])  # the racer saw no letter yet, then finds the one stored meanwhile
    monkeypatch.setattr(store, "load_envelope", lambda letter_id: next(calls, real_load(letter_id)))
    assert letters.issue(letter()) == first
    assert store.store_envelope("L-P-2026-0001", b"{}") is False


def test_a_page_lost_between_the_two_writes_is_written_by_the_next_issue(api: Api) -> None:
    letters.issue(letter())
    _s3().delete_object(Bucket=get_settings().documents_bucket, Key="letters/L-P-2026-0001.html")
    assert api.call("GET", f"{LETTER}/html").status == 200  # rendered from the envelope meanwhile
    letters.issue(letter())
    assert "L-P-2026-0001" in _object("letters/L-P-2026-0001.html")["Body"].read().decode()


def test_anyone_reads_a_letter_its_page_and_the_public_key(api: Api) -> None:
    issued = letters.issue(letter())
    reply = api.call("GET", LETTER)
    assert reply.status == 200 and reply.body == json.loads(envelope_bytes(issued))

    page = api.call("GET", f"{LETTER}/html")
    assert page.status == 200 and page.content_type == "text/html; charset=utf-8"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<h1>电子中选确认书</h1>" in page.body and "浙江地信勘测技术有限公司" in page.body

    key = api.call("GET", "/letters/public-key")
    assert key.status == 200
    assert key.body["key_id"] == issued.signature.key_id
    assert key.body["algorithm"] == "ECDSA_SHA_256" and key.body["curve"] == "P-256"
    kms_der = boto3.client("kms", region_name=get_settings().region).get_public_key(
        KeyId=get_settings().signing_key_id
    )["PublicKey"]
    pem_der = serialization.load_pem_public_key(key.body["public_key_pem"].encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert pem_der == kms_der


@pytest.mark.parametrize(
    "path", ["/letters/L-NONE", "/letters/L-NONE/html", "/letters/bad.id", "/letters/public-key/html"]
)
def test_an_unknown_letter_is_a_404_problem(api: Api, path: str) -> None:
    reply = api.call("GET", path)
    assert reply.status == 404 and reply.content_type == "application/problem+json"
    assert reply.body["status"] == 404


def test_verify_says_valid_for_an_issued_letter_and_what_is_wrong_with_a_changed_one(api: Api) -> None:
    envelope = json.loads(envelope_bytes(letters.issue(letter())))
    reply = api.call("POST", "/letters/verify", envelope)
    assert reply.status == 200
    assert reply.body == {"valid": True, "problems": [], "key_id": envelope["signature"]["key_id"]}

    envelope["letter"]["agency"]["name"] = "另一家机构有限公司"
    reply = api.call("POST", "/letters/verify", envelope)
    assert reply.status == 200 and reply.body["valid"] is False
    assert reply.body["problems"] == [
        "the signature does not match the letter: changed after signing, or signed by another key"
    ]

    envelope["letter"]["agency"]["credit_code"] = "bad"  # changed into an invalid letter: still 200
    reply = api.call("POST", "/letters/verify", envelope)
    assert reply.status == 200 and reply.body["valid"] is False
    assert any(p.startswith("letter.agency.credit_code") for p in reply.body["problems"])


@pytest.mark.parametrize(
    "body, status",
    [
        ({"letter": {}}, 422),
        ({"signature": {"algorithm": "x", "key_id": "k", "value": "v"}}, 422),
        ({"letter": [], "signature": {"algorithm": "x", "key_id": "k", "value": "v"}}, 422),
        ({"letter": {}, "signature": {"algorithm": "x", "key_id": "k", "value": "v"}, "extra": 1}, 422),
        ([], 422),
    ],
)
def test_a_malformed_verification_request_is_a_422(api: Api, body: Any, status: int) -> None:
    reply = api.call("POST", "/letters/verify", body)
    assert reply.status == status and reply.content_type == "application/problem+json"


def test_a_body_that_is_not_json_is_a_400(api: Api) -> None:
    assert api.call("POST", "/letters/verify", raw=b"{not json").status == 400


def test_the_command_line_verifier_checks_a_letter_saved_from_the_api(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    letters.issue(letter())
    saved, pem = tmp_path / "letter.json", tmp_path / "platform.pem"
    saved.write_text(json.dumps(api.call("GET", LETTER).body, ensure_ascii=False, indent=2))  # any layout
    pem.write_text(api.call("GET", "/letters/public-key").body["public_key_pem"])
    assert verify_main([str(saved), "--public-key", str(pem)]) == 0
    assert "valid: confirmation letter L-P-2026-0001" in capsys.readouterr().out

    published = tmp_path / "public-key.json"
    published.write_text(json.dumps(api.call("GET", "/letters/public-key").body))
    assert verify_main([str(saved), "--key-url", str(published)]) == 0

    saved.write_text(saved.read_text().replace("86000.00", "96000.00"))
    assert verify_main([str(saved), "--public-key", str(pem)]) == 1


def test_a_document_store_that_is_throttling_is_a_503_with_retry_after(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Throttled:
        def get_object(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}}, "GetObject")

    monkeypatch.setattr(store, "_client", lambda service: Throttled())
    reply = api.call("GET", LETTER)
    assert reply.status == 503 and reply.headers["retry-after"] == "2"
    with pytest.raises(ServiceUnavailable):
        letters.issue(letter())


def test_a_letter_with_a_repeated_key_or_absurd_nesting_is_a_400_not_a_verdict(api: Api) -> None:
    issued = letters.issue(letter("L-STRICT-1"))
    stored = envelope_bytes(issued).decode()
    # Python keeps the last of two keys, other readers the first: one file, two letters.
    twice = stored.replace('{"letter":', '{"letter":{"title":"冒名"},"letter":', 1)
    reply = api.call("POST", "/letters/verify", raw=twice.encode())
    assert reply.status == 400 and "repeated keys" in reply.body["detail"]
    deep = ("[" * 5000 + "]" * 5000).encode()
    assert api.call("POST", "/letters/verify", raw=deep).status == 400
    assert api.call("POST", "/letters/verify", raw=b'{"letter": NaN}').status == 400


def test_only_the_low_form_of_a_signature_verifies(api: Api) -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

    from marketplace import letter_signatures

    envelope = letters.issue(letter("L-LOW-S-1")).model_dump(mode="json")
    r, s = decode_dss_signature(base64.b64decode(envelope["signature"]["value"]))
    assert s <= letter_signatures.N // 2  # stored in the low form
    twin = base64.b64encode(encode_dss_signature(r, letter_signatures.N - s)).decode()
    assert api.call("POST", "/letters/verify", envelope).body["valid"] is True
    forged = {**envelope, "signature": {**envelope["signature"], "value": twin}}
    assert api.call("POST", "/letters/verify", forged).body["valid"] is False


def test_the_command_names_the_key_it_used_by_fingerprint_and_refuses_absurd_files(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issued = letters.issue(letter("L-FP-1"))
    published = api.call("GET", "/letters/public-key").body
    (tmp_path / "key.pem").write_text(published["public_key_pem"])
    (tmp_path / "letter.json").write_bytes(envelope_bytes(issued))
    assert verify_main([str(tmp_path / "letter.json"), "--public-key", str(tmp_path / "key.pem")]) == 0
    assert published["fingerprint_sha256"] in capsys.readouterr().out
    (tmp_path / "deep.json").write_text("[" * 5000 + "]" * 5000)
    assert verify_main([str(tmp_path / "deep.json"), "--public-key", str(tmp_path / "key.pem")]) == 2
