"""Contracts (合同, DOMAIN.md §7) and their templates (合同范本).

Within `RULE_CONTRACT_DAYS` calendar days of confirmation the owner registers the contract: either
generated from the template in force for the item (an HTML document filled from the purchase, the
result and the selected agency's offering) or uploaded elsewhere (a file reference and its SHA-256).
The selected agency countersigns it (the purchase is then `contracted`) or refuses it with reasons;
after a refusal the owner registers a new one. Before the agency acts, the owner may replace the
contract it registered (a mistake corrected is not a refusal the agency would be blamed for).

The contract is part of its purchase's document (like the result), so a registration, a signature
and the purchase's state change are one conditional write on the purchase's revision; the generated
document itself lives on its own row (`CONTRACT#<number>`), never in lists or the public view.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from pydantic import Field, field_validator, model_validator

from marketplace.domain.lifecycle import Lifecycle
from marketplace.domain.model import Model, StrictModel
from marketplace.domain.purchase_contract import (
    REMINDER_DAYS,
    Contract,
    ContractPublic,
    ContractStatus,
)

SHA256_PATTERN = r"^[0-9a-fA-F]{64}$"
FILE_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._~:/@!$&'()*+,;=%\-]{0,499}$"
MAX_TEMPLATE_CHARS = 100_000
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")

# What a template may name, and what each is filled with (docs/contracts.md lists them).
PLACEHOLDERS: dict[str, str] = {
    "purchase.id": "the purchase's id",
    "purchase.project_code": "the project code (一项一码)",
    "purchase.project_name": "the purchase's title",
    "purchase.item_code": "the catalogue item's code",
    "purchase.item_name": "the catalogue item's name",
    "purchase.region": "the division code where the service is needed",
    "purchase.funding_type": "fiscal or private",
    "purchase.price_yuan": "the purchase's budget or ceiling price",
    "purchase.confirmed_on": "the date both parties confirmed the result (local date)",
    "purchase.letter_id": "the confirmation letter's id",
    "owner.id": "the owner's id",
    "owner.name": "the owner's registered name",
    "agency.id": "the selected agency's id",
    "agency.name": "the selected agency's registered name",
    "agency.credit_code": "the selected agency's unified social credit code",
    "amount_yuan": "the contract amount",
    "fee_basis": "the fee basis the agency committed to in its offering",
    "service_content": "the service content of the agency's offering",
    "time_limit_days": "the time limit the agency committed to (working days)",
    "contract_deadline": "the last day to sign the contract (local date)",
    "signing_date": "the signing date written in the contract",
}


# --- Templates ----------------------------------------------------------------------------------


def placeholders_in(body: str) -> list[str]:
    """The placeholders a template names, in order of first use."""
    return list(dict.fromkeys(m.group(1) for m in PLACEHOLDER.finditer(body)))


def unknown_placeholders(body: str) -> list[str]:
    return [name for name in placeholders_in(body) if name not in PLACEHOLDERS]


def fill(body: str, values: dict[str, str]) -> str:
    """The template with every placeholder replaced by its value, HTML-escaped: a value (a name, a
    reason) can never add markup to the document."""
    return PLACEHOLDER.sub(lambda m: html.escape(values.get(m.group(1), ""), quote=True), body)


class TemplateDefinition(StrictModel):
    """What the item's regulator or the admin writes; every write makes a new version."""

    body: str = Field(
        min_length=1,
        max_length=MAX_TEMPLATE_CHARS,
        description="HTML with named placeholders, e.g. {{purchase.project_name}}, {{agency.name}}, "
        "{{amount_yuan}}, {{time_limit_days}}; values are HTML-escaped when the contract is filled",
    )
    effective_from: date = Field(description="the local date from which contracts use this version")
    change_note: str = Field(default="", max_length=500)
    expected_version: int | None = Field(
        default=None, ge=0, description="the latest version the change is based on (0: none); stale is a 409"
    )


class ContractTemplate(Model):
    """One immutable version of an item's contract template."""

    item_code: str
    version: int = Field(ge=1)
    body: str
    placeholders: list[str]
    effective_from: date
    recorded_at: str
    recorded_by: str
    change_note: str = ""


class TemplateVersion(Model):
    """A version in a template's history, without its body (read it with `?version=`)."""

    version: int
    effective_from: date
    recorded_at: str
    change_note: str = ""


def template_in_force(versions: list[ContractTemplate], on: date) -> ContractTemplate | None:
    """The newest version whose effective date has come."""
    candidates = [v for v in versions if v.effective_from <= on]
    return max(candidates, key=lambda v: v.version) if candidates else None


# --- Contracts ----------------------------------------------------------------------------------


class Upload(StrictModel):
    file_ref: str = Field(
        pattern=FILE_REF_PATTERN,
        description="where the signed file is kept (a document number, an object key or a URL)",
    )
    sha256: str = Field(pattern=SHA256_PATTERN, description="hex SHA-256 of the file")

    @field_validator("sha256")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class ContractRequest(StrictModel):
    """Generate the contract from the item's template, or register an uploaded one."""

    generate: bool = Field(default=False, description="fill the item's template in force")
    upload: Upload | None = None
    amount_yuan: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=14,
        decimal_places=2,
        description="the contract amount; for a generated contract defaults to the fixed fee of the "
        "agency's offering; never more than the purchase's budget or ceiling",
    )
    signing_date: date | None = Field(default=None, description="the signing date the contract states")

    @model_validator(mode="after")
    def _one_source(self) -> ContractRequest:
        if self.generate == (self.upload is not None):
            raise ValueError("give either generate: true or upload (a file_ref and its sha256), not both")
        return self


class ContractView(Model):
    """`GET /purchases/{id}/contract`: the contract (whole for its parties, the admin and the item's
    regulator; public otherwise) and the deadline state of the purchase."""

    purchase_id: str
    status: str = Field(description="the purchase's status")
    deadline: str | None
    escalated_at: str | None = None
    contract: Contract | ContractPublic | None
    document_html: str | None = Field(
        default=None, description="the generated document; for the parties, the admin and the regulator only"
    )


def due_reminders(deadline: datetime, sent: list[int], now: datetime) -> list[int]:
    """The reminder thresholds (days before the deadline) that have come and were not sent."""
    return [d for d in REMINDER_DAYS if d not in sent and deadline - timedelta(days=d) <= now < deadline]


# --- The lifecycle ------------------------------------------------------------------------------

OWNER, AGENCY = ("owner",), ("agency",)
C = ContractStatus

CONTRACT: Lifecycle[ContractStatus] = Lifecycle(
    "contract",
    ContractStatus,
    [
        (C.refused, "register", OWNER, C.awaiting_signature),  # a new contract after a refusal
        (C.awaiting_signature, "replace", OWNER, C.awaiting_signature),  # before the agency acts
        (C.awaiting_signature, "sign", AGENCY, C.signed),
        (C.awaiting_signature, "refuse", AGENCY, C.refused),
    ],
)
