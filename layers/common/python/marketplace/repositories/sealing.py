"""Sealed submissions (quotes, proposals): encrypted under the sealing key before they are stored.

Only the closing tasks' roles may decrypt with that key (the template's key policy names them and
no IAM policy grants kms:Decrypt on it: infra/keys.py), so a sealed value cannot be read before its
round closes by any route, any other task, or the operator's IAM users. The encryption context
binds a ciphertext to its purchase, agency and round: a ciphertext copied to another row does not
decrypt there.
"""

from __future__ import annotations

from marketplace.repositories.base import sdk_client
from marketplace.repositories.sdk_errors import unavailable_when_transient
from marketplace.settings import get_settings

_client = sdk_client


def _key() -> str:
    key = get_settings().sealing_key_id
    if not key:
        raise RuntimeError("SEALING_KEY_ID is not set: the deployment names the sealing key")
    return key


def seal(plaintext: bytes, context: dict[str, str]) -> bytes:
    """The ciphertext of `plaintext` (at most 4 KB: a quote, a proposal's reference and hash)."""
    with unavailable_when_transient("sealing service"):
        reply = _client("kms").encrypt(KeyId=_key(), Plaintext=plaintext, EncryptionContext=context)
    return bytes(reply["CiphertextBlob"])


def unseal(ciphertext: bytes, context: dict[str, str]) -> bytes:
    """The plaintext, for the closing task only; a ciphertext under another context is refused."""
    with unavailable_when_transient("sealing service"):
        reply = _client("kms").decrypt(CiphertextBlob=ciphertext, EncryptionContext=context, KeyId=_key())
    return bytes(reply["Plaintext"])
