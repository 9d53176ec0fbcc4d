"""Confirmation letters in AWS: the only code that signs with the platform's KMS key and reads or
writes letters in the documents bucket.

    letters/<letter_id>.json   the signed envelope (canonical JSON), written once
    letters/<letter_id>.html   its readable page

Objects carry no encryption headers: the bucket encrypts every object by default with the data key
(infra/storage.py), whereas naming `aws:kms` without a key id here would pick the AWS-managed key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from botocore.exceptions import ClientError

from marketplace.domain.letters import SIGNING_ALGORITHM
from marketplace.repositories.base import forget_sdk_clients, sdk_client
from marketplace.repositories.sdk_errors import code_of as _code
from marketplace.repositories.sdk_errors import unavailable_when_transient
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.letters")
PREFIX = "letters/"
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
MISSING = {"NoSuchKey", "404", "NotFound"}
ALREADY_WRITTEN = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


@dataclass(frozen=True)
class PublishedKey:
    key_id: str  # the key's ARN, as Sign puts it in every signature
    der: bytes  # DER SubjectPublicKeyInfo


_public_keys: dict[str, PublishedKey] = {}
_client = sdk_client


def reset_clients() -> None:
    """Forget clients and the cached public key (tests and the local stack change the environment)."""
    forget_sdk_clients("kms", "s3")
    _public_keys.clear()


def _bucket() -> str:
    bucket = get_settings().documents_bucket
    if not bucket:
        raise RuntimeError("DOCUMENTS_BUCKET is not set: the deployment names the documents bucket")
    return bucket


def _signing_key() -> str:
    key = get_settings().signing_key_id
    if not key:
        raise RuntimeError("SIGNING_KEY_ID is not set: the deployment names the letter signing key")
    return key


def envelope_key(letter_id: str) -> str:
    return f"{PREFIX}{letter_id}.json"


def html_key(letter_id: str) -> str:
    return f"{PREFIX}{letter_id}.html"


# --- KMS ---------------------------------------------------------------------------------------


def sign(message: bytes) -> tuple[str, bytes]:
    """(key ARN, DER ECDSA signature) of `message` under the signing key. KMS hashes a RAW message
    itself (SHA-256), so the signature verifies against the message as the verifier sees it."""
    with unavailable_when_transient("signing service"):
        reply = _client("kms").sign(
            KeyId=_signing_key(), Message=message, MessageType="RAW", SigningAlgorithm=SIGNING_ALGORITHM
        )
    return str(reply["KeyId"]), bytes(reply["Signature"])


def public_key() -> PublishedKey:
    """The signing key's public half; fetched once per execution environment (it never changes for
    a key id: a new key pair is a new key)."""
    key_id = _signing_key()
    if key_id not in _public_keys:
        with unavailable_when_transient("signing service"):
            reply = _client("kms").get_public_key(KeyId=key_id)
        _public_keys[key_id] = PublishedKey(
            key_id=_arn(str(reply["KeyId"]), key_id), der=bytes(reply["PublicKey"])
        )
    return _public_keys[key_id]


def _arn(reported: str, configured: str) -> str:
    """KMS reports the key's ARN; moto 5.2.5's GetPublicKey reports the bare key id (its Sign, the
    ARN). Every deployment configures the ARN, so a bare id that ends it is taken as that ARN."""
    if (
        not reported.startswith("arn:")
        and configured.startswith("arn:")
        and configured.endswith(f"/{reported}")
    ):
        return configured
    return reported


# --- S3 ----------------------------------------------------------------------------------------


def _get(key: str) -> bytes | None:
    try:
        with unavailable_when_transient("document store"):
            reply = _client("s3").get_object(Bucket=_bucket(), Key=key)
            return bytes(reply["Body"].read())
    except ClientError as exc:
        if _code(exc) in MISSING:
            return None
        raise


def load_envelope(letter_id: str) -> bytes | None:
    """The stored envelope's bytes, or None when no letter has that id."""
    return _get(envelope_key(letter_id))


def load_html(letter_id: str) -> bytes | None:
    return _get(html_key(letter_id))


def store_envelope(letter_id: str, body: bytes) -> bool:
    """Write the envelope only if none exists (S3 conditional write); False when one already did, so
    two racing issuers cannot both publish a signature: the first write stands."""
    try:
        with unavailable_when_transient("document store"):
            _client("s3").put_object(
                Bucket=_bucket(),
                Key=envelope_key(letter_id),
                Body=body,
                ContentType=JSON_TYPE,
                IfNoneMatch="*",
            )
    except ClientError as exc:
        if _code(exc) in ALREADY_WRITTEN:
            return False
        raise
    return True


def store_html(letter_id: str, body: bytes) -> None:
    with unavailable_when_transient("document store"):
        _client("s3").put_object(Bucket=_bucket(), Key=html_key(letter_id), Body=body, ContentType=HTML_TYPE)


def html_exists(letter_id: str) -> bool:
    try:
        with unavailable_when_transient("document store"):
            _client("s3").head_object(Bucket=_bucket(), Key=html_key(letter_id))
    except ClientError as exc:
        if _code(exc) in MISSING:
            return False
        raise
    return True
