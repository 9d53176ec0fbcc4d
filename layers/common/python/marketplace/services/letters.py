"""Use cases of the electronic confirmation letter (电子中选确认书, DOMAIN.md §6; docs/letters.md).

`issue` is called by the purchase's confirmation; the rest serve the public letter routes. Issuing
is idempotent per letter id: ECDSA signatures are randomised, so signing the same letter twice gives
two different valid signatures, and a published letter must have exactly one. The first stored
envelope stands, and every later call returns it unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from typing import Any, Literal

from pydantic import ValidationError

from marketplace import letter_signatures
from marketplace.domain import letters as domain
from marketplace.domain.letters import ConfirmationLetter, IssuedLetter, LetterSignature
from marketplace.domain.model import Model
from marketplace.errors import NotFound, ServiceUnavailable
from marketplace.observability import log
from marketplace.repositories import letters as repo
from marketplace.settings import get_settings

logger = logging.getLogger("marketplace.letters")


class PublicKeyInfo(Model):
    """What a verifier needs: the key in PEM, its KMS id (as in every letter's signature) and use."""

    key_id: str
    algorithm: Literal["ECDSA_SHA_256"] = domain.SIGNING_ALGORITHM
    curve: Literal["P-256"] = "P-256"
    public_key_pem: str
    fingerprint_sha256: str  # hex SHA-256 of the DER key, to compare with a copy obtained elsewhere


class VerificationResult(Model):
    valid: bool
    problems: list[str]
    key_id: str  # the published key the letter was checked against


def issue(letter: ConfirmationLetter) -> IssuedLetter:
    """Sign and store `letter`, or return the letter already issued under its id, unchanged."""
    existing = _stored(letter.letter_id)
    if existing is not None:
        _ensure_html(existing)
        return existing
    key_id, signature = repo.sign(letter.canonical_bytes())
    signature = letter_signatures.low_s(signature)  # the one form verification accepts
    issued = IssuedLetter(
        letter=letter,
        signature=LetterSignature(key_id=key_id, value=base64.b64encode(signature).decode("ascii")),
    )
    if not repo.store_envelope(letter.letter_id, domain.envelope_bytes(issued)):
        # Another invocation stored this letter meanwhile: its signature stands, this one is dropped.
        winner = _stored(letter.letter_id)
        if winner is None:
            raise ServiceUnavailable("the letter is being issued by another request; retry shortly")
        _ensure_html(winner)
        return winner
    repo.store_html(letter.letter_id, _page(issued))
    log(logger, logging.INFO, "confirmation letter issued", letter_id=letter.letter_id, key_id=key_id)
    return issued


def get(letter_id: str) -> IssuedLetter:
    issued = _stored(letter_id) if domain.valid_letter_id(letter_id) else None
    if issued is None:
        raise NotFound(f"there is no confirmation letter {letter_id}")
    return issued


def html(letter_id: str) -> str:
    """The letter's page as stored; rendered from the envelope if the page was never written (an
    issue interrupted between the two writes; the next issue call stores it)."""
    stored = repo.load_html(letter_id) if domain.valid_letter_id(letter_id) else None
    if stored is not None:
        return stored.decode("utf-8")
    return _page(get(letter_id)).decode("utf-8")


def public_key() -> PublicKeyInfo:
    published = repo.public_key()
    key = letter_signatures.public_key_from_der(published.der)  # refuses a key that is not P-256
    return PublicKeyInfo(
        key_id=published.key_id,
        public_key_pem=key.pem(),
        fingerprint_sha256=hashlib.sha256(published.der).hexdigest(),
    )


def verify(envelope: dict[str, Any]) -> VerificationResult:
    """Check a signed letter offline, with the published public key (no KMS Verify call: anyone can
    repeat the check with the same key, docs/letters.md)."""
    published = repo.public_key()
    key = letter_signatures.public_key_from_der(published.der)
    problems = domain.check(envelope, key, key_id=published.key_id)
    return VerificationResult(valid=not problems, problems=problems, key_id=published.key_id)


def _stored(letter_id: str) -> IssuedLetter | None:
    raw = repo.load_envelope(letter_id)
    if raw is None:
        return None
    try:
        return IssuedLetter.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        # Only the platform writes there: an unreadable letter is a fault to investigate, not a 4xx.
        raise RuntimeError(f"stored letter {letter_id} is not a valid envelope") from exc


def _page(issued: IssuedLetter) -> bytes:
    return domain.render_html(issued, timezone=get_settings().timezone).encode("utf-8")


def _ensure_html(issued: IssuedLetter) -> None:
    if not repo.html_exists(issued.letter.letter_id):
        repo.store_html(issued.letter.letter_id, _page(issued))
