"""Confirmation letters for tests: a realistic letter, and keys that sign like KMS does."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from marketplace import letter_signatures
from marketplace.domain.letters import ConfirmationLetter, IssuedLetter, LetterSignature, envelope_bytes

COMMITMENT = "5d41402abc4b2a76b9719d911017c592" * 2
DIGEST = "7d793037a0760186574b0282f2f435e7" * 2


def letter_data(letter_id: str = "L-P-2026-0001", **changes: Any) -> dict[str, Any]:
    """A random-draw letter as a purchase confirmation builds it; `changes` replace top-level fields."""
    data: dict[str, Any] = {
        "letter_id": letter_id,
        "purchase_id": "P-2026-0001",
        "project_code": "2026-330106-04-01-000123",
        "title": "西湖区文三路地块建设用地地质灾害危险性评估",
        "owner": {"owner_id": "OW-HZ-001", "name": "杭州市西湖区住房和城乡建设局"},
        "agency": {
            "agency_id": "AG-HZ-001",
            "name": "浙江地信勘测技术有限公司",
            "credit_code": "91330106MA2KD7XL01",
        },
        "item": {"code": "ZJ-DZ-001", "name": "建设用地地质灾害危险性评估", "version": 2},
        "method": "random_draw",
        "price": {"funding_type": "fiscal", "amount_yuan": "86000.00", "ceiling_yuan": None},
        "dates": {
            "published_at": "2026-03-02T01:00:00Z",
            "enrollment_deadline": "2026-03-04T09:00:00Z",
            "selected_at": "2026-03-04T09:05:00Z",
            "owner_confirmed_at": "2026-03-05T02:00:00Z",
            "agency_accepted_at": "2026-03-05T03:30:00Z",
        },
        "draw": {"proof_path": "/purchases/P-2026-0001/draw", "commitment": COMMITMENT, "digest": DIGEST},
        "issued_at": "2026-03-05T03:30:01Z",
    }
    data.update(copy.deepcopy(changes))
    return data


def letter(letter_id: str = "L-P-2026-0001", **changes: Any) -> ConfirmationLetter:
    return ConfirmationLetter.model_validate(letter_data(letter_id, **changes))


@dataclass
class LetterKey:
    """A P-256 key that signs as KMS Sign with ECDSA_SHA_256 and MessageType RAW does."""

    private: ec.EllipticCurvePrivateKey
    key_id: str = "arn:aws-cn:kms:cn-north-1:123456789012:key/test"

    @classmethod
    def generate(cls) -> LetterKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    def der(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def public(self) -> letter_signatures.PublicKey:
        return letter_signatures.public_key_from_der(self.der())

    def pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def issue(self, confirmation: ConfirmationLetter) -> IssuedLetter:
        signature = letter_signatures.low_s(
            self.private.sign(confirmation.canonical_bytes(), ec.ECDSA(hashes.SHA256()))
        )
        value = base64.b64encode(signature).decode()
        return IssuedLetter(letter=confirmation, signature=LetterSignature(key_id=self.key_id, value=value))

    def envelope(self, confirmation: ConfirmationLetter) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(envelope_bytes(self.issue(confirmation)))
        return parsed
