"""Routes of the electronic confirmation letter (电子中选确认书, DOMAIN.md §6): public, since anyone
may read and check a letter (docs/letters.md). Letters are issued by the purchase's confirmation,
not through a route of their own."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import ConfigDict, Field

from marketplace.domain.letters import IssuedLetter
from marketplace.domain.model import Model
from marketplace.services import letters as service
from marketplace.services.letters import PublicKeyInfo, VerificationResult
from marketplace.web.http import Call, route

bp = Blueprint(__name__)


class SignatureClaim(Model):
    """A signature as submitted: any algorithm or key is accepted here and judged by the check."""

    # Not StrictModel: no trimming, the check sees exactly what was sent.
    model_config = ConfigDict(extra="forbid")

    algorithm: str = Field(max_length=64)
    key_id: str = Field(max_length=2048)
    value: str = Field(max_length=1024)


class VerificationRequest(Model):
    """A signed letter to check. Only its shape is validated here: a letter whose content was changed
    is not a malformed request but an invalid letter (200, valid: false)."""

    model_config = ConfigDict(extra="forbid")

    letter: dict[str, Any]
    signature: SignatureClaim


@route(
    bp,
    "/letters/public-key",
    name="get_letter_public_key",
    summary="The public key that verifies every confirmation letter",
    response=PublicKeyInfo,
    description="ECDSA P-256 with SHA-256; the PEM works with openssl and marketplace.verify_letter.",
)
def public_key(call: Call) -> PublicKeyInfo:
    return service.public_key()


@route(
    bp,
    "/letters/verify",
    "POST",
    name="verify_letter",
    summary="Check a signed confirmation letter",
    body=VerificationRequest,
    response=VerificationResult,
    description="The body is a letter as GET /letters/{letter_id} returns it. A changed letter is "
    "not an error: the reply says valid: false and what is wrong.",
)
def verify(call: Call) -> VerificationResult:
    return service.verify(call.body.model_dump())


@route(
    bp,
    "/letters/{letter_id}",
    name="get_letter",
    summary="A signed confirmation letter (电子中选确认书)",
    response=IssuedLetter,
)
def get(call: Call) -> IssuedLetter:
    return service.get(call.params["letter_id"])


@route(
    bp,
    "/letters/{letter_id}/html",
    name="get_letter_html",
    summary="A confirmation letter as a readable page",
    content_type="text/html; charset=utf-8",
)
def get_html(call: Call) -> str:
    return service.html(call.params["letter_id"])
